package provider

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/kanton/kundencenter/idp"
)

// The claims side of op.Storage: what the ID token, userinfo,
// introspection and JWT access tokens say about the person.

// SetUserinfoFromScopes is deprecated by the library; SetUserinfoFromRequest is used.
func (s storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest fills the ID token's claims; acr is set here too
// because the library sets it only for code-grant ID tokens.
func (s storage) SetUserinfoFromRequest(ctx context.Context, u *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	var profile, account string
	switch r := req.(type) {
	case *AuthRequest:
		profile, account = r.Profile, r.Subject
	case *refreshRequest:
		profile, account = r.t.Profile, r.t.AccountID
	}
	if err := s.p.fillUserinfo(ctx, u, req.GetSubject(), account, profile, scopes); err != nil {
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
	claim, err := s.p.represents(ctx, account, req.GetClientID(), acting)
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
	if err := s.p.fillUserinfo(ctx, u, subject, t.AccountID, t.Profile, t.Scopes); err != nil {
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
	var actor string
	if t.Actor != "" {
		// The representative as the audience knows them, like the
		// token's sub (exchange.go).
		if actor, err = s.p.subjectFor(ctx, client, t.Actor); err != nil {
			return err
		}
	}
	r.Active = true
	if actor != "" {
		r.Actor = &oidc.ActorClaims{Subject: actor, Issuer: s.p.cfg.Issuer}
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

// fillUserinfo sets sub (the account's subject at the client, subjects.go)
// and the standard claims the scopes allow (OIDC Core
// §5.4) from the profile the login chose (profiles.go in idp; "" = the
// account's first), and that profile's ID as idp.ClaimProfile. A profile
// deleted since is refused: the service must not see another instead.
func (p *Provider) fillUserinfo(ctx context.Context, u *oidc.UserInfo, sub, accountID, profileID string, scopes []string) error {
	u.Subject = sub
	if err := p.fillProofing(ctx, u, accountID, scopes); err != nil { // proofing.go
		return err
	}
	// Without a scope that asks for profile data only the profile's ID is
	// needed: no account read, nothing to decrypt (the refresh hot path).
	if !slices.ContainsFunc(scopes, func(s string) bool {
		return s == oidc.ScopeProfile || s == oidc.ScopeEmail || s == oidc.ScopeAddress || s == oidc.ScopePhone
	}) {
		if profileID != "" {
			// Checked at login; a deletion revokes the grant.
			u.AppendClaims(idp.ClaimProfile, profileID)
			return nil
		}
		id, err := p.idp.ProfileIDForToken(ctx, accountID, "")
		if errors.Is(err, idp.ErrNotFound) {
			return oidc.ErrAccessDenied().WithDescription("the profile chosen at login no longer exists")
		}
		if err != nil {
			return err
		}
		u.AppendClaims(idp.ClaimProfile, id)
		return nil
	}
	a, err := p.store.GetAccount(ctx, accountID)
	if err != nil {
		return oidc.ErrAccessDenied().WithDescription("account not found").WithParent(err)
	}
	pr, err := p.idp.ProfileForToken(ctx, accountID, profileID)
	if errors.Is(err, idp.ErrNotFound) {
		return oidc.ErrAccessDenied().WithDescription("the profile chosen at login no longer exists")
	}
	if err != nil {
		return err
	}
	u.AppendClaims(idp.ClaimProfile, pr.ID)
	fillProfile(u, a, pr, scopes)
	return nil
}

// fillProfile sets a profile's claims per scope: profile (names, the
// person's birth date, locale), email, address and phone (OIDC Core §5.4). Only the
// account's own, confirmed address is email_verified; contact data typed
// into a profile are not verified.
func fillProfile(u *oidc.UserInfo, a idp.Account, pr idp.ProfileView, scopes []string) {
	d := pr.Data
	if slices.Contains(scopes, oidc.ScopeProfile) {
		u.GivenName, u.FamilyName = d.GivenName, d.FamilyName
		u.Name = strings.TrimSpace(d.GivenName + " " + d.FamilyName)
		u.Locale = oidc.NewLocale(language.Make(a.Locale))
		// Under ScopeProofing "birthdate" means a verified date (proofing.go):
		// the self-declared one of "Meine Daten" is not mixed in there.
		if !slices.Contains(scopes, ScopeProofing) {
			u.Birthdate = pr.Birth
		}
	}
	if slices.Contains(scopes, oidc.ScopeEmail) && d.Email != "" {
		u.Email = d.Email
		u.EmailVerified = oidc.Bool(pr.Main && a.Status == idp.StatusActive)
	}
	if slices.Contains(scopes, oidc.ScopeAddress) && d.Locality != "" {
		street := strings.TrimSpace(d.Street + " " + d.HouseNumber)
		lines := []string{street, strings.TrimSpace(d.PostalCode + " " + d.Locality)}
		switch d.Country {
		case idp.CountrySwitzerland:
		case idp.CountryLiechtenstein:
			lines = append(lines, "Liechtenstein")
		default:
			lines = append(lines, d.Country)
		}
		u.Address = &oidc.UserInfoAddress{Formatted: strings.Join(lines, "\n"), StreetAddress: street,
			PostalCode: d.PostalCode, Locality: d.Locality, Country: d.Country}
	}
	if slices.Contains(scopes, oidc.ScopePhone) && d.Phone != "" {
		u.PhoneNumber = d.Phone
	}
}
