package delegation

// Invitations to an organisation: sending, looking up by token, answering
// and revoking them.

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kanton/kundencenter/idp"
)

// InviteInput names the invitee, by Konto-ID or by e-mail address.
type InviteInput struct {
	By      string // "konto_id" or "email"
	KontoID string
	Email   string
	Role    string
	IP      string
}

// maskEmail shows the inviter the address they typed without keeping it
// in clear: "anna@example.ch" becomes "a•••@example.ch".
func maskEmail(email string) string {
	at := strings.LastIndexByte(email, '@')
	if at <= 0 {
		return "•••"
	}
	r, _ := utf8.DecodeRuneInString(email)
	return string(r) + "•••" + email[at:]
}

// Invite invites someone into the organisation (admins only). By Konto-ID
// the invitee's account gets the mail and the inviter never learns its
// address; by e-mail, an address with an account gets the same mail and
// one without gets a mail inviting to register first. The answer is the
// same whether or not the Konto-ID or address has an account (nil), so an
// inviter cannot probe accounts; an earlier pending invitation for the same
// invitee is revoked.
func (s *Service) Invite(ctx context.Context, actor, orgID string, in InviteInput) error {
	f := map[string][]string{}
	var kontoID, email string
	switch in.By {
	case "konto_id":
		k, ok := idp.ParseKontoID(in.KontoID)
		switch {
		case strings.TrimSpace(in.KontoID) == "":
			f["konto_id"] = []string{"err.required"}
		case !ok:
			f["konto_id"] = []string{"err.konto_id_invalid"}
		}
		kontoID = k
	case "email":
		email = idp.NormalizeEmail(in.Email)
		switch {
		case email == "":
			f["email"] = []string{"err.required"}
		case !idp.ValidEmail(email):
			f["email"] = []string{"err.email_invalid"}
		}
	default:
		f["by"] = []string{"err.invite_by_invalid"}
	}
	if !ValidRole(in.Role) {
		f["role"] = []string{"err.role_invalid"}
	}
	if err := verr(f); err != nil {
		return err
	}
	// Only admins get this far without a cheap ErrForbidden; the limit
	// counts every attempt of the actor.
	if m, err := s.store.GetMemberOrg(ctx, orgID, actor); err != nil || !m.Membership.IsAdmin() {
		return ErrForbidden
	}
	if err := s.allow(ctx, []idp.Rule{s.cfg.Limits.InvitePerActor}, []string{actor}); err != nil {
		return err
	}
	inviter, err := s.person(ctx, actor)
	if err != nil {
		return err
	}
	now := s.Now()
	tok, hash := newToken()
	inv := Invitation{ID: idp.NewID(), OrgID: orgID, Hash: hash, Role: in.Role, InvitedBy: actor,
		Status: InvitationPending, CreatedAt: now, ExpiresAt: now.Add(s.cfg.InvitationTTL)}
	var invitee *person
	if kontoID != "" {
		inv.Label = kontoID
		a, err := s.store.GetAccountByKontoID(ctx, kontoID)
		if errors.Is(err, idp.ErrNotFound) || (err == nil && a.Status != idp.StatusActive) {
			s.log.InfoContext(ctx, "organisation invitation to an unknown or inactive Konto-ID dropped", "org_id", orgID)
			return nil
		}
		if err != nil {
			return fmt.Errorf("look up Konto-ID: %w", err)
		}
		p, err := s.personOf(a)
		if err != nil {
			return err
		}
		invitee = &p
		inv.AccountID = a.ID
	} else {
		inv.Label = maskEmail(email)
		inv.EmailIndex = s.idp.EmailIndex(email)
		a, err := s.store.GetAccountByEmailIndex(ctx, inv.EmailIndex)
		switch {
		case err == nil && a.Status == idp.StatusActive:
			p, err := s.personOf(a)
			if err != nil {
				return err
			}
			invitee = &p
			inv.AccountID = a.ID
		case err == nil, errors.Is(err, idp.ErrNotFound):
			// No (active) account yet: the mail invites to register first.
		default:
			return fmt.Errorf("look up e-mail: %w", err)
		}
	}
	validHours := strconv.Itoa(int(s.cfg.InvitationTTL.Hours()))
	_, err = s.store.UpdateOrg(ctx, orgID, func(st OrgState) (OrgState, []Event, []idp.Outgoing, error) {
		if err := requireAdmin(st, actor); err != nil {
			return st, nil, nil, err
		}
		if invitee != nil {
			if _, ok := st.Member(invitee.acct.ID); ok {
				return st, nil, nil, ErrAlreadyMember
			}
		}
		var events []Event
		for i, old := range st.Invitations {
			if old.Status == InvitationPending && sameInvitee(old, inv) {
				st.Invitations[i].Status, st.Invitations[i].DoneAt = InvitationRevoked, now
				events = append(events, Event{OrgID: orgID, At: now, Actor: actor, Action: EventInvitationRevoked, Subject: old.Label})
			}
		}
		var out idp.Outgoing
		var err error
		data := map[string]string{"OrgName": st.Org.Name, "InviterName": inviter.name, "ValidHours": validHours}
		if invitee != nil {
			data["Name"] = invitee.name
			data["Link"] = s.cfg.BaseURL + "/orgs/invitations?token=" + tok
			out, err = s.mail(invitee.email, invitee.acct.Locale, MailInvitation, data)
		} else {
			data["Link"] = s.cfg.BaseURL + "/register"
			out, err = s.mail(email, inviter.acct.Locale, MailInvitationRegister, data)
		}
		if err != nil {
			return st, nil, nil, err
		}
		st.Invitations = append(st.Invitations, inv)
		events = append(events, Event{OrgID: orgID, At: now, Actor: actor, Action: EventInvited, Subject: inv.Label, Detail: inv.Role})
		return st, events, []idp.Outgoing{out}, nil
	})
	if err != nil {
		return s.orgErr(err)
	}
	return nil
}

