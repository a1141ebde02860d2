package storetest

// Conformance tests of organisation invitations.

import (
	"reflect"
	"testing"
	"time"

	"github.com/kanton/kundencenter/delegation"
	"github.com/kanton/kundencenter/idp"
)

func newInvitation(t *testing.T, orgID, by string) delegation.Invitation {
	t.Helper()
	return delegation.Invitation{ID: unique("inv"), OrgID: orgID, Hash: randBytes(t, 32), Role: delegation.RoleMember,
		Label: "1234-5678-9012", InvitedBy: by, Status: delegation.InvitationPending, CreatedAt: base,
		ExpiresAt: base.Add(7 * 24 * time.Hour)}
}

func testOrgInvitations(t *testing.T, s OrgStore, _ Options) {
	ctx := t.Context()
	st, admin := mustCreateOrg(t, s)
	invitee, _ := mustCreateAccount(t, s)
	byAccount := newInvitation(t, st.Org.ID, admin.ID)
	byAccount.AccountID = invitee.ID
	byEmail := newInvitation(t, st.Org.ID, admin.ID)
	byEmail.EmailIndex, byEmail.Label = invitee.EmailIndex, "a•••@example.ch"
	byEmail.CreatedAt = base.Add(time.Second)
	expired := newInvitation(t, st.Org.ID, admin.ID)
	expired.AccountID, expired.ExpiresAt = invitee.ID, base.Add(time.Minute)
	other := newInvitation(t, st.Org.ID, admin.ID)
	other.EmailIndex = randBytes(t, 32)
	_, err := s.UpdateOrg(ctx, st.Org.ID, func(cur delegation.OrgState) (delegation.OrgState, []delegation.Event, []idp.Outgoing, error) {
		cur.Invitations = append(cur.Invitations, byAccount, byEmail, expired, other)
		return cur, nil, nil, nil
	})
	checkErr(t, "UpdateOrg invite", err, nil)

	got, err := s.GetInvitation(ctx, byEmail.ID)
	checkErr(t, "GetInvitation", err, nil)
	if want := canonOrgState(delegation.OrgState{Invitations: []delegation.Invitation{byEmail}}).Invitations[0]; !reflect.DeepEqual(got, want) {
		t.Errorf("GetInvitation = %+v, want %+v", got, want)
	}
	got, err = s.GetInvitationByHash(ctx, byAccount.Hash)
	checkErr(t, "GetInvitationByHash", err, nil)
	if got.ID != byAccount.ID || got.AccountID != invitee.ID || got.EmailIndex != nil {
		t.Errorf("GetInvitationByHash = %+v", got)
	}
	_, err = s.GetInvitationByHash(ctx, randBytes(t, 32))
	checkErr(t, "GetInvitationByHash unknown", err, idp.ErrNotFound)
	_, err = s.GetInvitation(ctx, "nope")
	checkErr(t, "GetInvitation unknown", err, idp.ErrNotFound)

	now := base.Add(time.Hour) // after expired's expiry
	list, err := s.ListInvitationsFor(ctx, invitee.ID, invitee.EmailIndex, now)
	checkErr(t, "ListInvitationsFor", err, nil)
	if len(list) != 2 || list[0].Invitation.ID != byAccount.ID || list[1].Invitation.ID != byEmail.ID || list[0].Org.ID != st.Org.ID {
		t.Fatalf("ListInvitationsFor = %+v, want the account and the e-mail invitation", list)
	}

	// Answer one: it leaves the pending list and the state.
	done := now
	_, err = s.UpdateOrg(ctx, st.Org.ID, func(cur delegation.OrgState) (delegation.OrgState, []delegation.Event, []idp.Outgoing, error) {
		if len(cur.Invitations) != 4 {
			t.Errorf("state holds %d pending invitations, want 4", len(cur.Invitations))
		}
		for i := range cur.Invitations {
			if cur.Invitations[i].ID == byAccount.ID {
				cur.Invitations[i].Status, cur.Invitations[i].DoneAt = delegation.InvitationAccepted, done
			}
		}
		return cur, nil, nil, nil
	})
	checkErr(t, "UpdateOrg answer", err, nil)
	got, err = s.GetInvitation(ctx, byAccount.ID)
	checkErr(t, "GetInvitation answered", err, nil)
	if got.Status != delegation.InvitationAccepted || !got.DoneAt.Equal(done) {
		t.Errorf("answered invitation = %+v", got)
	}
	cur, err := s.GetOrg(ctx, st.Org.ID)
	checkErr(t, "GetOrg", err, nil)
	if len(cur.Invitations) != 3 {
		t.Errorf("GetOrg lists %d pending invitations, want 3", len(cur.Invitations))
	}
	list, err = s.ListInvitationsFor(ctx, invitee.ID, invitee.EmailIndex, now)
	checkErr(t, "ListInvitationsFor", err, nil)
	if len(list) != 1 || list[0].Invitation.ID != byEmail.ID {
		t.Errorf("after answering: %+v", list)
	}
	// An e-mail invitation is not listed for an account that only shares
	// nothing with it, and an empty index matches nothing.
	list, err = s.ListInvitationsFor(ctx, admin.ID, nil, now)
	checkErr(t, "ListInvitationsFor admin", err, nil)
	if len(list) != 0 {
		t.Errorf("ListInvitationsFor(admin) = %+v", list)
	}
	// Token hashes are unique.
	dup := newInvitation(t, st.Org.ID, admin.ID)
	dup.Hash = byEmail.Hash
	_, err = s.UpdateOrg(ctx, st.Org.ID, func(cur delegation.OrgState) (delegation.OrgState, []delegation.Event, []idp.Outgoing, error) {
		cur.Invitations = append(cur.Invitations, dup)
		return cur, nil, nil, nil
	})
	checkErr(t, "duplicate token hash", err, idp.ErrConflict)
}

