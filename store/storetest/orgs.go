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

// OrgStore is what the organisation suite needs of an adapter: the
// account store (organisations hang on accounts) and delegation.Store.
type OrgStore interface {
	Store
	delegation.Store
}

// RunOrgs runs the conformance suite of delegation.Store. open must return
// a fresh, empty store for every call (and close it at the test's cleanup);
// o.MailJobs is required.
func RunOrgs(t *testing.T, open func(t *testing.T) OrgStore, o Options) {
	t.Helper()
	if o.MailJobs == nil {
		t.Fatal("storetest: Options.MailJobs is required")
	}
	tests := []struct {
		name string
		run  func(t *testing.T, s OrgStore, o Options)
	}{
		{"CreateGet", testOrgCreateGet},
		{"CreateErrors", testOrgCreateErrors},
		{"UpdateMembers", testOrgUpdateMembers},
		{"UpdateAborts", testOrgUpdateAborts},
		{"RefusesNoAdmin", testOrgRefusesNoAdmin},
		{"ConcurrentDemotion", testOrgConcurrentDemotion},
		{"ConcurrentAdds", testOrgConcurrentAdds},
		{"Invitations", testOrgInvitations},
		{"Events", testOrgEvents},
		{"DeleteAccount", testOrgDeleteAccount},
		{"DeleteLastAdminHandsOver", testOrgDeleteLastAdmin},
		{"DeleteAccountRevokesItsInvitations", testOrgDeleteRevokesInvitations},
		{"Legacy", testOrgLegacy},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // every test has a store of its own
			tc.run(t, open(t), o)
		})
	}
}

func newOrgState(t *testing.T, admin string) delegation.OrgState {
	t.Helper()
	id := unique("org")
	return delegation.OrgState{
		Org: delegation.Organisation{ID: id, Name: "Muster AG " + id, Designation: "Filiale Aarau",
			Addresses: []delegation.Address{
				{Street: "Bahnhofstrasse 1", PostalCode: "5000", Town: "Aarau", Country: "CH"},
				{Street: "Postfach 12", PostalCode: "4500", Town: "Solothurn", Country: "CH"},
			},
			UID: "CHE-116.281.710", CreatedAt: base, UpdatedAt: base},
		Members: []delegation.Membership{{OrgID: id, AccountID: admin, Roles: []string{delegation.RoleAdmin},
			Services: []string{"forms"}, CreatedAt: base, UpdatedAt: base}},
	}
}

func mustCreateOrg(t *testing.T, s OrgStore) (delegation.OrgState, idp.Account) {
	t.Helper()
	a, _ := mustCreateAccount(t, s)
	st := newOrgState(t, a.ID)
	if err := s.CreateOrg(t.Context(), st, []delegation.Event{{OrgID: st.Org.ID, At: base, Actor: a.ID,
		Action: delegation.EventCreated, Subject: a.ID}}); err != nil {
		t.Fatalf("CreateOrg: %v", err)
	}
	return st, a
}

// canonOrgState is st as a round trip returns it (times in UTC).
func canonOrgState(st delegation.OrgState) delegation.OrgState {
	st.Org.CreatedAt, st.Org.UpdatedAt = st.Org.CreatedAt.UTC(), st.Org.UpdatedAt.UTC()
	for i := range st.Members {
		st.Members[i].CreatedAt, st.Members[i].UpdatedAt = st.Members[i].CreatedAt.UTC(), st.Members[i].UpdatedAt.UTC()
	}
	for i := range st.Invitations {
		inv := &st.Invitations[i]
		inv.CreatedAt, inv.ExpiresAt = inv.CreatedAt.UTC(), inv.ExpiresAt.UTC()
		if !inv.DoneAt.IsZero() {
			inv.DoneAt = inv.DoneAt.UTC()
		}
	}
	return st
}

func checkState(t *testing.T, what string, got, want delegation.OrgState) {
	t.Helper()
	if !reflect.DeepEqual(got, canonOrgState(want)) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, got, canonOrgState(want))
	}
}