// sameInvitee reports whether two invitations address the same person.
func sameInvitee(a, b Invitation) bool {
	if a.AccountID != "" && a.AccountID == b.AccountID {
		return true
	}
	return len(a.EmailIndex) > 0 && hmac.Equal(a.EmailIndex, b.EmailIndex)
}

// addressedTo reports whether the invitation is for this account: by
// account, or by the blind index of the account's e-mail address.
func addressedTo(inv Invitation, a idp.Account) bool {
	if inv.AccountID != "" {
		return inv.AccountID == a.ID
	}
	return len(inv.EmailIndex) > 0 && hmac.Equal(inv.EmailIndex, a.EmailIndex)
}

// InvitationByToken returns the open invitation of an e-mailed link if it
// is addressed to the actor. Throttled per account and IP address; every
// failure is ErrInvitationInvalid.
func (s *Service) InvitationByToken(ctx context.Context, actor, token, ip string) (InvitationWithOrg, error) {
	if err := s.allow(ctx, []idp.Rule{s.cfg.Limits.TokenPerActor, s.cfg.Limits.TokenPerIP}, []string{actor, ip}); err != nil {
		return InvitationWithOrg{}, err
	}
	if token == "" || len(token) > 100 {
		return InvitationWithOrg{}, ErrInvitationInvalid
	}
	inv, err := s.store.GetInvitationByHash(ctx, idp.HashToken(token))
	if errors.Is(err, idp.ErrNotFound) {
		return InvitationWithOrg{}, ErrInvitationInvalid
	}
	if err != nil {
		return InvitationWithOrg{}, err
	}
	a, err := s.idp.Account(ctx, actor)
	if err != nil {
		return InvitationWithOrg{}, fmt.Errorf("load account: %w", err)
	}
	if !inv.Open(s.Now()) || !addressedTo(inv, a) {
		return InvitationWithOrg{}, ErrInvitationInvalid
	}
	st, err := s.store.GetOrg(ctx, inv.OrgID)
	if err != nil {
		return InvitationWithOrg{}, err
	}
	return InvitationWithOrg{Invitation: inv, Org: st.Org}, nil
}

