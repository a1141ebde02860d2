package status

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// ev builds a "new" event; minutes after t0 give its eventDate.
func ev(seq int64, minutes int, s Status) Event {
	e := Event{Seq: seq, MessageID: fmt.Sprintf("m%d", seq), Action: ActionNew, EventDate: t0.Add(time.Duration(minutes) * time.Minute), Status: s}
	if s == Abgeschlossen {
		e.Outcome = Gutgeheissen
	}
	if s == Rueckfrage {
		e.Deadline = "2026-12-31"
	}
	return e
}

func created() Event {
	e := ev(1, 0, Eingereicht)
	e.MessageID = "create"
	return e
}

func statuses(st State) []Status {
	var out []Status
	for _, e := range st.History {
		out = append(out, e.Status)
	}
	return out
}

func TestReplay(t *testing.T) {
	t.Parallel()
	recall := func(seq int64, minutes int, ref string) Event {
		return Event{Seq: seq, MessageID: fmt.Sprintf("m%d", seq), Action: ActionRecall, Ref: ref, EventDate: t0.Add(time.Duration(minutes) * time.Minute)}
	}
	correct := func(seq int64, minutes int, ref string, s Status) Event {
		e := ev(seq, minutes, s)
		e.Action, e.Ref = ActionCorrection, ref
		return e
	}
	tests := []struct {
		name    string
		events  []Event
		want    []Status
		wantErr error
	}{
		{name: "in order", events: []Event{created(), ev(2, 1, Eingegangen), ev(3, 2, InBearbeitung), ev(4, 3, Abgeschlossen)},
			want: []Status{Eingereicht, Eingegangen, InBearbeitung, Abgeschlossen}},
		{name: "late message takes its place in the past", events: []Event{created(), ev(2, 5, InBearbeitung), ev(3, 1, Eingegangen)},
			want: []Status{Eingereicht, Eingegangen, InBearbeitung}},
		{name: "late message after the close", events: []Event{created(), ev(2, 5, Abgeschlossen), ev(3, 3, InBearbeitung)},
			want: []Status{Eingereicht, InBearbeitung, Abgeschlossen}},
		{name: "same eventDate: arrival decides", events: []Event{created(), ev(2, 1, InBearbeitung), ev(3, 1, Rueckfrage)},
			want: []Status{Eingereicht, InBearbeitung, Rueckfrage}},
		{name: "recall of the current entry", events: []Event{created(), ev(2, 1, InBearbeitung), ev(3, 2, Sistiert), recall(4, 3, "")},
			want: []Status{Eingereicht, InBearbeitung}},
		{name: "recall by reference", events: []Event{created(), ev(2, 1, Eingegangen), ev(3, 2, InBearbeitung), recall(4, 3, "m2")},
			want: []Status{Eingereicht, InBearbeitung}},
		{name: "recall of a close reopens", events: []Event{created(), ev(2, 1, Abgeschlossen), recall(3, 2, "m2"), ev(4, 3, InBearbeitung)},
			want: []Status{Eingereicht, InBearbeitung}},
		{name: "correction", events: []Event{created(), ev(2, 1, Sistiert), correct(3, 2, "m2", InBearbeitung)},
			want: []Status{Eingereicht, InBearbeitung}},
		{name: "older correction arriving late is ignored", events: []Event{created(), ev(2, 1, Sistiert), correct(3, 5, "m2", InBearbeitung), correct(4, 3, "m2", Rueckfrage)},
			want: []Status{Eingereicht, InBearbeitung}},
		{name: "nothing after abgeschlossen", events: []Event{created(), ev(2, 1, Abgeschlossen), ev(3, 2, InBearbeitung)},
			wantErr: &TransitionError{From: Abgeschlossen, To: InBearbeitung}},
		{name: "nothing after storniert", events: []Event{created(), ev(2, 1, Storniert), ev(3, 2, Eingegangen)},
			wantErr: &TransitionError{From: Storniert, To: Eingegangen}},
		{name: "late message that does not fit before the next", events: []Event{created(), ev(2, 5, Eingegangen), ev(3, 1, InBearbeitung)},
			wantErr: &TransitionError{From: InBearbeitung, To: Eingegangen}},
		{name: "recall of the first entry", events: []Event{created(), recall(2, 1, "create")}, wantErr: ErrRecallFirst},
		{name: "unknown reference", events: []Event{created(), correct(2, 1, "nope", InBearbeitung)}, wantErr: ErrUnknownRef},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := Replay(tt.events)
			if tt.wantErr != nil {
				var te *TransitionError
				if want, ok := tt.wantErr.(*TransitionError); ok {
					if !errors.As(err, &te) || *te != *want {
						t.Fatalf("err = %v, want %v", err, want)
					}
					return
				}
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := statuses(st); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("history %v, want %v", got, tt.want)
			}
		})
	}
}