func testOrgCreateGet(t *testing.T, s OrgStore, o Options) {
	ctx := t.Context()
	a, _ := mustCreateAccount(t, s)
	st := newOrgState(t, a.ID)
	st.Org.LegacyID = unique("legacy")
	inv := newInvitation(t, st.Org.ID, a.ID)
	st.Invitations = []delegation.Invitation{inv}
	mail := newMail(t)
	checkErr(t, "CreateOrg", s.CreateOrg(ctx, st, []delegation.Event{{OrgID: st.Org.ID, At: base, Actor: a.ID,
		Action: delegation.EventCreated}}, mail), nil)
	got, err := s.GetOrg(ctx, st.Org.ID)
	checkErr(t, "GetOrg", err, nil)
	checkState(t, "GetOrg", got, st)
	checkJobs(t, s, o, mail)

	_, err = s.GetOrg(ctx, "no-such-org")
	checkErr(t, "GetOrg unknown", err, idp.ErrNotFound)

	mo, err := s.GetMemberOrg(ctx, st.Org.ID, a.ID)
	checkErr(t, "GetMemberOrg", err, nil)
	if !reflect.DeepEqual(mo.Org, got.Org) || !reflect.DeepEqual(mo.Membership, got.Members[0]) {
		t.Errorf("GetMemberOrg = %+v, want %+v and %+v", mo, got.Org, got.Members[0])
	}
	_, err = s.GetMemberOrg(ctx, st.Org.ID, "someone-else")
	checkErr(t, "GetMemberOrg non-member", err, idp.ErrNotFound)

	// A second organisation, named so that it sorts first.
	st2 := newOrgState(t, a.ID)
	st2.Org.Name = "Aare Verein"
	st2.Org.UID, st2.Org.Designation, st2.Org.Addresses = "", "", nil
	checkErr(t, "CreateOrg 2", s.CreateOrg(ctx, st2, nil), nil)
	list, err := s.ListMemberOrgs(ctx, a.ID)
	checkErr(t, "ListMemberOrgs", err, nil)
	if len(list) != 2 || list[0].Org.ID != st2.Org.ID || list[1].Org.ID != st.Org.ID {
		t.Fatalf("ListMemberOrgs = %+v, want the two organisations by name", list)
	}
	if list[0].Org.Addresses != nil || list[0].Org.UID != "" {
		t.Errorf("empty fields came back as %+v", list[0].Org)
	}
	none, err := s.ListMemberOrgs(ctx, "nobody")
	checkErr(t, "ListMemberOrgs nobody", err, nil)
	if len(none) != 0 {
		t.Errorf("ListMemberOrgs(nobody) = %+v", none)
	}
}

func testOrgCreateErrors(t *testing.T, s OrgStore, o Options) {
	ctx := t.Context()
	st, a := mustCreateOrg(t, s)
	dup := newOrgState(t, a.ID)
	dup.Org.ID, dup.Members[0].OrgID = st.Org.ID, st.Org.ID
	checkErr(t, "CreateOrg duplicate ID", s.CreateOrg(ctx, dup, nil, newMail(t)), idp.ErrConflict)

	ghost := newOrgState(t, "no-such-account")
	checkErr(t, "CreateOrg unknown account", s.CreateOrg(ctx, ghost, nil), idp.ErrNotFound)
	_, err := s.GetOrg(ctx, ghost.Org.ID)
	checkErr(t, "GetOrg after failed create", err, idp.ErrNotFound)

	noAdmin := newOrgState(t, a.ID)
	noAdmin.Members[0].Roles = []string{delegation.RoleMember}
	checkErr(t, "CreateOrg without admin", s.CreateOrg(ctx, noAdmin, nil), delegation.ErrLastAdmin)

	l1, l2 := newOrgState(t, a.ID), newOrgState(t, a.ID)
	l1.Org.LegacyID, l2.Org.LegacyID = "L-1", "L-1"
	checkErr(t, "CreateOrg legacy", s.CreateOrg(ctx, l1, nil), nil)
	checkErr(t, "CreateOrg same legacy ID", s.CreateOrg(ctx, l2, nil), idp.ErrConflict)
	checkJobs(t, s, o) // the failed creates enqueued nothing
}

