package delegation

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/kanton/kundencenter/idp"
)

// OrgRef names an organisation in a decision: what a service learns in
// the "represents" claim.
type OrgRef struct {
	ID   string // stable, opaque
	Name string
	UID  string // canonical Swiss business ID, "" if none
}

// Decision is the answer to "may this account act for this organisation
// at this service?".
type Decision struct {
	Allowed bool
	Roles   []string // the member's roles in the organisation; nil unless Allowed
	Org     OrgRef   // zero unless Allowed
}

// Choice is one organisation an account may act for at a service.
type Choice struct {
	Org   OrgRef
	Roles []string
}

func ref(o Organisation) OrgRef { return OrgRef{ID: o.ID, Name: o.Name, UID: o.UID} }

// MayAct decides whether accountID may act for orgID at the service
// clientID, and with which roles: only a current member who was assigned
// that service may. A removed member, an unassigned service, an unknown
// organisation and an invitation that was never accepted (open, expired or
// declined) all give Allowed == false with a nil error; an error means the
// question could not be answered and must be treated as a refusal.
//
// The login step calls it when the browser submits a choice, and token
// issuance and refresh call it again: the browser's choice is never trusted.
func (s *Service) MayAct(ctx context.Context, accountID, orgID, clientID string) (Decision, error) {
	if accountID == "" || orgID == "" || clientID == "" {
		return Decision{}, nil
	}
	m, err := s.store.GetMemberOrg(ctx, orgID, accountID)
	if errors.Is(err, idp.ErrNotFound) {
		return Decision{}, nil
	}
	if err != nil {
		return Decision{}, fmt.Errorf("may act: %w", err)
	}
	if !m.Membership.MayUse(clientID) {
		return Decision{}, nil
	}
	return Decision{Allowed: true, Roles: slices.Clone(m.Membership.Roles), Org: ref(m.Org)}, nil
}

// Choices returns the organisations accountID may act for at the service
// clientID ("Für wen handeln Sie?"), ordered by name; none when the
// account belongs to no organisation that assigned it the service.
func (s *Service) Choices(ctx context.Context, accountID, clientID string) ([]Choice, error) {
	list, err := s.store.ListMemberOrgs(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("choices: %w", err)
	}
	var out []Choice
	for _, m := range list {
		if m.Membership.MayUse(clientID) {
			out = append(out, Choice{Org: ref(m.Org), Roles: slices.Clone(m.Membership.Roles)})
		}
	}
	return out, nil
}
