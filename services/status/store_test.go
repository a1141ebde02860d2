package status

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// TestStoreMatchesReplay sends random messages (new ones in and out of
// order, corrections, recalls, refused ones) and checks after each that the
// stored case — kept by the fast path for messages dated after the current
// entry, by replay otherwise — equals the replay of its whole history.
func TestStoreMatchesReplay(t *testing.T) {
	t.Parallel()
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			db := openDB(t, backend)
			c := &clock{t: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)}
			st := NewStore(db, c.Now, time.Minute)
			r := rand.New(rand.NewPCG(1, 2))
			reply := func(Case, State) ([]byte, error) { return []byte("{}"), nil }
			created, err := st.Create(t.Context(), Message{ClientID: "bo", MessageID: "create", Hash: []byte{0}},
				NewCase{Service: "s", Title: Text{De: "T"}, Owner: Owner{Kind: OwnerPerson, Sub: "anna"}, EventDate: t0}, reply)
			if err != nil || created.Code != 201 {
				t.Fatal(err)
			}
			cases, _ := st.List(t.Context(), Owner{Kind: OwnerPerson, Sub: "anna"}, Cursor{}, 1)
			id := cases[0].ID
			open := []Status{Eingegangen, InBearbeitung, Rueckfrage, Sistiert}
			var sent []string
			accepted := 0
			for i := range 200 {
				c.Add(time.Second)
				ev := Event{MessageID: fmt.Sprintf("m%d", i), Action: ActionNew,
					EventDate: t0.Add(time.Duration(i+r.IntN(40)-20) * time.Minute), Status: open[r.IntN(len(open))]}
				switch n := r.IntN(20); {
				case n == 0:
					ev.Status, ev.Outcome = Abgeschlossen, Abgelehnt
				case n < 3 && len(sent) > 0:
					ev.Action, ev.Status, ev.Ref = ActionRecall, "", sent[r.IntN(len(sent))]
				case n < 5 && len(sent) > 0:
					ev.Action, ev.Ref = ActionCorrection, sent[r.IntN(len(sent))]
				}
				if ev.Status == Rueckfrage {
					ev.Deadline = "2027-01-31"
				}
				_, err := st.AddEvent(t.Context(), Message{ClientID: "bo", MessageID: ev.MessageID, Hash: []byte{1}}, id,
					func(string) bool { return true }, ev, func(Case) ([]byte, error) { return []byte("{}"), nil })
				var te *TransitionError
				switch {
				case err == nil:
					accepted++
					if ev.Action == ActionNew {
						sent = append(sent, ev.MessageID)
					}
				case errors.As(err, &te), errors.Is(err, ErrUnknownRef), errors.Is(err, ErrRecallFirst):
					continue
				default:
					t.Fatalf("message %d: %v", i, err)
				}
				got, state, err := st.Get(t.Context(), id)
				if err != nil {
					t.Fatal(err)
				}
				cur := state.Current()
				if got.Status != cur.Status || got.Outcome != cur.Outcome || got.Deadline != cur.Deadline ||
					got.Closed != cur.Status.Final() || !got.EventDate.Equal(cur.EventDate) {
					t.Fatalf("after message %d (%s %s at %s): stored %s/%s/%s/%s, replay %s/%s/%s/%s", i, ev.Action, ev.Status,
						ev.EventDate.Format("15:04"), got.Status, got.Outcome, got.Deadline, got.EventDate.Format("15:04"),
						cur.Status, cur.Outcome, cur.Deadline, cur.EventDate.Format("15:04"))
				}
			}
			if accepted < 50 {
				t.Fatalf("only %d of 200 messages accepted: the test exercises too little", accepted)
			}
		})
	}
}