func testOrgUpdateMembers(t *testing.T, s OrgStore, o Options) {
	ctx := t.Context()
	st, admin := mustCreateOrg(t, s)
	b, _ := mustCreateAccount(t, s)
	c, _ := mustCreateAccount(t, s)
	later := base.Add(time.Hour)
	mail := newMail(t)
	got, err := s.UpdateOrg(ctx, st.Org.ID, func(cur delegation.OrgState) (delegation.OrgState, []delegation.Event, []idp.Outgoing, error) {
		checkState(t, "state passed to fn", cur, st)
		cur.Org.Name, cur.Org.UpdatedAt = "Neuer Name", later
		cur.Org.Addresses = cur.Org.Addresses[:1]
		cur.Members = append(cur.Members,
			delegation.Membership{OrgID: st.Org.ID, AccountID: b.ID, Roles: []string{delegation.RoleMember}, CreatedAt: later, UpdatedAt: later},
			delegation.Membership{OrgID: st.Org.ID, AccountID: c.ID, Roles: []string{delegation.RoleMember}, CreatedAt: later.Add(time.Second), UpdatedAt: later})
		return cur, []delegation.Event{{OrgID: st.Org.ID, At: later, Actor: admin.ID, Action: delegation.EventAccepted, Subject: b.ID}},
			[]idp.Outgoing{mail}, nil
	})
	checkErr(t, "UpdateOrg add", err, nil)
	stored, err := s.GetOrg(ctx, st.Org.ID)
	checkErr(t, "GetOrg", err, nil)
	checkState(t, "after adding", stored, got)
	if len(stored.Members) != 3 || stored.Org.Name != "Neuer Name" || len(stored.Org.Addresses) != 1 {
		t.Fatalf("after adding: %+v", stored)
	}
	checkJobs(t, s, o, mail)

	// Change b's roles and services, remove c.
	_, err = s.UpdateOrg(ctx, st.Org.ID, func(cur delegation.OrgState) (delegation.OrgState, []delegation.Event, []idp.Outgoing, error) {
		cur.Members[1].Roles = []string{delegation.RoleAdmin}
		cur.Members[1].Services = []string{"documents", "forms"}
		cur.Members = cur.Members[:2]
		return cur, nil, nil, nil
	})
	checkErr(t, "UpdateOrg change", err, nil)
	stored, err = s.GetOrg(ctx, st.Org.ID)
	checkErr(t, "GetOrg", err, nil)
	if len(stored.Members) != 2 || stored.Members[1].AccountID != b.ID || !stored.Members[1].IsAdmin() ||
		!reflect.DeepEqual(stored.Members[1].Services, []string{"documents", "forms"}) {
		t.Fatalf("after changing: %+v", stored.Members)
	}
	if _, err := s.GetMemberOrg(ctx, st.Org.ID, c.ID); !errors.Is(err, idp.ErrNotFound) {
		t.Errorf("removed member still found: %v", err)
	}

	_, err = s.UpdateOrg(ctx, "no-such-org", func(cur delegation.OrgState) (delegation.OrgState, []delegation.Event, []idp.Outgoing, error) {
		t.Error("fn called for an unknown organisation")
		return cur, nil, nil, nil
	})
	checkErr(t, "UpdateOrg unknown", err, idp.ErrNotFound)
	_, err = s.UpdateOrg(ctx, st.Org.ID, func(cur delegation.OrgState) (delegation.OrgState, []delegation.Event, []idp.Outgoing, error) {
		cur.Org.ID = "other"
		return cur, nil, nil, nil
	})
	if err == nil {
		t.Error("UpdateOrg let the ID change")
	}
	_, err = s.UpdateOrg(ctx, st.Org.ID, func(cur delegation.OrgState) (delegation.OrgState, []delegation.Event, []idp.Outgoing, error) {
		cur.Members = append(cur.Members, delegation.Membership{OrgID: st.Org.ID, AccountID: "no-such-account",
			Roles: []string{delegation.RoleMember}})
		return cur, nil, nil, nil
	})
	checkErr(t, "UpdateOrg adds unknown account", err, idp.ErrNotFound)
}

