package provider

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

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
	a := &AuthRequest{
		RequiredACR: required,
		ID:          idp.NewID(), CreatedAt: s.p.now(), ClientID: r.ClientID, RedirectURI: r.RedirectURI,
		State: r.State, Nonce: r.Nonce, Scopes: r.Scopes, ResponseType: string(r.ResponseType),
		ResponseMode: string(r.ResponseMode), CodeChallenge: r.CodeChallenge,
		CodeChallengeMethod: string(r.CodeChallengeMethod), Prompt: r.Prompt, MaxAge: r.MaxAge,
		LoginHint: r.LoginHint, UILocales: locales, ACRValues: r.ACRValues, HintSubject: hintSubject,
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

// tokenInfo is what every token request kind tells about the grant.
type tokenInfo struct {
	accountID, clientID, sessionID string
	scopes, audience, amr          []string
	acr                            string
	authTime                       time.Time
	acting                         idp.Acting
	profile                        string // the profile the client sees (idp/profiles.go)
}

func infoOf(req op.TokenRequest) (tokenInfo, error) {
	switch r := req.(type) {
	case *AuthRequest:
		return tokenInfo{accountID: r.Subject, clientID: r.ClientID, sessionID: r.SessionID, scopes: r.Scopes,
			audience: r.GetAudience(), amr: r.AMR, acr: r.ACR, authTime: r.AuthTime, acting: r.Acting, profile: r.Profile}, nil
	case *refreshRequest:
		t := r.t
		return tokenInfo{accountID: t.AccountID, clientID: t.ClientID, sessionID: t.SessionID, scopes: r.scopes,
			audience: t.Audience, amr: t.AMR, acr: t.ACR, authTime: t.AuthTime, acting: t.Acting, profile: t.Profile}, nil
	case *clientCredentialsRequest:
		return tokenInfo{clientID: r.clientID, scopes: r.scopes, audience: r.audience}, nil
	}
	return tokenInfo{}, fmt.Errorf("unsupported token request %T", req)
}

// CreateAccessToken records an access token (code flow without
// offline_access, client credentials).
func (s storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	info, err := infoOf(req)
	if err != nil {
		return "", time.Time{}, err
	}
	if _, err := s.p.represents(ctx, info.accountID, info.clientID, info.acting); err != nil {
		return "", time.Time{}, err
	}
	if err := s.p.resolveProfile(ctx, &info); err != nil {
		return "", time.Time{}, err
	}
	id, exp, err := s.p.issueAccessToken(ctx, req.GetSubject(), info, "")
	if err == nil {
		s.p.recordIssued(ctx, req, id, "")
	}
	return id, exp, err
}

func (p *Provider) issueAccessToken(ctx context.Context, subject string, info tokenInfo, family string) (string, time.Time, error) {
	now := p.now()
	t := idp.AccessToken{ID: idp.NewID(), ClientID: info.clientID, Subject: subject, AccountID: info.accountID, SessionID: info.sessionID,
		Scopes: info.scopes, Audience: info.audience, IssuedAt: now, Expiry: now.Add(p.cfg.AccessTokenTTL),
		AuthTime: info.authTime, AMR: info.amr, ACR: info.acr, FamilyID: family, Acting: info.acting, Profile: info.profile}
	if err := p.idp.PutAccessToken(ctx, t); err != nil {
		return "", time.Time{}, err
	}
	return t.ID, t.Expiry, nil
}

// CreateAccessAndRefreshTokens issues an access token with a new refresh
// token: a new family for a code grant, or the rotation of the presented
// token for a refresh grant (OAuth 2.0 Security BCP §4.14.2: reuse of a
// rotated token revokes the whole family).
func (s storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	info, err := infoOf(req)
	if err != nil {
		return "", "", time.Time{}, err
	}
	if _, err := s.p.represents(ctx, info.accountID, info.clientID, info.acting); err != nil {
		return "", "", time.Time{}, err
	}
	if err := s.p.resolveProfile(ctx, &info); err != nil {
		return "", "", time.Time{}, err
	}
	now := s.p.now()
	value, hash := newRefreshValue()
	var rt idp.RefreshToken
	if current == "" {
		rt = idp.RefreshToken{ID: idp.NewID(), Hash: hash, FamilyID: idp.NewID(), ClientID: info.clientID,
			AccountID: info.accountID, SessionID: info.sessionID, Scopes: info.scopes, Audience: info.audience,
			AuthTime: info.authTime, AMR: info.amr, ACR: info.acr, Acting: info.acting, Profile: info.profile, CreatedAt: now,
			ExpiresAt: now.Add(s.p.cfg.RefreshTokenTTL)}
		if err := s.p.store.CreateRefreshToken(ctx, rt); err != nil {
			return "", "", time.Time{}, fmt.Errorf("store refresh token: %w", err)
		}
	} else {
		// The access token is stored first: if the ephemeral store fails,
		// nothing is rotated and the client's retry with the same refresh
		// token succeeds. (A failure after the rotation is covered by
		// idp.RefreshRetryWindow.)
		family := ""
		if r, ok := req.(*refreshRequest); ok {
			family = r.t.FamilyID
		}
		atID, exp, err := s.p.issueAccessToken(ctx, req.GetSubject(), info, family)
		if err != nil {
			return "", "", time.Time{}, err
		}
		_, err = s.p.store.RotateRefreshToken(ctx, idp.HashToken(current), now, func(old idp.RefreshToken) idp.RefreshToken {
			rt = old
			rt.ID, rt.Hash, rt.CreatedAt, rt.UsedAt, rt.RevokedAt = idp.NewID(), hash, now, time.Time{}, time.Time{}
			rt.Scopes = info.scopes // a refresh may narrow the scopes (RFC 6749 §6)
			return rt
		})
		if errors.Is(err, idp.ErrReused) {
			// The store revoked the refresh family; its access tokens too.
			if old, err := s.p.store.GetRefreshToken(ctx, idp.HashToken(current)); err == nil {
				if err := s.p.revokeGrant(ctx, old.FamilyID, false); err != nil {
					return "", "", time.Time{}, err
				}
			}
			s.p.log.WarnContext(ctx, "refresh token reuse detected; family revoked", "client_id", info.clientID)
			return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("refresh token already used; the grant has been revoked")
		}
		if err != nil {
			_ = s.p.idp.DiscardAccessToken(ctx, atID)
		}
		if errors.Is(err, idp.ErrNotFound) {
			return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("refresh token is invalid or expired")
		}
		if err != nil {
			return "", "", time.Time{}, fmt.Errorf("rotate refresh token: %w", err)
		}
		return atID, value, exp, nil
	}
	atID, exp, err := s.p.issueAccessToken(ctx, req.GetSubject(), info, rt.FamilyID)
	if err != nil {
		return "", "", time.Time{}, err
	}
	s.p.recordIssued(ctx, req, atID, rt.FamilyID)
	return atID, value, exp, nil
}

// TokenRequestByRefreshToken looks the presented refresh token up. A token
// that was already rotated is a reuse: the family is revoked.
func (s storage) TokenRequestByRefreshToken(ctx context.Context, value string) (op.RefreshTokenRequest, error) {
	t, err := s.p.store.GetRefreshToken(ctx, idp.HashToken(value))
	if errors.Is(err, idp.ErrNotFound) {
		return nil, oidc.ErrInvalidGrant().WithDescription("refresh token is invalid or expired")
	}
	if err != nil {
		noteOutage(ctx, err)
		return nil, err
	}
	now := s.p.now()
	// A token rotated moments ago may be a retry after a lost response;
	// RotateRefreshToken allows that once and treats anything else as reuse.
	if !t.UsedAt.IsZero() && now.Sub(t.UsedAt) > idp.RefreshRetryWindow {
		if err := s.p.revokeGrant(ctx, t.FamilyID, true); err != nil {
			return nil, err
		}
		s.p.log.WarnContext(ctx, "refresh token reuse detected; family revoked", "client_id", t.ClientID)
		return nil, oidc.ErrInvalidGrant().WithDescription("refresh token already used; the grant has been revoked")
	}
	if !t.RevokedAt.IsZero() || !now.Before(t.ExpiresAt) {
		return nil, oidc.ErrInvalidGrant().WithDescription("refresh token is invalid or expired")
	}
	a, err := s.p.store.GetAccount(ctx, t.AccountID)
	if noteOutage(ctx, err) {
		return nil, err
	}
	if err != nil || a.Status != idp.StatusActive {
		return nil, oidc.ErrInvalidGrant().WithDescription("account is not active")
	}
	// A grant acting for an organisation or a represented person ends with
	// the membership, service assignment or representation.
	if _, err := s.p.represents(ctx, t.AccountID, t.ClientID, t.Acting); err != nil {
		return nil, err
	}
	// A grant showing a profile ends with that profile: the service must
	// not see another one instead.
	// A deleted profile revokes the refresh tokens that carry it (the
	// stores' DeleteProfile); a rotation racing with the deletion is caught
	// here (one query, no decryption).
	if t.Profile != "" {
		if _, err := s.p.idp.ProfileIDForToken(ctx, t.AccountID, t.Profile); err != nil {
			return nil, oidc.ErrInvalidGrant().WithDescription("the profile chosen at login no longer exists")
		}
	}
	return &refreshRequest{t: t, scopes: t.Scopes}, nil
}

// TerminateSession is not used: TerminateSessionFromRequest takes over.
func (s storage) TerminateSession(ctx context.Context, userID, clientID string) error { return nil }

// TerminateSessionFromRequest hands RP-initiated logout (OpenID Connect
// RP-Initiated Logout 1.0 §2) to the login UI, which can clear the browser's
// session cookie; the library's end_session has no access to it.
func (s storage) TerminateSessionFromRequest(ctx context.Context, r *op.EndSessionRequest) (string, error) {
	return s.p.startLogout(ctx, r)
}

// RevokeToken revokes an access token or a refresh-token family (RFC 7009 §2.1).
func (s storage) RevokeToken(ctx context.Context, tokenOrID, userID, clientID string) *oidc.Error {
	if ref, ok := strings.CutPrefix(tokenOrID, familyPrefix); ok {
		// Only a reference made by GetRefreshTokenInfo for this client
		// (the library passes undecodable values through as they are).
		family, mac, _ := strings.Cut(ref, ".")
		if !hmac.Equal([]byte(mac), []byte(s.p.familyMAC(clientID, family))) {
			return nil // RFC 7009 §2.2: an invalid token is not an error
		}
		if err := s.p.revokeGrant(ctx, family, true); err != nil {
			return oidc.ErrServerError().WithParent(err)
		}
		return nil
	}
	t, err := s.p.idp.AccessToken(ctx, tokenOrID)
	if errors.Is(err, idp.ErrNotFound) {
		return nil // RFC 7009 §2.2: invalid tokens are not an error
	}
	if err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	if t.ClientID != clientID {
		// The client authenticated; the token is simply not its own.
		return oidc.ErrInvalidRequest().WithDescription("token was issued to another client")
	}
	if err := s.p.idp.RevokeAccessToken(ctx, tokenOrID); err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	return nil
}

const familyPrefix = "rtfam_"

// GetRefreshTokenInfo tells the revocation endpoint that a token is a
// refresh token of this client; revoking it revokes its family.
func (s storage) GetRefreshTokenInfo(ctx context.Context, clientID, value string) (string, string, error) {
	t, err := s.p.store.GetRefreshToken(ctx, idp.HashToken(value))
	if err != nil || t.ClientID != clientID {
		return "", "", op.ErrInvalidRefreshToken
	}
	return t.AccountID, familyPrefix + t.FamilyID + "." + s.p.familyMAC(clientID, t.FamilyID), nil
}

// familyMAC binds a refresh family reference to the client that may revoke it.
func (p *Provider) familyMAC(clientID, family string) string {
	m := hmac.New(sha256.New, p.cfg.CryptoKey[:])
	m.Write([]byte("refresh-family\x00" + clientID + "\x00" + family))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
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

// SetUserinfoFromScopes is deprecated by the library; SetUserinfoFromRequest is used.
func (s storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest fills the ID token's claims; acr is set here too
// because the library sets it only for code-grant ID tokens.
func (s storage) SetUserinfoFromRequest(ctx context.Context, u *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	var profile string
	switch r := req.(type) {
	case *AuthRequest:
		profile = r.Profile
	case *refreshRequest:
		profile = r.t.Profile
	}
	if err := s.p.fillUserinfo(ctx, u, req.GetSubject(), profile, scopes); err != nil {
		return err
	}
	if r, ok := req.(*refreshRequest); ok && r.t.ACR != "" {
		u.AppendClaims("acr", r.t.ACR)
	}
	addSID(u, req) // logouttoken.go
	var acting idp.Acting
	switch r := req.(type) {
	case *AuthRequest:
		acting = r.Acting
	case *refreshRequest:
		acting = r.t.Acting
	}
	claim, err := s.p.represents(ctx, req.GetSubject(), req.GetClientID(), acting)
	if err != nil {
		return err
	}
	if claim != nil {
		u.AppendClaims("represents", claim)
	}
	return nil
}

// SetUserinfoFromToken serves the userinfo endpoint (OIDC Core §5.3) for a
// live access token.
func (s storage) SetUserinfoFromToken(ctx context.Context, u *oidc.UserInfo, tokenID, subject, origin string) error {
	t, err := s.p.idp.AccessToken(ctx, tokenID)
	if noteOutage(ctx, err) {
		return err
	}
	if err != nil || t.Subject != subject || t.AccountID == "" || t.Actor != "" {
		// A token from token exchange is for one API, not for userinfo.
		return oidc.ErrAccessDenied().WithDescription("access token is invalid or expired")
	}
	claim, err := s.p.represents(ctx, t.AccountID, t.ClientID, t.Acting)
	if err != nil {
		return oidc.ErrAccessDenied().WithDescription("the organisation or representation has ended")
	}
	if err := s.p.fillUserinfo(ctx, u, subject, t.Profile, t.Scopes); err != nil {
		return err
	}
	if claim != nil {
		u.AppendClaims("represents", claim)
	}
	return nil
}

// SetIntrospectionFromToken answers introspection (RFC 7662 §2.2) for a
// live access token; anything else is inactive.
func (s storage) SetIntrospectionFromToken(ctx context.Context, r *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	t, err := s.p.idp.AccessToken(ctx, tokenID)
	if noteOutage(ctx, err) {
		return err
	}
	if err != nil || t.Subject != subject {
		return oidc.ErrAccessDenied().WithDescription("token is not active")
	}
	// Only the client the token was issued to, or an audience it was issued
	// for, learns about it (RFC 7662 §4: the server decides who may ask).
	if clientID != t.ClientID && !slices.Contains(t.Audience, clientID) {
		return oidc.ErrAccessDenied().WithDescription("token is not active")
	}
	// Acting for someone else is checked at every introspection: the token
	// goes inactive as soon as the membership or representation ends.
	account, client := t.AccountID, t.ClientID
	if t.Actor != "" && len(t.Audience) == 1 {
		account, client = t.Actor, t.Audience[0] // token exchange: R acting for P at the audience
	}
	claim, err := s.p.represents(ctx, account, client, t.Acting)
	if err != nil {
		return oidc.ErrAccessDenied().WithDescription("token is not active")
	}
	r.Active = true
	if t.Actor != "" {
		r.Actor = &oidc.ActorClaims{Subject: t.Actor, Issuer: s.p.cfg.Issuer}
	}
	r.Scope = t.Scopes
	r.ClientID = t.ClientID
	r.TokenType = oidc.BearerToken
	r.Expiration = oidc.FromTime(t.Expiry)
	r.IssuedAt = oidc.FromTime(t.IssuedAt)
	r.NotBefore = oidc.FromTime(t.IssuedAt)
	r.Subject = t.Subject
	r.Audience = t.Audience
	r.Issuer = s.p.cfg.Issuer
	r.JWTID = t.ID
	if t.AccountID != "" {
		r.AuthTime = oidc.FromTime(t.AuthTime)
		r.AuthenticationMethodsReferences = t.AMR
		r.Claims = map[string]any{}
		if t.ACR != "" {
			r.Claims["acr"] = t.ACR
		}
		if claim != nil {
			r.Claims["represents"] = claim
		}
		if t.Profile != "" {
			r.Claims[idp.ClaimProfile] = t.Profile
		}
	}
	return nil
}

// GetPrivateClaimsFromScopes adds nothing: GetPrivateClaimsFromRequest does.
func (s storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// GetPrivateClaimsFromRequest adds what JWT access tokens lack by default
// (scope, acr, amr, auth_time) and a token_use claim so that a resource
// server can tell an access token from an ID token.
func (s storage) GetPrivateClaimsFromRequest(ctx context.Context, req op.TokenRequest, _ []string) (map[string]any, error) {
	info, err := infoOf(req)
	if err != nil {
		return nil, err
	}
	claims := map[string]any{"token_use": "access", "scope": strings.Join(info.scopes, " ")}
	if info.accountID != "" {
		claims["acr"] = info.acr
		claims["amr"] = info.amr
		claims["auth_time"] = info.authTime.Unix()
		claim, err := s.p.represents(ctx, info.accountID, info.clientID, info.acting)
		if err != nil {
			return nil, err
		}
		if claim != nil {
			claims["represents"] = claim
		}
	}
	return claims, nil
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

// refreshRequest is a refresh grant's token request.
type refreshRequest struct {
	t      idp.RefreshToken
	scopes []string
}

func (r *refreshRequest) GetAMR() []string                 { return r.t.AMR }
func (r *refreshRequest) GetAudience() []string            { return r.t.Audience }
func (r *refreshRequest) GetAuthTime() time.Time           { return r.t.AuthTime }
func (r *refreshRequest) GetClientID() string              { return r.t.ClientID }
func (r *refreshRequest) GetScopes() []string              { return r.scopes }
func (r *refreshRequest) GetSubject() string               { return r.t.AccountID }
func (r *refreshRequest) SetCurrentScopes(scopes []string) { r.scopes = scopes }

// clientCredentialsRequest is a service's own token request.
type clientCredentialsRequest struct {
	clientID string
	scopes   []string
	audience []string // the client, then the APIs of the granted scopes
}

func (r *clientCredentialsRequest) GetSubject() string    { return r.clientID }
func (r *clientCredentialsRequest) GetAudience() []string { return r.audience }
func (r *clientCredentialsRequest) GetScopes() []string   { return r.scopes }

// recordIssued remembers with the code's redemption which tokens a code
// grant produced, so that a replay of the code can revoke them.
func (p *Provider) recordIssued(ctx context.Context, req op.TokenRequest, atID, family string) {
	a, ok := req.(*AuthRequest)
	if !ok || a.codeHash == nil {
		return
	}
	if err := p.store.SetCodeTokens(ctx, a.codeHash, atID, family); err != nil {
		p.log.WarnContext(ctx, "record issued tokens", "err", err)
	}
}

// revokeGrant ends a whole grant: the refresh family (unless the store
// has already revoked it) and every access token issued with it.
func (p *Provider) revokeGrant(ctx context.Context, family string, refresh bool) error {
	if refresh {
		if err := p.store.RevokeRefreshFamily(ctx, family, p.now()); err != nil {
			return err
		}
	}
	return p.idp.RevokeFamilyAccessTokens(ctx, family)
}

// revokeIssuedForCode revokes the tokens of a code that is presented again.
func (p *Provider) revokeIssuedForCode(ctx context.Context, hash []byte) {
	rc, err := p.store.RedeemedCode(ctx, hash)
	if err != nil || rc.AccessTokenID == "" {
		return
	}
	_ = p.idp.RevokeAccessToken(ctx, rc.AccessTokenID)
	if rc.FamilyID != "" {
		_ = p.revokeGrant(ctx, rc.FamilyID, true)
	}
	p.log.WarnContext(ctx, "authorization code replayed; its tokens were revoked")
}

// resolveProfile checks the profile a new grant chose at login (it may
// have been deleted since) or names the account's first one, once at
// issuance: its tokens then always carry a profile.
func (p *Provider) resolveProfile(ctx context.Context, info *tokenInfo) error {
	if info.accountID == "" {
		return nil
	}
	id, err := p.idp.ProfileIDForToken(ctx, info.accountID, info.profile)
	if errors.Is(err, idp.ErrNotFound) {
		return oidc.ErrInvalidGrant().WithDescription("the profile chosen at login no longer exists")
	}
	if err != nil {
		return err
	}
	info.profile = id
	return nil
}
