package provider

import (
	"context"
	"time"

	"github.com/kanton/kundencenter/idp"
)

// MintAccessToken issues a short-lived opaque access token for accountID
// with scopes, for the IdP's own server-side calls on the person's behalf
// (the portal overview reads each service's GET /api/v1/summary with
// scope summary:read). The token's client and only audience is the service
// (audience, a client ID), so that service — and no other — can introspect
// it; ttl is capped at the provider's access-token lifetime.
func (p *Provider) MintAccessToken(ctx context.Context, accountID, audience string, scopes []string, ttl time.Duration) (string, error) {
	now := p.now()
	if ttl <= 0 || ttl > p.cfg.AccessTokenTTL {
		ttl = p.cfg.AccessTokenTTL
	}
	sub, err := p.subjectFor(ctx, audience, accountID) // the person as the service knows them
	if err != nil {
		return "", err
	}
	t := idp.AccessToken{ID: idp.NewID(), ClientID: audience, Subject: sub, AccountID: accountID,
		Scopes: scopes, Audience: []string{audience}, IssuedAt: now, Expiry: now.Add(ttl)}
	if err := p.idp.PutAccessToken(ctx, t); err != nil {
		return "", err
	}
	return p.op.Crypto().Encrypt(t.ID + ":" + t.Subject)
}

// SetSSOHold makes an SSO login go through the login UI when hold says so
// for the account and client (the portal: a service the account is not yet
// enabled for, whose friendly page the UI shows). Call it before serving.
func (p *Provider) SetSSOHold(hold func(ctx context.Context, accountID, clientID string) bool) {
	p.holdSSO = hold
}
