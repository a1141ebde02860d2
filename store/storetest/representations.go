package storetest

import (
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/kanton/kundencenter/delegation"
	"github.com/kanton/kundencenter/idp"
)

// RunRepresentations runs the conformance suite of
// delegation.RepresentationStore. open must return a fresh, empty store
// for every call (and close it at the test's cleanup); o.MailJobs is
// required.
func RunRepresentations(t *testing.T, open func(t *testing.T) OrgStore, o Options) {
	t.Helper()
	if o.MailJobs == nil {
		t.Fatal("storetest: Options.MailJobs is required")
	}
	tests := []struct {
		name string
		run  func(t *testing.T, s OrgStore, o Options)
	}{
		{"CreateGet", testRepCreateGet},
		{"CreateErrors", testRepCreateErrors},
		{"Update", testRepUpdate},
		{"UpdateAborts", testRepUpdateAborts},
		{"Lists", testRepLists},
		{"Events", testRepEvents},
		{"ConcurrentAccept", testRepConcurrentAccept},
		{"DeleteAccount", testRepDeleteAccount},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // every test has a store of its own
			tc.run(t, open(t), o)
		})
	}
}

func newRep(t *testing.T, principal string) delegation.Representation {
	t.Helper()
	return delegation.Representation{ID: unique("rep"), PrincipalID: principal, Status: delegation.RepCreated,
		Services: []string{"documents", "forms"}, ValidUntil: base.Add(365 * 24 * time.Hour),
		CodeSelector: unique("S"), CodeHash: "$argon2id$v=19$m=1024,t=1,p=1$c2FsdA$aGFzaA",
		PendingUntil: base.Add(14 * 24 * time.Hour), CreatedAt: base, UpdatedAt: base}
}

func canonRep(r delegation.Representation) delegation.Representation {
	r.ValidUntil, r.PendingUntil, r.CreatedAt = normTime(r.ValidUntil), normTime(r.PendingUntil), normTime(r.CreatedAt)
	r.AcceptedAt, r.ConfirmedAt, r.EndedAt, r.UpdatedAt = normTime(r.AcceptedAt), normTime(r.ConfirmedAt), normTime(r.EndedAt), normTime(r.UpdatedAt)
	r.Services = normStrings(r.Services)
	return r
}