func testOrgUpdateAborts(t *testing.T, s OrgStore, o Options) {
	ctx := t.Context()
	st, a := mustCreateOrg(t, s)
	boom := errors.New("boom")
	_, err := s.UpdateOrg(ctx, st.Org.ID, func(cur delegation.OrgState) (delegation.OrgState, []delegation.Event, []idp.Outgoing, error) {
		cur.Org.Name = "changed"
		cur.Members[0].Services = nil
		cur.Invitations = append(cur.Invitations, newInvitation(t, st.Org.ID, a.ID))
		return cur, []delegation.Event{{OrgID: st.Org.ID, At: base, Action: "x"}}, []idp.Outgoing{newMail(t)}, boom
	})
	checkErr(t, "UpdateOrg failing fn", err, boom)
	// A failure after fn (an unknown outgoing kind) rolls back too.
	_, err = s.UpdateOrg(ctx, st.Org.ID, func(cur delegation.OrgState) (delegation.OrgState, []delegation.Event, []idp.Outgoing, error) {
		cur.Org.Name = "changed"
		return cur, []delegation.Event{{OrgID: st.Org.ID, At: base, Action: "x"}}, []idp.Outgoing{{Kind: "pigeon"}}, nil
	})
	if err == nil {
		t.Fatal("UpdateOrg accepted an unknown outgoing kind")
	}
	got, err := s.GetOrg(ctx, st.Org.ID)
	checkErr(t, "GetOrg", err, nil)
	checkState(t, "after aborted updates", got, st)
	ev, err := s.ListEvents(ctx, st.Org.ID, 10)
	checkErr(t, "ListEvents", err, nil)
	if len(ev) != 1 {
		t.Errorf("aborted updates left events: %+v", ev)
	}
	checkJobs(t, s, o)
}

// testOrgConcurrentAdds adds members from many goroutines at once: none
// of the additions is lost.
func testOrgConcurrentAdds(t *testing.T, s OrgStore, _ Options) {
	ctx := guard(t)
	st, _ := mustCreateOrg(t, s)
	const n = 8
	accts := make([]idp.Account, n)
	for i := range n {
		accts[i], _ = mustCreateAccount(t, s)
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = s.UpdateOrg(ctx, st.Org.ID, func(cur delegation.OrgState) (delegation.OrgState, []delegation.Event, []idp.Outgoing, error) {
				cur.Members = append(cur.Members, delegation.Membership{OrgID: st.Org.ID, AccountID: accts[i].ID,
					Roles: []string{delegation.RoleMember}, CreatedAt: base, UpdatedAt: base})
				cur.Org.Designation += "x"
				return cur, []delegation.Event{{OrgID: st.Org.ID, At: base, Actor: accts[i].ID, Action: delegation.EventAccepted}}, nil, nil
			})
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		checkErr(t, "concurrent add "+accts[i].ID, err, nil)
	}
	got, err := s.GetOrg(ctx, st.Org.ID)
	checkErr(t, "GetOrg", err, nil)
	if len(got.Members) != n+1 || len(got.Org.Designation) != len(st.Org.Designation)+n {
		t.Fatalf("after %d concurrent additions: %d members, designation %q: updates were lost", n, len(got.Members), got.Org.Designation)
	}
	ev, err := s.ListEvents(ctx, st.Org.ID, 100)
	checkErr(t, "ListEvents", err, nil)
	if len(ev) != n+1 {
		t.Errorf("%d events, want %d", len(ev), n+1)
	}
}

