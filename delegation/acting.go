package delegation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kanton/kundencenter/idp"
)

var _ idp.ActingResolver = (*Service)(nil)

// ErrActingDenied means the account may not (or no longer) act as asked
// at the service.
var ErrActingDenied = errors.New("acting for someone else is not allowed here")

// ActingChoices lists the organisations and represented persons accountID
// may act for at clientID now: the login's "Für wen handeln Sie?".
// Organisations come first, then persons, each by name.
func (s *Service) ActingChoices(ctx context.Context, accountID, clientID string) ([]idp.ActingChoice, error) {
	orgs, err := s.Choices(ctx, accountID, clientID)
	if err != nil {
		return nil, err
	}
	reps, err := s.RepChoices(ctx, accountID, clientID)
	if err != nil {
		return nil, err
	}
	out := make([]idp.ActingChoice, 0, len(orgs)+len(reps))
	for _, c := range orgs {
		out = append(out, idp.ActingChoice{Acting: idp.Acting{Kind: idp.ActingOrganisation, ID: c.Org.ID},
			Name: c.Org.Name, Detail: c.Org.UID, Roles: c.Roles})
	}
	for _, c := range reps {
		detail := ""
		if !c.ValidUntil.IsZero() {
			// ValidUntil is exclusive (the start of the day after the end
			// date); show the last valid day.
			detail = c.ValidUntil.Add(-time.Second).In(zurich).Format("02.01.2006")
		}
		out = append(out, idp.ActingChoice{Acting: idp.Acting{Kind: idp.ActingPerson, ID: c.RepresentationID},
			Name: c.Principal.Name, Detail: detail})
	}
	return out, nil
}

// Represents checks that accountID may still act as a at clientID and
// returns the "represents" claim that service (and only that service)
// receives:
//
//	organisation: {"kind":"organisation","id":…,"name":…,"uid":…,"roles":[…]}
//	person:       {"kind":"person","sub":…,"name":…,"representation":…}
//
// where a person's "sub" is the represented person's subject at the
// service. Token issuance, refresh, userinfo and introspection call it, so
// an ended membership or representation stops at once.
func (s *Service) Represents(ctx context.Context, accountID, clientID string, a idp.Acting) (map[string]any, error) {
	switch a.Kind {
	case idp.ActingOrganisation:
		d, err := s.MayAct(ctx, accountID, a.ID, clientID)
		if err != nil {
			return nil, err
		}
		if !d.Allowed {
			return nil, ErrActingDenied
		}
		claim := map[string]any{"kind": idp.ActingOrganisation, "id": d.Org.ID, "name": d.Org.Name, "roles": d.Roles}
		if d.Org.UID != "" {
			claim["uid"] = d.Org.UID
		}
		return claim, nil
	case idp.ActingPerson:
		// By ID, not through RepChoices: that list keeps one representation
		// per principal, and an older one that is still active must keep
		// its grants.
		r, err := s.store.GetRepresentation(ctx, a.ID)
		if errors.Is(err, idp.ErrNotFound) {
			return nil, ErrActingDenied
		}
		if err != nil {
			return nil, err
		}
		if r.RepresentativeID != accountID || !r.Active(s.Now()) || !r.Covers(clientID) {
			return nil, ErrActingDenied
		}
		p := s.personRef(ctx, r.PrincipalID)
		return map[string]any{"kind": idp.ActingPerson, "sub": p.AccountID, "name": p.Name, "representation": r.ID}, nil
	}
	return nil, fmt.Errorf("%w: unknown kind %q", ErrActingDenied, a.Kind)
}

// ActingUsed records a login that acts for a represented person in the
// representation's history ("used at service X"); organisations keep no
// such record.
func (s *Service) ActingUsed(ctx context.Context, accountID, clientID string, a idp.Acting) error {
	if a.Kind != idp.ActingPerson {
		return nil
	}
	return s.RecordUse(ctx, a.ID, clientID)
}
