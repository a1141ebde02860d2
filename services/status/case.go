package status

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Status is the public status of a case (services-anchors §5.1; the API
// spells it with hyphens, as in the contract).
type Status string

// The public statuses.
const (
	Eingereicht   Status = "eingereicht"    // set by the portal when a form is sent
	Eingegangen   Status = "eingegangen"    // received by the back office
	InBearbeitung Status = "in-bearbeitung" // being worked on
	Rueckfrage    Status = "rueckfrage"     // the back office asks something back, with a deadline
	Sistiert      Status = "sistiert"       // on hold
	Abgeschlossen Status = "abgeschlossen"  // closed, with an outcome
	Storniert     Status = "storniert"      // cancelled
)

// Statuses lists the statuses in the order of a case's life.
var Statuses = []Status{Eingereicht, Eingegangen, InBearbeitung, Rueckfrage, Sistiert, Abgeschlossen, Storniert}

// Final reports whether a case in s is closed: no status follows it.
func (s Status) Final() bool { return s == Abgeschlossen || s == Storniert }

// Valid reports whether s is one of the public statuses.
func (s Status) Valid() bool { return slices.Contains(Statuses, s) }

// transitions is the allowed-transition table: the statuses that may follow
// each status. A status may repeat while the case is open (a new note, a
// new deadline); nothing follows a final status, and nothing leads back to
// eingereicht, which only the case's creation sets.
var transitions = map[Status][]Status{
	Eingereicht:   {Eingegangen, InBearbeitung, Rueckfrage, Sistiert, Abgeschlossen, Storniert},
	Eingegangen:   {Eingegangen, InBearbeitung, Rueckfrage, Sistiert, Abgeschlossen, Storniert},
	InBearbeitung: {InBearbeitung, Rueckfrage, Sistiert, Abgeschlossen, Storniert},
	Rueckfrage:    {Rueckfrage, InBearbeitung, Sistiert, Abgeschlossen, Storniert},
	Sistiert:      {Sistiert, InBearbeitung, Rueckfrage, Abgeschlossen, Storniert},
	Abgeschlossen: nil,
	Storniert:     nil,
}

// Allowed reports whether a case may go from one status to the other.
func Allowed(from, to Status) bool { return slices.Contains(transitions[from], to) }

// TransitionError is a status change the transition table refuses.
type TransitionError struct{ From, To Status }

func (e *TransitionError) Error() string {
	if e.From.Final() {
		return fmt.Sprintf("%s may not follow %s: the case is closed, no status follows", e.To, e.From)
	}
	next := make([]string, len(transitions[e.From]))
	for i, s := range transitions[e.From] {
		next[i] = string(s)
	}
	return fmt.Sprintf("%s may not follow %s; allowed after %s: %s", e.To, e.From, e.From, strings.Join(next, ", "))
}

// Outcome is how a closed case ended.
type Outcome string

// The outcomes of a closed case.
const (
	Gutgeheissen          Outcome = "gutgeheissen"
	TeilweiseGutgeheissen Outcome = "teilweise-gutgeheissen"
	Abgelehnt             Outcome = "abgelehnt"
	Nichteintreten        Outcome = "nichteintreten"
	Zurueckgezogen        Outcome = "zurueckgezogen"
)

// Outcomes lists the outcomes.
var Outcomes = []Outcome{Gutgeheissen, TeilweiseGutgeheissen, Abgelehnt, Nichteintreten, Zurueckgezogen}

// Action is the eCH-0058 action of a message: a new event, the correction
// of an earlier one, or its recall.
type Action string

// The actions.
const (
	ActionNew        Action = "new"
	ActionCorrection Action = "correction"
	ActionRecall     Action = "recall"
)

// Owner is whose case it is: a person (ID is their subject at this service)
// or an organisation (ID is the organisation's ID at the IdP).
type Owner struct {
	Kind string `json:"kind"` // "person" or "organisation"
	Sub  string `json:"sub,omitempty"`
	ID   string `json:"id,omitempty"`
}

// Owner kinds.
const (
	OwnerPerson       = "person"
	OwnerOrganisation = "organisation"
)

// Key returns the owner's identifier: Sub for a person, ID for an organisation.
func (o Owner) Key() string {
	if o.Kind == OwnerPerson {
		return o.Sub
	}
	return o.ID
}

// Text is a text in the portal's languages.
type Text struct {
	De string `json:"de,omitempty"`
	Fr string `json:"fr,omitempty"`
	It string `json:"it,omitempty"`
	En string `json:"en,omitempty"`
}

// In returns the text in lang, else in German, else the first one given.
func (t Text) In(lang string) string {
	var s string
	switch lang {
	case "fr":
		s = t.Fr
	case "it":
		s = t.It
	case "en":
		s = t.En
	}
	for _, v := range []string{s, t.De, t.Fr, t.It, t.En} {
		if v != "" {
			return v
		}
	}
	return ""
}

// Empty reports whether no language has a text.
func (t Text) Empty() bool { return t == Text{} }

// Event is one entry of a case's history as it arrived: a status set by
// the portal or the back office, or the correction or recall of an earlier
// entry.
type Event struct {
	Seq       int64  // arrival order within the case, from 1 (the creation)
	MessageID string // eCH-0058 messageId
	Action    Action
	// Ref is the messageId a correction or recall refers to (eCH-0058
	// referenceMessageId); empty: the case's current entry.
	Ref        string
	EventDate  time.Time
	Status     Status
	Note       Text
	Deadline   string // YYYY-MM-DD, with rueckfrage
	Outcome    Outcome
	Notify     bool
	Test       bool   // testDeliveryFlag: must match the case's
	By         string // the client that sent it
	RecordedAt time.Time
}

// Entry is one entry of the effective history, after corrections and
// recalls.
type Entry struct {
	Seq        int64 // of the event that created it
	MessageID  string
	EventDate  time.Time
	Status     Status
	Note       Text
	Deadline   string
	Outcome    Outcome
	Corrected  bool // a correction changed it
	RecordedAt time.Time
}

// State is where a case stands: its effective history, oldest first, and
// its current entry (the last).
type State struct {
	History []Entry
}

// Current returns the case's current entry.
func (s State) Current() Entry { return s.History[len(s.History)-1] }

// Errors of the history rules, matched with errors.Is.
var (
	ErrInvalid     = errors.New("invalid message")
	ErrUnknownRef  = errors.New("referenceMessageId names no entry of this case")
	ErrRecallFirst = errors.New("the case's first entry cannot be recalled; set storniert instead")
)

// Replay computes the effective history from the events in arrival order.
// Entries are ordered by eventDate (then arrival), so that a message that
// arrives late takes its place in the past and never overrides a newer
// state. A correction replaces the content of the entry it refers to (the
// latest correction by eventDate wins); a recall removes the entry. Every
// two consecutive entries must be an allowed transition.
func Replay(events []Event) (State, error) {
	var entries []*Entry
	byMsg := map[string]*Entry{}
	corrected := map[*Entry]time.Time{} // entry → eventDate of the correction applied
	current := func() *Entry {
		var c *Entry
		for _, e := range entries {
			if c == nil || later(e.EventDate, e.Seq, c.EventDate, c.Seq) {
				c = e
			}
		}
		return c
	}
	for _, ev := range events {
		switch ev.Action {
		case ActionNew:
			e := &Entry{Seq: ev.Seq, MessageID: ev.MessageID, EventDate: ev.EventDate, Status: ev.Status,
				Note: ev.Note, Deadline: ev.Deadline, Outcome: ev.Outcome, RecordedAt: ev.RecordedAt}
			entries = append(entries, e)
			byMsg[ev.MessageID] = e
		case ActionCorrection, ActionRecall:
			target := current()
			if ev.Ref != "" {
				target = byMsg[ev.Ref]
			}
			if target == nil {
				return State{}, fmt.Errorf("%w: %q", ErrUnknownRef, ev.Ref)
			}
			if ev.Action == ActionRecall {
				if target.Seq == 1 {
					return State{}, ErrRecallFirst
				}
				entries = slices.DeleteFunc(entries, func(e *Entry) bool { return e == target })
				delete(byMsg, target.MessageID)
				continue
			}
			if at, ok := corrected[target]; ok && ev.EventDate.Before(at) {
				continue // an older correction arriving late
			}
			if target.Seq == 1 && ev.Status != Eingereicht {
				return State{}, fmt.Errorf("%w: the first entry stays eingereicht; add an event instead", ErrInvalid)
			}
			corrected[target] = ev.EventDate
			target.Status, target.Note, target.Deadline, target.Outcome = ev.Status, ev.Note, ev.Deadline, ev.Outcome
			target.Corrected = true
		default:
			return State{}, fmt.Errorf("%w: action %q", ErrInvalid, ev.Action)
		}
	}
	if len(entries) == 0 {
		return State{}, fmt.Errorf("%w: a case without entries", ErrInvalid)
	}
	sort.SliceStable(entries, func(i, j int) bool {
		return later(entries[j].EventDate, entries[j].Seq, entries[i].EventDate, entries[i].Seq)
	})
	st := State{History: make([]Entry, len(entries))}
	for i, e := range entries {
		if i > 0 && !Allowed(entries[i-1].Status, e.Status) {
			return State{}, &TransitionError{From: entries[i-1].Status, To: e.Status}
		}
		st.History[i] = *e
	}
	return st, nil
}

// later reports whether (a, as) comes after (b, bs): by event date, then
// by arrival.
func later(a time.Time, as int64, b time.Time, bs int64) bool {
	if !a.Equal(b) {
		return a.After(b)
	}
	return as > bs
}

// Check validates one event's own fields (not its place in the history).
func (ev Event) Check() error {
	var errs []string
	if ev.MessageID == "" || len(ev.MessageID) > 36 {
		errs = append(errs, "messageId: 1 to 36 characters")
	}
	if ev.EventDate.IsZero() {
		errs = append(errs, "eventDate: required (RFC 3339)")
	}
	switch ev.Action {
	case ActionNew, ActionCorrection:
		switch {
		case !ev.Status.Valid():
			errs = append(errs, fmt.Sprintf("status: %q is not a status", ev.Status))
		case ev.Status == Eingereicht && ev.Action == ActionNew:
			errs = append(errs, "status: eingereicht is set when the case is created")
		}
		if ev.Status == Abgeschlossen && !slices.Contains(Outcomes, ev.Outcome) {
			errs = append(errs, "outcome: abgeschlossen needs one of gutgeheissen, teilweise-gutgeheissen, abgelehnt, nichteintreten, zurueckgezogen")
		}
		if ev.Status != Abgeschlossen && ev.Outcome != "" {
			errs = append(errs, "outcome: only with status abgeschlossen")
		}
		if ev.Status == Rueckfrage {
			d, err := time.Parse(time.DateOnly, ev.Deadline)
			switch {
			case err != nil:
				errs = append(errs, "deadline: rueckfrage needs a deadline (YYYY-MM-DD)")
			case d.Before(dateOf(ev.EventDate)):
				errs = append(errs, "deadline: before the eventDate")
			}
		} else if ev.Deadline != "" {
			errs = append(errs, "deadline: only with status rueckfrage")
		}
	case ActionRecall:
		if ev.Status != "" || ev.Outcome != "" || ev.Deadline != "" || !ev.Note.Empty() {
			errs = append(errs, "recall: carries only messageId, eventDate and referenceMessageId")
		}
	default:
		errs = append(errs, fmt.Sprintf("action: %q is not new, correction or recall", ev.Action))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(errs, "; "))
	}
	return nil
}

// dateOf returns the calendar day of t in Zurich, as midnight UTC.
func dateOf(t time.Time) time.Time {
	y, m, d := t.In(zurich).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

var zurich = mustLocation("Europe/Zurich")

func mustLocation(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		return time.FixedZone("CET", 3600)
	}
	return l
}
