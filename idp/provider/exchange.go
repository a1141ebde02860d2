package provider

import (
	"context"
	"slices"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/kanton/kundencenter/idp"
)

// TokenExchange issues a representation token (RFC 8693 §2): a service
// holding the access token of a representative R who logged in acting for
// a person P exchanges it for an access token for exactly one audience
// (its own API or another service) with sub = P and act = {sub: R}, both
// as the audience knows them (its pairwise subjects, subjects.go).
//
// The library's own pipeline accepts too much for this (any audience, no
// revocation or client binding of the subject token), so the whole grant
// is decided here:
//   - only confidential clients that were given the grant;
//   - the subject token is one of our live access tokens (opaque or JWT),
//     issued to the requesting client, acting for a represented person;
//   - actor tokens are refused (the actor is the subject token's holder);
//   - exactly one audience (audience or resource), a registered client,
//     else invalid_target;
//   - the representation covers that audience now;
//   - only an access token is issued, short-lived, never a refresh token;
//     introspection checks the representation again on every call.
func (s *server) TokenExchange(ctx context.Context, r *op.ClientRequest[oidc.TokenExchangeRequest]) (*op.Response, error) {
	c, ok := r.Client.(*client)
	if !ok || !c.allows(idp.GrantTokenExchange) {
		return nil, oidc.ErrUnauthorizedClient().WithDescription("token exchange not allowed for this client")
	}
	if c.c.Public {
		return nil, oidc.ErrUnauthorizedClient().WithDescription("token exchange needs a confidential client")
	}
	d := r.Data
	if d.SubjectTokenType != oidc.AccessTokenType {
		return nil, oidc.ErrInvalidRequest().WithDescription("subject_token_type must be urn:ietf:params:oauth:token-type:access_token")
	}
	if d.RequestedTokenType != "" && d.RequestedTokenType != oidc.AccessTokenType {
		return nil, oidc.ErrInvalidRequest().WithDescription("only access tokens are issued by token exchange")
	}
	if d.ActorToken != "" || d.ActorTokenType != "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("actor_token is not supported: the actor is the holder of the subject token")
	}
	targets := slices.Concat(d.Audience, d.Resource)
	slices.Sort(targets)
	targets = slices.Compact(targets)
	if len(targets) != 1 {
		return nil, oidc.ErrInvalidTarget().WithDescription("exactly one audience is required")
	}
	target := targets[0]
	if _, err := s.p.clients.Get(ctx, target); err != nil {
		return nil, oidc.ErrInvalidTarget().WithDescription("the audience is not a registered service")
	}

	at, err := s.p.BearerToken(ctx, d.SubjectToken)
	if err != nil {
		return nil, oidc.ErrInvalidGrant().WithDescription("subject_token is not an active access token of this provider")
	}
	if at.ClientID != c.c.ID {
		return nil, oidc.ErrInvalidGrant().WithDescription("the subject token was issued to another client")
	}
	if at.Actor != "" || at.Acting.Kind != idp.ActingPerson {
		return nil, oidc.ErrInvalidGrant().WithDescription("the subject token does not act for a represented person")
	}
	claim, err := s.p.actingClaim(ctx, at.AccountID, target, at.Acting)
	if err != nil {
		return nil, oidc.ErrInvalidGrant().WithDescription("the representation does not cover the audience")
	}
	principal, _ := claim["sub"].(string)
	if principal == "" {
		return nil, oidc.ErrServerError().WithDescription("the representation names no person")
	}
	scopes := at.Scopes
	if len(d.Scopes) > 0 {
		scopes = slices.DeleteFunc(slices.Clone(d.Scopes), func(sc string) bool { return !slices.Contains(at.Scopes, sc) })
	}
	scopes = slices.DeleteFunc(scopes, func(sc string) bool { return sc == oidc.ScopeOfflineAccess || sc == oidc.ScopeOpenID })

	// The token is for the audience's API: sub is P as the audience knows
	// them (and introspection gives act.sub as R at the audience).
	sub, err := s.p.subjectFor(ctx, target, principal)
	if err != nil {
		return nil, err
	}
	now := s.p.now()
	t := idp.AccessToken{ID: idp.NewID(), ClientID: c.c.ID, Subject: sub, AccountID: principal, Actor: at.AccountID,
		Acting: at.Acting, Scopes: scopes, Audience: []string{target}, IssuedAt: now, Expiry: now.Add(s.p.cfg.ExchangeTTL),
		AuthTime: at.AuthTime, AMR: at.AMR, ACR: at.ACR}
	if err := s.p.idp.PutAccessToken(ctx, t); err != nil {
		return nil, err
	}
	token, err := op.CreateBearerToken(t.ID, t.Subject, s.p.op.Crypto())
	if err != nil {
		return nil, err
	}
	s.p.idp.Audit(ctx, at.AccountID, "token.exchanged", principal, "client="+c.c.ID+" audience="+target+" representation="+at.Acting.ID)
	return op.NewResponse(&oidc.TokenExchangeResponse{
		AccessToken:     token,
		IssuedTokenType: oidc.AccessTokenType,
		TokenType:       oidc.BearerToken,
		ExpiresIn:       uint64(s.p.cfg.ExchangeTTL.Seconds()),
		Scopes:          scopes,
	}), nil
}

// BearerToken returns the live access-token record behind an opaque or
// JWT access token of this provider: idp.ErrNotFound for anything else
// (unknown, expired, revoked, forged), for the IdP's own APIs and token
// exchange.
func (p *Provider) BearerToken(ctx context.Context, token string) (idp.AccessToken, error) {
	var id, subject string
	if strings.Count(token, ".") == 2 {
		claims, err := op.VerifyAccessToken[*oidc.AccessTokenClaims](ctx, token, p.op.AccessTokenVerifier(ctx))
		if err != nil {
			return idp.AccessToken{}, idp.ErrNotFound
		}
		id, subject = claims.JWTID, claims.Subject
	} else {
		plain, err := p.op.Crypto().Decrypt(token)
		if err != nil {
			return idp.AccessToken{}, idp.ErrNotFound
		}
		var ok bool
		if id, subject, ok = strings.Cut(plain, ":"); !ok {
			return idp.AccessToken{}, idp.ErrNotFound
		}
	}
	t, err := p.idp.AccessToken(ctx, id)
	if err == nil && t.Subject != subject {
		return idp.AccessToken{}, idp.ErrNotFound
	}
	return t, err
}
