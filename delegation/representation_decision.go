package delegation

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// PersonRef names the represented person in a decision. What a service
// learns in the "represents" claim is derived from it: the subject
// identifier of AccountID at that service (pairwise), kind "person", Name
// and the representation's ID.
type PersonRef struct {
	AccountID string // the principal's account; never sent to a service as is
	Name      string // given and family name; "" if it cannot be read
}

// RepDecision is the answer to "may this representative act for this
// principal at this service?".
type RepDecision struct {
	Allowed          bool
	RepresentationID string    // "" unless Allowed
	Principal        PersonRef // zero unless Allowed
	ValidUntil       time.Time // end date of the representation, zero if none
}

// RepChoice is one person an account may act for at a service.
type RepChoice struct {
	RepresentationID string
	Principal        PersonRef
	ValidUntil       time.Time
}

// MayRepresent decides whether representativeID may act for principalID
// at the service clientID: only through a representation the principal
// confirmed, that has not ended (revoked, rejected, an account deleted) or
// expired, and that names the service. Everything else — a code not yet
// accepted, an acceptance not yet confirmed, another service — gives
// Allowed == false with a nil error; an error means the question could
// not be answered and must be treated as a refusal.
//
// The login step calls it when the browser submits a choice; token
// issuance, token exchange and introspection call it again, so a
// representation ended in the meantime stops at once.
func (s *Service) MayRepresent(ctx context.Context, representativeID, principalID, clientID string) (RepDecision, error) {
	if representativeID == "" || principalID == "" || clientID == "" || representativeID == principalID {
		return RepDecision{}, nil
	}
	list, err := s.store.ListRepresentations(ctx, representativeID)
	if err != nil {
		return RepDecision{}, fmt.Errorf("may represent: %w", err)
	}
	now := s.Now()
	for _, r := range list {
		if r.RepresentativeID == representativeID && r.PrincipalID == principalID && r.Active(now) && r.Covers(clientID) {
			return RepDecision{Allowed: true, RepresentationID: r.ID, Principal: s.personRef(ctx, r.PrincipalID),
				ValidUntil: r.ValidUntil}, nil
		}
	}
	return RepDecision{}, nil
}

// RepChoices returns the persons representativeID may act for at the
// service clientID ("Für wen handeln Sie?"), ordered by name; none when no
// active representation covers the service, so a service not covered never
// learns of one.
func (s *Service) RepChoices(ctx context.Context, representativeID, clientID string) ([]RepChoice, error) {
	if representativeID == "" || clientID == "" {
		return nil, nil
	}
	list, err := s.store.ListRepresentations(ctx, representativeID)
	if err != nil {
		return nil, fmt.Errorf("representation choices: %w", err)
	}
	now := s.Now()
	var out []RepChoice
	for _, r := range list {
		if r.RepresentativeID == representativeID && r.Active(now) && r.Covers(clientID) &&
			!slices.ContainsFunc(out, func(c RepChoice) bool { return c.Principal.AccountID == r.PrincipalID }) {
			out = append(out, RepChoice{RepresentationID: r.ID, Principal: s.personRef(ctx, r.PrincipalID), ValidUntil: r.ValidUntil})
		}
	}
	slices.SortStableFunc(out, func(a, b RepChoice) int {
		switch {
		case a.Principal.Name < b.Principal.Name:
			return -1
		case a.Principal.Name > b.Principal.Name:
			return 1
		}
		return 0
	})
	return out, nil
}

func (s *Service) personRef(ctx context.Context, accountID string) PersonRef {
	ref := PersonRef{AccountID: accountID}
	if p, err := s.person(ctx, accountID); err == nil {
		ref.Name = p.name
	}
	return ref
}