func testOrgEvents(t *testing.T, s OrgStore, _ Options) {
	ctx := t.Context()
	st, a := mustCreateOrg(t, s)
	for i := range 5 {
		_, err := s.UpdateOrg(ctx, st.Org.ID, func(cur delegation.OrgState) (delegation.OrgState, []delegation.Event, []idp.Outgoing, error) {
			return cur, []delegation.Event{{OrgID: st.Org.ID, At: base.Add(time.Duration(i+1) * time.Minute), Actor: a.ID,
				Action: delegation.EventServiceAssigned, Subject: a.ID, Detail: unique("svc")}}, nil, nil
		})
		checkErr(t, "UpdateOrg", err, nil)
	}
	ev, err := s.ListEvents(ctx, st.Org.ID, 3)
	checkErr(t, "ListEvents", err, nil)
	if len(ev) != 3 || !ev[0].At.Equal(base.Add(5*time.Minute)) || !ev[2].At.Equal(base.Add(3*time.Minute)) {
		t.Fatalf("ListEvents(3) = %+v, want the three newest, newest first", ev)
	}
	if ev[0].At.Location() != time.UTC || ev[0].Actor != a.ID || ev[0].Action != delegation.EventServiceAssigned {
		t.Errorf("event = %+v", ev[0])
	}
	all, err := s.ListEvents(ctx, st.Org.ID, 100)
	checkErr(t, "ListEvents all", err, nil)
	if len(all) != 6 || all[5].Action != delegation.EventCreated {
		t.Errorf("ListEvents all = %+v", all)
	}
	_, err = s.UpdateOrg(ctx, st.Org.ID, func(cur delegation.OrgState) (delegation.OrgState, []delegation.Event, []idp.Outgoing, error) {
		return cur, []delegation.Event{{OrgID: "another-org", At: base, Action: "x"}}, nil, nil
	})
	if err == nil {
		t.Error("UpdateOrg wrote an event for another organisation")
	}
}

func testOrgDeleteAccount(t *testing.T, s OrgStore, _ Options) {
	ctx := t.Context()
	st, admin := mustCreateOrg(t, s)
	member, _ := mustCreateAccount(t, s)
	inv := newInvitation(t, st.Org.ID, admin.ID)
	inv.AccountID = member.ID
	_, err := s.UpdateOrg(ctx, st.Org.ID, func(cur delegation.OrgState) (delegation.OrgState, []delegation.Event, []idp.Outgoing, error) {
		cur.Members = append(cur.Members, delegation.Membership{OrgID: st.Org.ID, AccountID: member.ID,
			Roles: []string{delegation.RoleMember}, CreatedAt: base, UpdatedAt: base})
		cur.Invitations = append(cur.Invitations, inv)
		return cur, nil, nil, nil
	})
	checkErr(t, "UpdateOrg", err, nil)
	checkErr(t, "DeleteAccount member", s.DeleteAccount(ctx, member.ID), nil)
	got, err := s.GetOrg(ctx, st.Org.ID)
	checkErr(t, "GetOrg", err, nil)
	if len(got.Members) != 1 || len(got.Invitations) != 0 {
		t.Errorf("after deleting the member's account: %d members, %d invitations", len(got.Members), len(got.Invitations))
	}
	_, err = s.GetInvitation(ctx, inv.ID)
	checkErr(t, "invitation to a deleted account", err, idp.ErrNotFound)

	// The last member's account goes: the organisation stays, without members.
	checkErr(t, "DeleteAccount admin", s.DeleteAccount(ctx, admin.ID), nil)
	got, err = s.GetOrg(ctx, st.Org.ID)
	checkErr(t, "GetOrg after last member", err, nil)
	if len(got.Members) != 0 {
		t.Errorf("members left: %+v", got.Members)
	}
	ev, err := s.ListEvents(ctx, st.Org.ID, 10)
	checkErr(t, "ListEvents", err, nil)
	if len(ev) == 0 {
		t.Error("the history went with the accounts")
	}
}

