package provider

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/kanton/kundencenter/idp"
)

// The token side of op.Storage: access and refresh tokens (issuance,
// rotation with reuse detection, revocation) and the grants behind them.

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
	// A refresh grant's acting context and profile were checked a moment
	// ago by TokenRequestByRefreshToken, in this request: not again.
	if r, ok := req.(*refreshRequest); !ok || !r.checked || info.profile == "" {
		if _, err := s.p.represents(ctx, info.accountID, info.clientID, info.acting); err != nil {
			return "", "", time.Time{}, err
		}
		if err := s.p.resolveProfile(ctx, &info); err != nil {
			return "", "", time.Time{}, err
		}
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
	sub, err := s.p.subjectFor(ctx, t.ClientID, t.AccountID)
	if err != nil {
		return nil, err
	}
	return &refreshRequest{t: t, scopes: t.Scopes, sub: sub, checked: true}, nil
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

// refreshRequest is a refresh grant's token request.
type refreshRequest struct {
	t      idp.RefreshToken
	scopes []string
	sub    string // the account's subject as the client sees it
	// checked: the account, acting context and profile were checked when
	// the token was looked up (TokenRequestByRefreshToken).
	checked bool
}

func (r *refreshRequest) GetAMR() []string                 { return r.t.AMR }
func (r *refreshRequest) GetAudience() []string            { return r.t.Audience }
func (r *refreshRequest) GetAuthTime() time.Time           { return r.t.AuthTime }
func (r *refreshRequest) GetClientID() string              { return r.t.ClientID }
func (r *refreshRequest) GetScopes() []string              { return r.scopes }
func (r *refreshRequest) GetSubject() string               { return r.sub }
func (r *refreshRequest) SetCurrentScopes(scopes []string) { r.scopes = scopes }

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