// TestTransitions checks every pair of statuses against the table: an
// allowed pair replays, a refused one fails with a TransitionError.
func TestTransitions(t *testing.T) {
	t.Parallel()
	for _, from := range Statuses {
		for _, to := range Statuses {
			if to == Eingereicht {
				continue // only the creation sets it (Check refuses it)
			}
			t.Run(string(from)+"→"+string(to), func(t *testing.T) {
				events := []Event{created()}
				if from != Eingereicht {
					events = append(events, ev(2, 1, from))
				}
				events = append(events, ev(3, 2, to))
				_, err := Replay(events)
				var te *TransitionError
				switch {
				case Allowed(from, to) && err != nil:
					t.Fatalf("refused: %v", err)
				case !Allowed(from, to) && !errors.As(err, &te):
					t.Fatalf("err = %v, want a TransitionError", err)
				case te != nil && te.Error() == "":
					t.Fatal("empty message")
				}
			})
		}
	}
}

func TestEventCheck(t *testing.T) {
	t.Parallel()
	ok := ev(2, 0, InBearbeitung)
	tests := []struct {
		name  string
		mod   func(*Event)
		valid bool
	}{
		{name: "ok", mod: func(*Event) {}, valid: true},
		{name: "no messageId", mod: func(e *Event) { e.MessageID = "" }},
		{name: "long messageId", mod: func(e *Event) { e.MessageID = fmt.Sprintf("%037d", 1) }},
		{name: "no eventDate", mod: func(e *Event) { e.EventDate = time.Time{} }},
		{name: "unknown status", mod: func(e *Event) { e.Status = "erledigt" }},
		{name: "eingereicht by message", mod: func(e *Event) { e.Status = Eingereicht }},
		{name: "closed without outcome", mod: func(e *Event) { e.Status = Abgeschlossen }},
		{name: "closed with outcome", mod: func(e *Event) { e.Status, e.Outcome = Abgeschlossen, Abgelehnt }, valid: true},
		{name: "outcome while open", mod: func(e *Event) { e.Outcome = Abgelehnt }},
		{name: "rueckfrage without deadline", mod: func(e *Event) { e.Status = Rueckfrage }},
		{name: "rueckfrage deadline in the past", mod: func(e *Event) { e.Status, e.Deadline = Rueckfrage, "2026-11-30" }},
		{name: "rueckfrage deadline same day", mod: func(e *Event) { e.Status, e.Deadline = Rueckfrage, "2026-12-01" }, valid: true},
		{name: "deadline without rueckfrage", mod: func(e *Event) { e.Deadline = "2026-12-31" }},
		{name: "recall", mod: func(e *Event) { e.Action, e.Status = ActionRecall, "" }, valid: true},
		{name: "recall with a status", mod: func(e *Event) { e.Action = ActionRecall }},
		{name: "unknown action", mod: func(e *Event) { e.Action = "update" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := ok
			tt.mod(&e)
			err := e.Check()
			if tt.valid != (err == nil) {
				t.Fatalf("Check() = %v, valid want %v", err, tt.valid)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Fatalf("err %v is not ErrInvalid", err)
			}
		})
	}
}
