package storetest

// Conformance tests of the rule that an organisation keeps an admin:
// refused updates, concurrent demotions, and the handover when the last
// admin's account is deleted.

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kanton/kundencenter/delegation"
	"github.com/kanton/kundencenter/idp"
)

func testOrgRefusesNoAdmin(t *testing.T, s OrgStore, _ Options) {
	ctx := t.Context()
	st, _ := mustCreateOrg(t, s)
	for name, change := range map[string]func(*delegation.OrgState){
		"demote":  func(c *delegation.OrgState) { c.Members[0].Roles = []string{delegation.RoleMember} },
		"no role": func(c *delegation.OrgState) { c.Members[0].Roles = nil },
	} {
		_, err := s.UpdateOrg(ctx, st.Org.ID, func(cur delegation.OrgState) (delegation.OrgState, []delegation.Event, []idp.Outgoing, error) {
			change(&cur)
			return cur, nil, nil, nil
		})
		if err == nil {
			t.Errorf("%s: UpdateOrg stored an organisation without an admin", name)
		}
	}
	_, err := s.UpdateOrg(ctx, st.Org.ID, func(cur delegation.OrgState) (delegation.OrgState, []delegation.Event, []idp.Outgoing, error) {
		cur.Members[0].Roles = []string{delegation.RoleMember}
		return cur, nil, nil, nil
	})
	checkErr(t, "demote the only admin", err, delegation.ErrLastAdmin)
	got, err := s.GetOrg(ctx, st.Org.ID)
	checkErr(t, "GetOrg", err, nil)
	if got.Admins() != 1 {
		t.Errorf("admins after refused changes: %d", got.Admins())
	}
}

// demote is what the use case does: refuse to demote the last admin, as
// seen in the state fn gets.
func demote(target string) func(delegation.OrgState) (delegation.OrgState, []delegation.Event, []idp.Outgoing, error) {
	return func(cur delegation.OrgState) (delegation.OrgState, []delegation.Event, []idp.Outgoing, error) {
		for i, m := range cur.Members {
			if m.AccountID == target && m.IsAdmin() {
				if cur.Admins() == 1 {
					return cur, nil, nil, delegation.ErrLastAdmin
				}
				cur.Members[i].Roles = []string{delegation.RoleMember}
			}
		}
		return cur, nil, nil, nil
	}
}

// testOrgConcurrentDemotion has two admins demote each other at the same
// moment, many times: exactly one demotion wins each round and the
// organisation always keeps an admin.
func testOrgConcurrentDemotion(t *testing.T, s OrgStore, _ Options) {
	ctx := guard(t)
	for round := range 10 {
		st, a := mustCreateOrg(t, s)
		b, _ := mustCreateAccount(t, s)
		_, err := s.UpdateOrg(ctx, st.Org.ID, func(cur delegation.OrgState) (delegation.OrgState, []delegation.Event, []idp.Outgoing, error) {
			cur.Members = append(cur.Members, delegation.Membership{OrgID: st.Org.ID, AccountID: b.ID,
				Roles: []string{delegation.RoleAdmin}, CreatedAt: base, UpdatedAt: base})
			return cur, nil, nil, nil
		})
		checkErr(t, "add second admin", err, nil)
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, 2)
		for i, target := range []string{b.ID, a.ID} {
			wg.Go(func() {
				<-start
				_, errs[i] = s.UpdateOrg(ctx, st.Org.ID, demote(target))
			})
		}
		close(start)
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, delegation.ErrLastAdmin):
				t.Fatalf("round %d: unexpected error %v", round, err)
			}
		}
		got, err := s.GetOrg(ctx, st.Org.ID)
		checkErr(t, "GetOrg", err, nil)
		if won != 1 || got.Admins() != 1 {
			t.Fatalf("round %d: %d demotions succeeded, %d admins left; want 1 and 1", round, won, got.Admins())
		}
	}
}

// testOrgDeleteLastAdmin: deleting the account of an organisation's last
// admin (by the person or the inactivity rules) makes the longest-standing
// other member admin, with a history entry by the system; an organisation
// that has another admin is left alone.
func testOrgDeleteLastAdmin(t *testing.T, s OrgStore, _ Options) {
	ctx := t.Context()
	st, admin := mustCreateOrg(t, s)
	older, _ := mustCreateAccount(t, s)
	younger, _ := mustCreateAccount(t, s)
	_, err := s.UpdateOrg(ctx, st.Org.ID, func(cur delegation.OrgState) (delegation.OrgState, []delegation.Event, []idp.Outgoing, error) {
		cur.Members = append(cur.Members,
			delegation.Membership{OrgID: st.Org.ID, AccountID: younger.ID, Roles: []string{delegation.RoleMember},
				CreatedAt: base.Add(2 * time.Hour), UpdatedAt: base},
			delegation.Membership{OrgID: st.Org.ID, AccountID: older.ID, Roles: []string{delegation.RoleMember},
				CreatedAt: base.Add(time.Hour), UpdatedAt: base})
		return cur, nil, nil, nil
	})
	checkErr(t, "UpdateOrg", err, nil)
	other, otherAdmin := mustCreateOrg(t, s)
	_, err = s.UpdateOrg(ctx, other.Org.ID, func(cur delegation.OrgState) (delegation.OrgState, []delegation.Event, []idp.Outgoing, error) {
		cur.Members = append(cur.Members, delegation.Membership{OrgID: other.Org.ID, AccountID: admin.ID,
			Roles: []string{delegation.RoleAdmin}, CreatedAt: base.Add(time.Hour), UpdatedAt: base})
		return cur, nil, nil, nil
	})
	checkErr(t, "UpdateOrg other", err, nil)

	checkErr(t, "DeleteAccount last admin", s.DeleteAccount(ctx, admin.ID), nil)
	got, err := s.GetOrg(ctx, st.Org.ID)
	checkErr(t, "GetOrg", err, nil)
	roles := map[string][]string{}
	for _, m := range got.Members {
		roles[m.AccountID] = m.Roles
	}
	if len(got.Members) != 2 || !slices.Equal(roles[older.ID], []string{delegation.RoleAdmin}) ||
		!slices.Equal(roles[younger.ID], []string{delegation.RoleMember}) {
		t.Fatalf("after the last admin's account was deleted: %+v", got.Members)
	}
	ev, err := s.ListEvents(ctx, st.Org.ID, 10)
	checkErr(t, "ListEvents", err, nil)
	if !slices.ContainsFunc(ev, func(e delegation.Event) bool {
		return e.Actor == "system" && e.Action == delegation.EventRoleChanged && e.Subject == older.ID && e.Detail == delegation.RoleAdmin
	}) {
		t.Fatalf("no history entry for the hand-over: %+v", ev)
	}
	// The other organisation still has its own admin: nobody is promoted.
	got, err = s.GetOrg(ctx, other.Org.ID)
	checkErr(t, "GetOrg other", err, nil)
	if len(got.Members) != 1 || got.Members[0].AccountID != otherAdmin.ID {
		t.Fatalf("other organisation: %+v", got.Members)
	}
}