// Respond accepts or declines an open invitation addressed to the actor.
// An invitation whose inviter is no longer an admin is void. Every
// failure (unknown, expired, used, revoked, someone else's) is
// ErrInvitationInvalid; ErrAlreadyMember if the actor joined meanwhile.
func (s *Service) Respond(ctx context.Context, actor, invitationID string, accept bool) (Organisation, error) {
	inv, err := s.store.GetInvitation(ctx, invitationID)
	if errors.Is(err, idp.ErrNotFound) {
		return Organisation{}, ErrInvitationInvalid
	}
	if err != nil {
		return Organisation{}, err
	}
	a, err := s.idp.Account(ctx, actor)
	if err != nil {
		return Organisation{}, fmt.Errorf("load account: %w", err)
	}
	st, err := s.store.UpdateOrg(ctx, inv.OrgID, func(st OrgState) (OrgState, []Event, []idp.Outgoing, error) {
		now := s.Now()
		i := slices.IndexFunc(st.Invitations, func(x Invitation) bool { return x.ID == invitationID })
		if i < 0 || !st.Invitations[i].Open(now) || !addressedTo(st.Invitations[i], a) {
			return st, nil, nil, ErrInvitationInvalid
		}
		cur := st.Invitations[i]
		if by, ok := st.Member(cur.InvitedBy); !ok || !by.IsAdmin() {
			return st, nil, nil, ErrInvitationInvalid
		}
		if _, ok := st.Member(actor); ok && accept {
			return st, nil, nil, ErrAlreadyMember
		}
		st.Invitations[i].DoneAt = now
		if !accept {
			st.Invitations[i].Status = InvitationDeclined
			return st, []Event{{OrgID: st.Org.ID, At: now, Actor: actor, Action: EventDeclined, Subject: actor}}, nil, nil
		}
		st.Invitations[i].Status = InvitationAccepted
		st.Members = append(st.Members, Membership{OrgID: st.Org.ID, AccountID: actor, Roles: []string{cur.Role},
			CreatedAt: now, UpdatedAt: now})
		return st, []Event{{OrgID: st.Org.ID, At: now, Actor: actor, Action: EventAccepted, Subject: actor, Detail: cur.Role}}, nil, nil
	})
	if errors.Is(err, idp.ErrNotFound) {
		return Organisation{}, ErrInvitationInvalid
	}
	if err != nil {
		return Organisation{}, err
	}
	return st.Org, nil
}

// RevokeInvitation withdraws a pending invitation (admins only).
func (s *Service) RevokeInvitation(ctx context.Context, actor, orgID, invitationID string) error {
	_, err := s.store.UpdateOrg(ctx, orgID, func(st OrgState) (OrgState, []Event, []idp.Outgoing, error) {
		if err := requireAdmin(st, actor); err != nil {
			return st, nil, nil, err
		}
		i := slices.IndexFunc(st.Invitations, func(x Invitation) bool { return x.ID == invitationID })
		if i < 0 {
			return st, nil, nil, ErrInvitationInvalid
		}
		now := s.Now()
		st.Invitations[i].Status, st.Invitations[i].DoneAt = InvitationRevoked, now
		return st, []Event{{OrgID: orgID, At: now, Actor: actor, Action: EventInvitationRevoked, Subject: st.Invitations[i].Label}}, nil, nil
	})
	return s.orgErr(err)
}

// revokeInvitationsBy revokes the pending invitations an account sent,
// when it loses admin rights or leaves.
func revokeInvitationsBy(st *OrgState, accountID, actor string, now time.Time) []Event {
	var ev []Event
	for i, inv := range st.Invitations {
		if inv.InvitedBy == accountID && inv.Status == InvitationPending {
			st.Invitations[i].Status, st.Invitations[i].DoneAt = InvitationRevoked, now
			ev = append(ev, Event{OrgID: st.Org.ID, At: now, Actor: actor, Action: EventInvitationRevoked, Subject: inv.Label})
		}
	}
	return ev
}
