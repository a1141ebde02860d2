package delegation

// An organisation's members: removing one, leaving, and changing a
// member's role and services.

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/kanton/kundencenter/idp"
)

// removeMember drops accountID from st, refusing to drop the last admin.
func removeMember(st *OrgState, accountID string) (Membership, error) {
	i := slices.IndexFunc(st.Members, func(m Membership) bool { return m.AccountID == accountID })
	if i < 0 {
		return Membership{}, fmt.Errorf("member: %w", idp.ErrNotFound)
	}
	m := st.Members[i]
	if m.IsAdmin() && st.Admins() == 1 {
		return Membership{}, ErrLastAdmin
	}
	st.Members = slices.Delete(st.Members, i, i+1)
	return m, nil
}

// RemoveMember removes a member (admins only) and tells them by e-mail.
// The last admin cannot be removed.
func (s *Service) RemoveMember(ctx context.Context, actor, orgID, memberID string) error {
	if memberID == actor {
		return s.Leave(ctx, actor, orgID)
	}
	removed, err := s.person(ctx, memberID)
	if err != nil {
		return ErrForbidden
	}
	_, err = s.store.UpdateOrg(ctx, orgID, func(st OrgState) (OrgState, []Event, []idp.Outgoing, error) {
		if err := requireAdmin(st, actor); err != nil {
			return st, nil, nil, err
		}
		if _, err := removeMember(&st, memberID); err != nil {
			return st, nil, nil, err
		}
		now := s.Now()
		ev := revokeInvitationsBy(&st, memberID, actor, now)
		ev = append(ev, Event{OrgID: orgID, At: now, Actor: actor, Action: EventRemoved, Subject: memberID})
		out, err := s.mail(removed.email, removed.acct.Locale, MailRemoved, map[string]string{
			"Name": removed.name, "OrgName": st.Org.Name, "LoginLink": s.cfg.BaseURL + "/orgs"})
		if err != nil {
			return st, nil, nil, err
		}
		return st, ev, []idp.Outgoing{out}, nil
	})
	return s.orgErr(err)
}

// Leave ends the actor's own membership. The last admin cannot leave.
func (s *Service) Leave(ctx context.Context, actor, orgID string) error {
	_, err := s.store.UpdateOrg(ctx, orgID, func(st OrgState) (OrgState, []Event, []idp.Outgoing, error) {
		if _, err := removeMember(&st, actor); errors.Is(err, idp.ErrNotFound) {
			return st, nil, nil, ErrForbidden
		} else if err != nil {
			return st, nil, nil, err
		}
		now := s.Now()
		ev := revokeInvitationsBy(&st, actor, actor, now)
		return st, append(ev, Event{OrgID: orgID, At: now, Actor: actor, Action: EventLeft, Subject: actor}), nil, nil
	})
	return s.orgErr(err)
}

// SetRole gives a member a new role (admins only). Demoting the last
// admin is refused (ErrLastAdmin), also when two admins demote each other
// at the same time: the store serialises the changes per organisation.
// A demoted admin's pending invitations are revoked.
func (s *Service) SetRole(ctx context.Context, actor, orgID, memberID, role string) error {
	if !ValidRole(role) {
		return verr(map[string][]string{"role": {"err.role_invalid"}})
	}
	_, err := s.store.UpdateOrg(ctx, orgID, func(st OrgState) (OrgState, []Event, []idp.Outgoing, error) {
		if err := requireAdmin(st, actor); err != nil {
			return st, nil, nil, err
		}
		i := slices.IndexFunc(st.Members, func(m Membership) bool { return m.AccountID == memberID })
		if i < 0 {
			return st, nil, nil, fmt.Errorf("member: %w", idp.ErrNotFound)
		}
		m := st.Members[i]
		if slices.Equal(m.Roles, []string{role}) {
			return st, nil, nil, nil
		}
		if m.IsAdmin() && role != RoleAdmin && st.Admins() == 1 {
			return st, nil, nil, ErrLastAdmin
		}
		now := s.Now()
		st.Members[i].Roles, st.Members[i].UpdatedAt = []string{role}, now
		var ev []Event
		if m.IsAdmin() && role != RoleAdmin {
			ev = revokeInvitationsBy(&st, memberID, actor, now)
		}
		return st, append(ev, Event{OrgID: orgID, At: now, Actor: actor, Action: EventRoleChanged, Subject: memberID, Detail: role}), nil, nil
	})
	return s.orgErr(err)
}

// SetServices sets which services of the catalogue a member may use for
// the organisation (admins only); unknown client IDs are a validation
// error on field "services".
func (s *Service) SetServices(ctx context.Context, actor, orgID, memberID string, clientIDs []string) error {
	want := slices.Clone(clientIDs)
	slices.Sort(want)
	want = slices.Compact(want)
	for _, id := range want {
		if _, err := s.store.GetClient(ctx, id); errors.Is(err, idp.ErrNotFound) {
			return verr(map[string][]string{"services": {"err.service_unknown"}})
		} else if err != nil {
			return fmt.Errorf("look up client: %w", err)
		}
	}
	_, err := s.store.UpdateOrg(ctx, orgID, func(st OrgState) (OrgState, []Event, []idp.Outgoing, error) {
		if err := requireAdmin(st, actor); err != nil {
			return st, nil, nil, err
		}
		i := slices.IndexFunc(st.Members, func(m Membership) bool { return m.AccountID == memberID })
		if i < 0 {
			return st, nil, nil, fmt.Errorf("member: %w", idp.ErrNotFound)
		}
		now := s.Now()
		var ev []Event
		for _, id := range want {
			if !slices.Contains(st.Members[i].Services, id) {
				ev = append(ev, Event{OrgID: orgID, At: now, Actor: actor, Action: EventServiceAssigned, Subject: memberID, Detail: id})
			}
		}
		for _, id := range st.Members[i].Services {
			if !slices.Contains(want, id) {
				ev = append(ev, Event{OrgID: orgID, At: now, Actor: actor, Action: EventServiceUnassigned, Subject: memberID, Detail: id})
			}
		}
		if len(ev) == 0 {
			return st, nil, nil, nil
		}
		st.Members[i].Services, st.Members[i].UpdatedAt = want, now
		return st, ev, nil, nil
	})
	return s.orgErr(err)
}