func checkRep(t *testing.T, what string, got, want delegation.Representation) {
	t.Helper()
	if !reflect.DeepEqual(canonRep(got), canonRep(want)) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

func mustCreateRep(t *testing.T, s OrgStore, principal string) delegation.Representation {
	t.Helper()
	r := newRep(t, principal)
	checkErr(t, "CreateRepresentation", s.CreateRepresentation(t.Context(), r, []delegation.RepEvent{{RepresentationID: r.ID,
		At: base, Actor: principal, Action: delegation.RepEventCreated, Detail: "documents forms"}}), nil)
	return r
}

func testRepCreateGet(t *testing.T, s OrgStore, o Options) {
	ctx := t.Context()
	p, _ := mustCreateAccount(t, s)
	r := newRep(t, p.ID)
	mail := newMail(t)
	checkErr(t, "CreateRepresentation", s.CreateRepresentation(ctx, r, []delegation.RepEvent{{RepresentationID: r.ID, At: base,
		Actor: p.ID, Action: delegation.RepEventCreated}}, mail), nil)
	got, err := s.GetRepresentation(ctx, r.ID)
	checkErr(t, "GetRepresentation", err, nil)
	checkRep(t, "GetRepresentation", got, r)
	checkUTC(t, "GetRepresentation", got.ValidUntil, got.PendingUntil, got.CreatedAt, got.UpdatedAt)
	checkJobs(t, s, o, mail)
	_, err = s.GetRepresentation(ctx, "no-such-representation")
	checkErr(t, "GetRepresentation unknown", err, idp.ErrNotFound)
}

func testRepCreateErrors(t *testing.T, s OrgStore, o Options) {
	ctx := t.Context()
	p, _ := mustCreateAccount(t, s)
	r := mustCreateRep(t, s, p.ID)
	dup := newRep(t, p.ID)
	dup.ID = r.ID
	checkErr(t, "CreateRepresentation with a taken ID", s.CreateRepresentation(ctx, dup, nil, newMail(t)), idp.ErrConflict)
	checkErr(t, "CreateRepresentation for an unknown account", s.CreateRepresentation(ctx, newRep(t, "no-such-account"), nil), idp.ErrNotFound)
	bad := newRep(t, p.ID)
	bad.Services = nil
	if err := s.CreateRepresentation(ctx, bad, nil); err == nil {
		t.Error("CreateRepresentation stored a representation without services")
	}
	checkJobs(t, s, o) // the failed creations enqueued nothing
}

func testRepUpdate(t *testing.T, s OrgStore, o Options) {
	ctx := t.Context()
	p, _ := mustCreateAccount(t, s)
	rep, _ := mustCreateAccount(t, s)
	r := mustCreateRep(t, s, p.ID)
	at := base.Add(time.Hour)
	mail := newMail(t)
	next, err := s.UpdateRepresentation(ctx, r.ID, func(cur delegation.Representation) (delegation.Representation, []delegation.RepEvent, []idp.Outgoing, error) {
		checkRep(t, "state passed to fn", cur, r)
		cur.RepresentativeID, cur.Status, cur.AcceptedAt, cur.UpdatedAt = rep.ID, delegation.RepAccepted, at, at
		cur.CodeSelector, cur.CodeHash, cur.Services = "", "", []string{"forms"}
		return cur, []delegation.RepEvent{{RepresentationID: r.ID, At: at, Actor: rep.ID, Action: delegation.RepEventAccepted}},
			[]idp.Outgoing{mail}, nil
	})
	checkErr(t, "UpdateRepresentation", err, nil)
	got, err := s.GetRepresentation(ctx, r.ID)
	checkErr(t, "GetRepresentation", err, nil)
	checkRep(t, "after update", got, next)
	if got.RepresentativeID != rep.ID || got.Status != delegation.RepAccepted || got.CodeSelector != "" {
		t.Fatalf("update not stored: %+v", got)
	}
	checkJobs(t, s, o, mail)
	_, err = s.UpdateRepresentation(ctx, "no-such-representation", func(cur delegation.Representation) (delegation.Representation, []delegation.RepEvent, []idp.Outgoing, error) {
		t.Error("fn called for an unknown representation")
		return cur, nil, nil, nil
	})
	checkErr(t, "UpdateRepresentation unknown", err, idp.ErrNotFound)
}

func testRepUpdateAborts(t *testing.T, s OrgStore, o Options) {
	ctx := t.Context()
	p, _ := mustCreateAccount(t, s)
	other, _ := mustCreateAccount(t, s)
	r := mustCreateRep(t, s, p.ID)
	boom := errors.New("boom")
	_, err := s.UpdateRepresentation(ctx, r.ID, func(cur delegation.Representation) (delegation.Representation, []delegation.RepEvent, []idp.Outgoing, error) {
		cur.Status = delegation.RepRevoked
		return cur, []delegation.RepEvent{{RepresentationID: r.ID, At: base, Action: delegation.RepEventEnded}}, []idp.Outgoing{newMail(t)}, boom
	})
	checkErr(t, "UpdateRepresentation failing fn", err, boom)
	for name, fn := range map[string]func(delegation.Representation) delegation.Representation{
		"changes the principal": func(c delegation.Representation) delegation.Representation { c.PrincipalID = other.ID; return c },
		"changes the ID":        func(c delegation.Representation) delegation.Representation { c.ID = "other"; return c },
		"drops every service":   func(c delegation.Representation) delegation.Representation { c.Services = nil; return c },
	} {
		_, err := s.UpdateRepresentation(ctx, r.ID, func(cur delegation.Representation) (delegation.Representation, []delegation.RepEvent, []idp.Outgoing, error) {
			return fn(cur), nil, []idp.Outgoing{newMail(t)}, nil
		})
		if err == nil {
			t.Errorf("UpdateRepresentation accepted an update that %s", name)
		}
	}
	_, err = s.UpdateRepresentation(ctx, r.ID, func(cur delegation.Representation) (delegation.Representation, []delegation.RepEvent, []idp.Outgoing, error) {
		return cur, []delegation.RepEvent{{RepresentationID: "another", At: base, Action: "x"}}, nil, nil
	})
	if err == nil {
		t.Error("UpdateRepresentation wrote an event for another representation")
	}
	got, err := s.GetRepresentation(ctx, r.ID)
	checkErr(t, "GetRepresentation", err, nil)
	checkRep(t, "after aborted updates", got, r)
	ev, err := s.ListRepEvents(ctx, r.ID, 10)
	checkErr(t, "ListRepEvents", err, nil)
	if len(ev) != 1 {
		t.Errorf("aborted updates left events: %+v", ev)
	}
	checkJobs(t, s, o)
}

func testRepLists(t *testing.T, s OrgStore, _ Options) {
	ctx := t.Context()
	p, _ := mustCreateAccount(t, s)
	rep, _ := mustCreateAccount(t, s)
	stranger, _ := mustCreateAccount(t, s)
	older := newRep(t, p.ID)
	older.CreatedAt = base.Add(-time.Hour)
	older.RepresentativeID, older.Status, older.CodeSelector = rep.ID, delegation.RepConfirmed, ""
	checkErr(t, "CreateRepresentation", s.CreateRepresentation(ctx, older, nil), nil)
	newer := mustCreateRep(t, s, p.ID)
	mine := mustCreateRep(t, s, rep.ID) // rep is principal here

	ids := func(list []delegation.Representation, err error) []string {
		t.Helper()
		checkErr(t, "list", err, nil)
		var out []string
		for _, r := range list {
			out = append(out, r.ID)
		}
		return out
	}
	if got, want := ids(s.ListRepresentations(ctx, p.ID)), []string{newer.ID, older.ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("principal's list %v, want %v (newest first)", got, want)
	}
	if got, want := ids(s.ListRepresentations(ctx, rep.ID)), []string{mine.ID, older.ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("representative's list %v, want %v", got, want)
	}
	if got := ids(s.ListRepresentations(ctx, stranger.ID)); len(got) != 0 {
		t.Errorf("a stranger's list holds %v", got)
	}
	if got, want := ids(s.ListRepresentationsBySelector(ctx, newer.CodeSelector)), []string{newer.ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("by selector %v, want %v", got, want)
	}
	// Only codes still in state created are found.
	_, err := s.UpdateRepresentation(ctx, newer.ID, func(cur delegation.Representation) (delegation.Representation, []delegation.RepEvent, []idp.Outgoing, error) {
		cur.Status = delegation.RepRevoked
		return cur, nil, nil, nil
	})
	checkErr(t, "revoke", err, nil)
	if got := ids(s.ListRepresentationsBySelector(ctx, newer.CodeSelector)); len(got) != 0 {
		t.Errorf("a revoked code is still found by its selector: %v", got)
	}
}

func testRepEvents(t *testing.T, s OrgStore, _ Options) {
	ctx := t.Context()
	p, _ := mustCreateAccount(t, s)
	r := mustCreateRep(t, s, p.ID)
	used := delegation.RepEvent{RepresentationID: r.ID, At: base.Add(time.Minute), Actor: "acc-r", Action: delegation.RepEventUsed, ClientID: "forms"}
	act := delegation.RepEvent{RepresentationID: r.ID, At: base.Add(2 * time.Minute), Actor: "acc-r", Action: delegation.RepEventAction,
		ClientID: "forms", Detail: "Gesuch eingereicht"}
	checkErr(t, "AppendRepEvents", s.AppendRepEvents(ctx, used, act), nil)
	checkErr(t, "AppendRepEvents unknown", s.AppendRepEvents(ctx, delegation.RepEvent{RepresentationID: "no-such", At: base,
		Action: delegation.RepEventUsed}), idp.ErrNotFound)
	got, err := s.ListRepEvents(ctx, r.ID, 10)
	checkErr(t, "ListRepEvents", err, nil)
	if len(got) != 3 {
		t.Fatalf("%d events, want 3: %+v", len(got), got)
	}
	act.At, used.At = normTime(act.At), normTime(used.At)
	if !reflect.DeepEqual(got[0], act) || !reflect.DeepEqual(got[1], used) || got[2].Action != delegation.RepEventCreated {
		t.Errorf("events (newest first): %+v", got)
	}
	got, err = s.ListRepEvents(ctx, r.ID, 1)
	checkErr(t, "ListRepEvents limit", err, nil)
	if len(got) != 1 {
		t.Errorf("limit 1 returned %d events", len(got))
	}
}

// testRepConcurrentAccept lets several accounts accept one code at once:
// exactly one becomes the representative.
func testRepConcurrentAccept(t *testing.T, s OrgStore, _ Options) {
	ctx := guard(t)
	errTaken := errors.New("code already used")
	for round := range 5 {
		p, _ := mustCreateAccount(t, s)
		r := mustCreateRep(t, s, p.ID)
		const n = 4
		reps := make([]string, n)
		for i := range n {
			a, _ := mustCreateAccount(t, s)
			reps[i] = a.ID
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				<-start
				_, errs[i] = s.UpdateRepresentation(ctx, r.ID, func(cur delegation.Representation) (delegation.Representation, []delegation.RepEvent, []idp.Outgoing, error) {
					if cur.Status != delegation.RepCreated || cur.CodeSelector == "" {
						return cur, nil, nil, errTaken
					}
					cur.RepresentativeID, cur.Status, cur.CodeSelector, cur.CodeHash = reps[i], delegation.RepAccepted, "", ""
					return cur, []delegation.RepEvent{{RepresentationID: r.ID, At: base, Actor: reps[i], Action: delegation.RepEventAccepted}}, nil, nil
				})
			})
		}
		close(start)
		wg.Wait()
		winner := ""
		for i, err := range errs {
			switch {
			case err == nil && winner == "":
				winner = reps[i]
			case err == nil:
				t.Fatalf("round %d: two accepted the same code", round)
			case !errors.Is(err, errTaken):
				t.Fatalf("round %d: unexpected error %v", round, err)
			}
		}
		got, err := s.GetRepresentation(ctx, r.ID)
		checkErr(t, "GetRepresentation", err, nil)
		if winner == "" || got.RepresentativeID != winner {
			t.Fatalf("round %d: winner %q, stored representative %q", round, winner, got.RepresentativeID)
		}
		ev, err := s.ListRepEvents(ctx, r.ID, 10)
		checkErr(t, "ListRepEvents", err, nil)
		if len(ev) != 2 {
			t.Fatalf("round %d: %d events, want created and one accepted", round, len(ev))
		}
	}
}

