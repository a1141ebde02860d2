package provider

import (
	"context"
	"errors"
	"maps"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/kanton/kundencenter/idp"
)

// Subjects per client (OIDC Core §8): a public client sees the account ID
// as "sub", a pairwise client the value of its sector (idp/subjects.go).
// The token requests carry the account (AuthRequest.Subject,
// idp.RefreshToken.AccountID, idp.AccessToken.AccountID) and answer
// GetSubject with the client's subject, so that every token the library
// builds (ID token, JWT and opaque access tokens, userinfo) names the
// person as that client knows them. Everything a client sends back
// (id_token_hint, the notification API's recipient, an action receipt's
// actor) is mapped back with AccountForSubject.

// subjectFor returns accountID's subject as the client clientID sees it.
func (p *Provider) subjectFor(ctx context.Context, clientID, accountID string) (string, error) {
	c, err := p.clients.Get(ctx, clientID)
	if err != nil {
		noteOutage(ctx, err)
		return "", err
	}
	sub, err := p.idp.SubjectFor(ctx, c.c, accountID)
	if err != nil {
		noteOutage(ctx, err)
		return "", err
	}
	return sub, nil
}

// AccountForSubject returns the account behind a subject that the client
// clientID sent back; idp.ErrNotFound if that client was never given it.
func (p *Provider) AccountForSubject(ctx context.Context, clientID, sub string) (string, error) {
	c, err := p.clients.Get(ctx, clientID)
	if err != nil {
		return "", err
	}
	return p.idp.AccountForSubject(ctx, c.c, sub)
}

// hintAccount maps the subject of a verified id_token_hint sent by the
// client clientID to the account; "" without a hint. A pairwise subject
// the client was never given is refused: the hint was not issued to it.
func (p *Provider) hintAccount(ctx context.Context, clientID, sub string) (string, error) {
	if sub == "" {
		return "", nil
	}
	account, err := p.AccountForSubject(ctx, clientID, sub)
	if errors.Is(err, idp.ErrNotFound) {
		return "", oidc.ErrInvalidRequest().WithDescription("id_token_hint was not issued to this client")
	}
	return account, err
}

// representsFor returns the "represents" claim as clientID receives it:
// a represented person's "sub" (the account ID in the acting resolver's
// claim) becomes that person's subject at the client. The claim of an
// organisation is unchanged.
func (p *Provider) representsFor(ctx context.Context, clientID string, claim map[string]any) (map[string]any, error) {
	account, ok := claim["sub"].(string)
	if claim == nil || !ok || account == "" {
		return claim, nil
	}
	sub, err := p.subjectFor(ctx, clientID, account)
	if err != nil {
		return nil, err
	}
	out := maps.Clone(claim)
	out["sub"] = sub
	return out, nil
}
