package provider

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/kanton/kundencenter/idp"
)

// storage implements op.Storage (and the optional interfaces the provider
// uses) on top of the idp stores. The library calls it from many goroutines.
type storage struct{ p *Provider }

var (
	_ op.Storage                        = storage{}
	_ op.ClientCredentialsStorage       = storage{}
	_ op.CanSetUserinfoFromRequest      = storage{}
	_ op.CanTerminateSessionFromRequest = storage{}
	_ op.CanGetPrivateClaimsFromRequest = storage{}
)

// CreateAuthRequest stores a validated authorize request (OIDC Core
// §3.1.2.1). PKCE S256 is required here for every client; "plain" and
// missing challenges are refused (RFC 7636 §4.2, OAuth 2.1 §4.1.1).
func (s storage) CreateAuthRequest(ctx context.Context, r *oidc.AuthRequest, hintSubject string) (op.AuthRequest, error) {
	if r.ResponseType != oidc.ResponseTypeCode {
		return nil, &oidc.Error{ErrorType: "unsupported_response_type", Description: "only response_type=code is supported"}
	}
	if r.ResponseMode != "" && r.ResponseMode != oidc.ResponseModeQuery {
		return nil, oidc.ErrInvalidRequest().WithDescription("only response_mode=query is supported")
	}
	if r.CodeChallenge == "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE is required: send code_challenge with code_challenge_method=S256")
	}
	if r.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	}
	locales := make([]string, 0, len(r.UILocales))
	for _, l := range r.UILocales {
		locales = append(locales, l.String())
	}
	var required string
	if c, err := s.p.clients.Get(ctx, r.ClientID); err == nil {
		required = c.c.Level
	}
	// The hint names the person as this client knows them.
	hintAccount, err := s.p.hintAccount(ctx, r.ClientID, hintSubject)
	if err != nil {
		return nil, err
	}
	a := &AuthRequest{
		RequiredACR: required,
		ID:          idp.NewID(), CreatedAt: s.p.now(), ClientID: r.ClientID, RedirectURI: r.RedirectURI,
		State: r.State, Nonce: r.Nonce, Scopes: r.Scopes, ResponseType: string(r.ResponseType),
		ResponseMode: string(r.ResponseMode), CodeChallenge: r.CodeChallenge,
		CodeChallengeMethod: string(r.CodeChallengeMethod), Prompt: r.Prompt, MaxAge: r.MaxAge,
		LoginHint: r.LoginHint, UILocales: locales, ACRValues: r.ACRValues, HintSubject: hintAccount,
	}
	if err := s.p.putAuthRequest(ctx, a); err != nil {
		return nil, fmt.Errorf("store auth request: %w", err)
	}
	return a, nil
}

// AuthRequestByID loads a pending request.
func (s storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	a, err := s.p.getAuthRequest(ctx, id)
	if errors.Is(err, idp.ErrNotFound) {
		return nil, oidc.ErrInvalidRequest().WithDescription("unknown or expired authorization request")
	}
	return a, err
}

// AuthRequestByCode consumes a code atomically (single use): of two
// concurrent redemptions one gets the request, the other invalid_grant.
// The redemption is recorded in the database, so a code that Redis
// restores from an old snapshot stays used. A code presented again after
// its redemption also revokes the tokens issued for it (RFC 6749 §4.1.2:
// the code was probably stolen).
func (s storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	hash := idp.HashToken(code)
	id, err := s.p.eph.Take(ctx, codeKey(hash))
	if errors.Is(err, idp.ErrNotFound) {
		s.p.revokeIssuedForCode(ctx, hash)
		return nil, oidc.ErrInvalidGrant().WithDescription("code is invalid, expired or already used")
	}
	if err != nil {
		return nil, err
	}
	_, err = s.p.store.RedeemCode(ctx, idp.RedeemedCode{Hash: hash, AuthRequestID: string(id),
		ExpiresAt: s.p.now().Add(max(s.p.cfg.CodeTTL, s.p.cfg.AccessTokenTTL))})
	if errors.Is(err, idp.ErrReused) {
		s.p.revokeIssuedForCode(ctx, hash)
		return nil, oidc.ErrInvalidGrant().WithDescription("code is invalid, expired or already used")
	}
	if err != nil {
		// Not redeemed: give the code back for a retry after the outage.
		_ = s.p.eph.Set(ctx, codeKey(hash), id, s.p.cfg.CodeTTL)
		return nil, err
	}
	a, err := s.p.getAuthRequest(ctx, string(id))
	if errors.Is(err, idp.ErrNotFound) {
		return nil, oidc.ErrInvalidGrant().WithDescription("code is invalid, expired or already used")
	}
	if err != nil {
		return nil, err
	}
	if !a.Completed {
		return nil, oidc.ErrInvalidGrant()
	}
	if a.sub, err = s.p.subjectFor(ctx, a.ClientID, a.Subject); err != nil {
		return nil, err
	}
	a.codeHash = hash
	return a, nil
}

// SaveAuthCode stores the code (only its hash) with a short lifetime.
func (s storage) SaveAuthCode(ctx context.Context, id, code string) error {
	return s.p.eph.Set(ctx, codeKey(idp.HashToken(code)), []byte(id), s.p.cfg.CodeTTL)
}