func testOrgLegacy(t *testing.T, s OrgStore, o Options) {
	ctx := t.Context()
	owner, _ := mustCreateAccount(t, s)
	l1 := delegation.LegacyAccount{LegacyID: unique("L"), OrgName: "Alte Firma", UID: "CHE-105.909.036",
		EmailIndex: owner.EmailIndex, ImportedAt: base}
	l2 := delegation.LegacyAccount{LegacyID: unique("L"), OrgName: "Zweite", EmailIndex: owner.EmailIndex, ImportedAt: base}
	l3 := delegation.LegacyAccount{LegacyID: unique("L"), OrgName: "Fremd", EmailIndex: randBytes(t, 32), ImportedAt: base}
	ins, upd, err := s.PutLegacyAccounts(ctx, []delegation.LegacyAccount{l1, l2, l3})
	checkErr(t, "PutLegacyAccounts", err, nil)
	if ins != 3 || upd != 0 {
		t.Errorf("PutLegacyAccounts = %d inserted, %d updated; want 3, 0", ins, upd)
	}
	list, err := s.ListLegacyAccounts(ctx, owner.EmailIndex)
	checkErr(t, "ListLegacyAccounts", err, nil)
	if len(list) != 2 {
		t.Fatalf("ListLegacyAccounts = %+v, want two", list)
	}
	for _, l := range list {
		want := l1
		if l.LegacyID == l2.LegacyID {
			want = l2
		}
		want.ImportedAt = want.ImportedAt.UTC()
		if !reflect.DeepEqual(l, want) {
			t.Errorf("legacy account = %+v, want %+v", l, want)
		}
	}

	st := newOrgState(t, owner.ID)
	st.Org.LegacyID = l1.LegacyID
	mail := newMail(t)
	checkErr(t, "MigrateLegacyAccount", s.MigrateLegacyAccount(ctx, l1.LegacyID, owner.ID, base, st,
		[]delegation.Event{{OrgID: st.Org.ID, At: base, Actor: owner.ID, Action: delegation.EventMigrated, Detail: l1.LegacyID}}, mail), nil)
	got, err := s.GetOrg(ctx, st.Org.ID)
	checkErr(t, "GetOrg migrated", err, nil)
	checkState(t, "migrated organisation", got, st)
	checkJobs(t, s, o, mail)

	again := newOrgState(t, owner.ID)
	checkErr(t, "MigrateLegacyAccount again", s.MigrateLegacyAccount(ctx, l1.LegacyID, owner.ID, base, again, nil), idp.ErrReused)
	_, err = s.GetOrg(ctx, again.Org.ID)
	checkErr(t, "no organisation from a second migration", err, idp.ErrNotFound)
	checkErr(t, "MigrateLegacyAccount unknown", s.MigrateLegacyAccount(ctx, "nope", owner.ID, base, newOrgState(t, owner.ID), nil), idp.ErrNotFound)

	list, err = s.ListLegacyAccounts(ctx, owner.EmailIndex)
	checkErr(t, "ListLegacyAccounts after migration", err, nil)
	if len(list) != 1 || list[0].LegacyID != l2.LegacyID {
		t.Errorf("after migration: %+v", list)
	}
	// A new import updates what is not migrated and leaves the rest.
	l1.OrgName, l2.OrgName = "Umbenannt", "Umbenannt"
	ins, upd, err = s.PutLegacyAccounts(ctx, []delegation.LegacyAccount{l1, l2})
	checkErr(t, "PutLegacyAccounts again", err, nil)
	if ins != 0 || upd != 1 {
		t.Errorf("second import = %d inserted, %d updated; want 0, 1", ins, upd)
	}
	list, err = s.ListLegacyAccounts(ctx, owner.EmailIndex)
	checkErr(t, "ListLegacyAccounts", err, nil)
	if len(list) != 1 || list[0].OrgName != "Umbenannt" {
		t.Errorf("after second import: %+v", list)
	}
}