// testRepDeleteAccount deletes a party's account: its open
// representations end, the other party keeps them and the history.
func testRepDeleteAccount(t *testing.T, s OrgStore, _ Options) {
	ctx := t.Context()
	p, _ := mustCreateAccount(t, s)
	rep, _ := mustCreateAccount(t, s)
	active := newRep(t, p.ID)
	active.RepresentativeID, active.Status, active.CodeSelector, active.CodeHash = rep.ID, delegation.RepConfirmed, "", ""
	checkErr(t, "CreateRepresentation", s.CreateRepresentation(ctx, active, nil), nil)
	rejected := newRep(t, p.ID)
	rejected.RepresentativeID, rejected.Status, rejected.CodeSelector, rejected.EndedBy = rep.ID, delegation.RepRejected, "", p.ID
	checkErr(t, "CreateRepresentation", s.CreateRepresentation(ctx, rejected, nil), nil)
	code := mustCreateRep(t, s, p.ID)

	checkErr(t, "DeleteAccount principal", s.DeleteAccount(ctx, p.ID), nil)
	got, err := s.GetRepresentation(ctx, active.ID)
	checkErr(t, "GetRepresentation", err, nil)
	if got.Status != delegation.RepRevoked || got.EndedBy != "system" || got.EndedAt.IsZero() || got.PrincipalID != "" ||
		got.RepresentativeID != rep.ID {
		t.Errorf("active representation after the principal's deletion: %+v", got)
	}
	got, err = s.GetRepresentation(ctx, rejected.ID)
	checkErr(t, "GetRepresentation", err, nil)
	if got.Status != delegation.RepRejected || got.EndedBy != p.ID {
		t.Errorf("a rejected representation changed: %+v", got)
	}
	got, err = s.GetRepresentation(ctx, code.ID)
	checkErr(t, "GetRepresentation", err, nil)
	if got.Status != delegation.RepRevoked || got.CodeSelector != "" || got.CodeHash != "" {
		t.Errorf("an open code survived its principal: %+v", got)
	}
	list, err := s.ListRepresentations(ctx, rep.ID)
	checkErr(t, "ListRepresentations", err, nil)
	if len(list) != 2 {
		t.Errorf("the representative's list holds %d entries, want 2", len(list))
	}
	ev, err := s.ListRepEvents(ctx, active.ID, 10)
	checkErr(t, "ListRepEvents", err, nil)
	if len(ev) != 1 || ev[0].Action != delegation.RepEventEnded || ev[0].Actor != "system" || ev[0].Detail != "account_deleted" {
		t.Errorf("events after deletion: %+v", ev)
	}
}