// DeleteAuthRequest removes a finished request.
func (s storage) DeleteAuthRequest(ctx context.Context, id string) error {
	return s.p.eph.Delete(ctx, authRequestKey(id))
}

// TerminateSession is not used: TerminateSessionFromRequest takes over.
func (s storage) TerminateSession(ctx context.Context, userID, clientID string) error { return nil }

// TerminateSessionFromRequest hands RP-initiated logout (OpenID Connect
// RP-Initiated Logout 1.0 §2) to the login UI, which can clear the browser's
// session cookie; the library's end_session has no access to it.
func (s storage) TerminateSessionFromRequest(ctx context.Context, r *op.EndSessionRequest) (string, error) {
	return s.p.startLogout(ctx, r)
}

// SigningKey returns the active ES256 key from memory.
func (s storage) SigningKey(context.Context) (op.SigningKey, error) {
	return s.p.keys.SigningKey(), nil
}

// SignatureAlgorithms lists ES256 only.
func (s storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.ES256}, nil
}

// KeySet returns the published keys from memory.
func (s storage) KeySet(context.Context) ([]op.Key, error) { return s.p.keys.KeySet(), nil }

// GetClientByClientID returns a client from the cache.
func (s storage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.p.clients.Get(ctx, id)
	if errors.Is(err, idp.ErrNotFound) {
		return nil, oidc.ErrInvalidClient().WithDescription("unknown client")
	}
	if err != nil {
		noteOutage(ctx, err)
		return nil, err
	}
	return c, nil
}

// AuthorizeClientIDSecret compares the SHA-256 of the presented secret with
// the stored hash in constant time. Client secrets are 256-bit random
// values generated by the admin command, so a fast hash is enough: no
// dictionary exists to attack (a slow hash would only slow the token endpoint).
func (s storage) AuthorizeClientIDSecret(ctx context.Context, id, secret string) error {
	c, err := s.p.clients.Get(ctx, id)
	if noteOutage(ctx, err) {
		return err
	}
	if err != nil {
		return oidc.ErrInvalidClient().WithDescription("client authentication failed")
	}
	if c.c.Public || len(c.c.SecretHash) == 0 || subtle.ConstantTimeCompare(idp.HashToken(secret), c.c.SecretHash) != 1 {
		return oidc.ErrInvalidClient().WithDescription("client authentication failed")
	}
	return nil
}

// ClientCredentials authenticates a client for the client_credentials grant.
func (s storage) ClientCredentials(ctx context.Context, id, secret string) (op.Client, error) {
	if err := s.AuthorizeClientIDSecret(ctx, id, secret); err != nil {
		return nil, err
	}
	c, err := s.p.clients.Get(ctx, id)
	if err != nil {
		return nil, oidc.ErrInvalidClient()
	}
	if !c.allows(idp.GrantClientCredentials) {
		return nil, oidc.ErrUnauthorizedClient().WithDescription("client_credentials grant not allowed for this client")
	}
	return c, nil
}

// ClientCredentialsTokenRequest builds the request for a service's own
// token (RFC 6749 §4.4). Only scopes registered for the client may be
// requested (§5.2 invalid_scope); without a scope parameter the token
// carries no scope (§3.3: the pre-defined default is the empty set), so a
// service always names what it needs. openid and offline_access mean
// nothing here and are dropped. The audience is the client itself plus
// every client that serves a granted scope as its API, so that this API
// can introspect the token.
func (s storage) ClientCredentialsTokenRequest(ctx context.Context, clientID string, scopes []string) (op.TokenRequest, error) {
	c, err := s.p.clients.Get(ctx, clientID)
	if err != nil {
		return nil, oidc.ErrInvalidClient()
	}
	granted := make([]string, 0, len(scopes))
	for _, sc := range scopes {
		switch {
		case sc == oidc.ScopeOpenID || sc == oidc.ScopeOfflineAccess || slices.Contains(granted, sc):
		case !slices.Contains(c.c.Scopes, sc):
			return nil, oidc.ErrInvalidScope().WithDescription("scope %q is not registered for this client", sc)
		default:
			granted = append(granted, sc)
		}
	}
	aud, err := s.p.clients.APIAudience(ctx, clientID, granted)
	if err != nil {
		return nil, err
	}
	return &clientCredentialsRequest{clientID: clientID, scopes: granted, audience: aud}, nil
}

// GetKeyByIDAndClientID: private_key_jwt and JWT profile are not enabled.
func (s storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, oidc.ErrInvalidClient().WithDescription("client keys are not supported")
}

// ValidateJWTProfileScopes: the JWT-bearer grant is not enabled.
func (s storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, oidc.ErrUnsupportedGrantType()
}

// Health reports whether both stores answer.
func (s storage) Health(ctx context.Context) error {
	if err := s.p.store.Ping(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	if err := s.p.eph.Ping(ctx); err != nil {
		return fmt.Errorf("ephemeral store: %w", err)
	}
	return nil
}

// clientCredentialsRequest is a service's own token request.
type clientCredentialsRequest struct {
	clientID string
	scopes   []string
	audience []string // the client, then the APIs of the granted scopes
}

func (r *clientCredentialsRequest) GetSubject() string    { return r.clientID }
func (r *clientCredentialsRequest) GetAudience() []string { return r.audience }
func (r *clientCredentialsRequest) GetScopes() []string   { return r.scopes }