// testOrgDeleteRevokesInvitations: deleting an admin's account revokes the
// pending invitations that admin sent (in every organisation), with a
// history entry by the system each, as revokeInvitationsBy does when an
// admin leaves; answered invitations and those of other admins stay.
func testOrgDeleteRevokesInvitations(t *testing.T, s OrgStore, _ Options) {
	ctx := t.Context()
	st, admin := mustCreateOrg(t, s)
	second, _ := mustCreateAccount(t, s)
	other, otherAdmin := mustCreateOrg(t, s)
	mine := newInvitation(t, st.Org.ID, admin.ID)
	mine.Label = "m•••@example.ch"
	answered := newInvitation(t, st.Org.ID, admin.ID)
	answered.Status, answered.DoneAt = delegation.InvitationAccepted, base.Add(time.Minute)
	theirs := newInvitation(t, st.Org.ID, second.ID)
	_, err := s.UpdateOrg(ctx, st.Org.ID, func(cur delegation.OrgState) (delegation.OrgState, []delegation.Event, []idp.Outgoing, error) {
		cur.Members = append(cur.Members, delegation.Membership{OrgID: st.Org.ID, AccountID: second.ID,
			Roles: []string{delegation.RoleAdmin}, CreatedAt: base.Add(time.Hour), UpdatedAt: base})
		cur.Invitations = append(cur.Invitations, mine, answered, theirs)
		return cur, nil, nil, nil
	})
	checkErr(t, "UpdateOrg", err, nil)
	// An invitation sent in another organisation, where the admin is one
	// admin of two.
	elsewhere := newInvitation(t, other.Org.ID, admin.ID)
	elsewhere.Label = "e•••@example.ch"
	_, err = s.UpdateOrg(ctx, other.Org.ID, func(cur delegation.OrgState) (delegation.OrgState, []delegation.Event, []idp.Outgoing, error) {
		cur.Members = append(cur.Members, delegation.Membership{OrgID: other.Org.ID, AccountID: admin.ID,
			Roles: []string{delegation.RoleAdmin}, CreatedAt: base.Add(time.Hour), UpdatedAt: base})
		cur.Invitations = append(cur.Invitations, elsewhere)
		return cur, nil, nil, nil
	})
	checkErr(t, "UpdateOrg other", err, nil)

	checkErr(t, "DeleteAccount", s.DeleteAccount(ctx, admin.ID), nil)
	for _, tc := range []struct {
		inv  delegation.Invitation
		want delegation.InvitationStatus
	}{
		{mine, delegation.InvitationRevoked}, {elsewhere, delegation.InvitationRevoked},
		{answered, delegation.InvitationAccepted}, {theirs, delegation.InvitationPending},
	} {
		got, err := s.GetInvitation(ctx, tc.inv.ID)
		checkErr(t, "GetInvitation", err, nil)
		if got.Status != tc.want {
			t.Errorf("invitation %s: status %s, want %s", tc.inv.Label, got.Status, tc.want)
		}
		if tc.want == delegation.InvitationRevoked && got.DoneAt.IsZero() {
			t.Errorf("revoked invitation %s has no done time", tc.inv.Label)
		}
	}
	for _, o := range []struct {
		org   string
		label string
	}{{st.Org.ID, mine.Label}, {other.Org.ID, elsewhere.Label}} {
		ev, err := s.ListEvents(ctx, o.org, 20)
		checkErr(t, "ListEvents", err, nil)
		n := 0
		for _, e := range ev {
			if e.Action == delegation.EventInvitationRevoked {
				n++
				if e.Actor != "system" || e.Subject != o.label {
					t.Errorf("history entry %+v, want the system revoking %s", e, o.label)
				}
			}
		}
		if n != 1 {
			t.Errorf("organisation %s: %d revocation entries, want 1: %+v", o.org, n, ev)
		}
	}
	// The organisations keep their other admins and nobody is promoted.
	got, err := s.GetOrg(ctx, other.Org.ID)
	checkErr(t, "GetOrg other", err, nil)
	if len(got.Members) != 1 || got.Members[0].AccountID != otherAdmin.ID || len(got.Invitations) != 0 {
		t.Fatalf("other organisation: %+v", got)
	}
}
