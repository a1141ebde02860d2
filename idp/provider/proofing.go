package provider

import (
	"context"
	"slices"

	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// ScopeProofing asks for what upstream identity providers (SwissID, AGOV)
// vouched for about the person: ClaimProofing, the identity-proofing level
// (one of the idp.Proofing* URNs), and "birthdate" (OIDC Core 1.0 §5.1),
// set only when a provider verified it against an identity document.
// Both are absent when no linked login says anything. Identity proofing is
// kept apart from the authentication level in "acr": a person can log in
// with two factors and a self-declared identity, or the reverse.
const ScopeProofing = "urn:kundencenter:scope:proofing"

// ClaimProofing is the identity-proofing claim of ScopeProofing.
const ClaimProofing = "urn:kundencenter:proofing"

// fillProofing adds the proofing claims when the scope asks for them.
func (p *Provider) fillProofing(ctx context.Context, u *oidc.UserInfo, subject string, scopes []string) error {
	if !slices.Contains(scopes, ScopeProofing) {
		return nil
	}
	pr, err := p.idp.AccountProofing(ctx, subject)
	if err != nil {
		return err
	}
	if pr.Level != "" {
		u.AppendClaims(ClaimProofing, pr.Level)
	}
	if pr.BirthDate != "" {
		u.Birthdate = pr.BirthDate
	}
	return nil
}
