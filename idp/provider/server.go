package provider

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sync"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/login"
)

// server embeds the library's LegacyServer and overrides the endpoints
// where it is too lax for us.
type server struct {
	*op.LegacyServer
	p *Provider

	discoveryOnce sync.Once
	discovery     *discoveryDocument
}

// Discovery serves the provider metadata (OpenID Connect Discovery 1.0 §3)
// computed once: only the code flow, only ES256, PKCE S256, and the
// supported acr values (the library advertises implicit and no acr values).
func (s *server) Discovery(ctx context.Context, r *op.Request[struct{}]) (*op.Response, error) {
	s.discoveryOnce.Do(func() {
		resp, err := s.LegacyServer.Discovery(ctx, r)
		if err != nil {
			return
		}
		d := *resp.Data.(*oidc.DiscoveryConfiguration)
		d.ResponseTypesSupported = []string{string(oidc.ResponseTypeCode)}
		d.ResponseModesSupported = []string{"query"}
		d.GrantTypesSupported = []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken, oidc.GrantTypeClientCredentials,
			oidc.GrantTypeTokenExchange}
		d.ACRValuesSupported = s.p.cfg.Levels
		d.CodeChallengeMethodsSupported = []oidc.CodeChallengeMethod{oidc.CodeChallengeMethodS256}
		d.TokenEndpointAuthMethodsSupported = []oidc.AuthMethod{oidc.AuthMethodBasic, oidc.AuthMethodPost, oidc.AuthMethodNone}
		d.TokenEndpointAuthSigningAlgValuesSupported = nil
		d.RequestParameterSupported = false
		d.RequestURIParameterSupported = false
		d.DeviceAuthorizationEndpoint = ""
		d.ClaimsParameterSupported = false
		// OIDC Back-Channel Logout 1.0 §2.1 (idp/backchannel.go, notify/events.go).
		d.BackChannelLogoutSupported, d.BackChannelLogoutSessionSupported = true, true
		// No JWT client authentication exists (client secrets only), and
		// no hybrid flow (c_hash).
		d.RevocationEndpointAuthSigningAlgValuesSupported = nil
		d.IntrospectionEndpointAuthSigningAlgValuesSupported = nil
		d.IntrospectionEndpointAuthMethodsSupported = []oidc.AuthMethod{oidc.AuthMethodBasic, oidc.AuthMethodPost}
		// OIDC Core §8: a client is registered with either (subjects.go).
		d.SubjectTypesSupported = []string{idp.SubjectPublic, idp.SubjectPairwise}
		d.ClaimsSupported = slices.DeleteFunc(slices.Clone(d.ClaimsSupported), func(c string) bool { return c == "c_hash" })
		s.discovery = &discoveryDocument{DiscoveryConfiguration: &d, AuthorizationResponseIssParameterSupported: true}
	})
	if s.discovery == nil {
		return s.LegacyServer.Discovery(ctx, r)
	}
	resp := op.NewResponse(s.discovery)
	resp.Header.Set("Cache-Control", "public, max-age=300")
	return resp, nil
}

// Keys serves the JWKS from memory (RFC 7517 §5) with a short cache time,
// so relying parties pick up the next key ahead of a rotation.
func (s *server) Keys(ctx context.Context, r *op.Request[struct{}]) (*op.Response, error) {
	resp, err := s.LegacyServer.Keys(ctx, r)
	if err == nil {
		resp.Header.Set("Cache-Control", "public, max-age=300")
	}
	return resp, err
}

// Authorize handles a validated authorize request (OIDC Core §3.1.2.1):
// redirect URIs must match a registered one byte for byte; the request is
// stored (CreateAuthRequest enforces code + PKCE S256); an SSO session
// from the cookie that satisfies prompt, max_age and the level completes
// it at once; prompt=none without one ends in login_required (§3.1.2.6).
func (s *server) Authorize(ctx context.Context, r *op.ClientRequest[oidc.AuthRequest]) (*op.Redirect, error) {
	if !slices.Contains(r.Client.RedirectURIs(), r.Data.RedirectURI) {
		return nil, op.AsStatusError(oidc.ErrInvalidRequestRedirectURI().
			WithDescription("redirect_uri is not registered for this client"), http.StatusBadRequest)
	}
	// Request objects by reference are not supported (OIDC Core §6.2; by
	// value, the library answers request_not_supported).
	if r.Form.Get("request_uri") != "" {
		return s.p.authError(r.Data, &oidc.Error{ErrorType: "request_uri_not_supported",
			Description: "request objects by reference (request_uri) are not supported"})
	}
	redirect, err := s.LegacyServer.Authorize(ctx, r)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(redirect.URL)
	if err != nil || u.Path != s.p.cfg.LoginPath {
		redirect.URL = s.p.withIss(redirect.URL) // an error redirect to the client
		return redirect, nil
	}
	id := u.Query().Get("authRequestID")
	a, err := s.p.getAuthRequest(ctx, id)
	if err != nil {
		return nil, err
	}
	sess, err := s.sessionFrom(ctx, r.Header)
	usable := err == nil && a.Satisfied(sess, s.p.now(), s.p.cfg.Levels) &&
		(a.HintSubject == "" || a.HintSubject == sess.AccountID)
	if usable {
		if acct, aerr := s.p.store.GetAccount(ctx, sess.AccountID); aerr != nil || acct.Status != idp.StatusActive {
			usable = false
		}
	}
	// Whether a person must choose whom they act for or which profile the
	// client sees is decided by the login flow (idp/login), also for SSO:
	// a choice sends the browser to the login UI even with a valid
	// session. A held login (a service the account is not enabled for)
	// shows the friendly page; with prompt=none no page may be shown, so
	// it ends in interaction_required (OIDC Core §3.1.2.6): the person is
	// logged in, and an interactive login leads to that page and its
	// "Freischaltung beantragen".
	hold := usable && s.p.holdSSO != nil && s.p.holdSSO(ctx, sess.AccountID, a.ClientID)
	switch {
	case hold && !a.HasPrompt(oidc.PromptNone):
		return redirect, nil
	case hold:
		next, err := s.p.ErrorRedirect(ctx, id, oidc.ErrInteractionRequired().WithDescription("the service needs an enablement the account has not got"))
		if err != nil {
			return nil, err
		}
		return op.NewRedirect(next), nil
	case usable:
		res, err := s.p.LoginFlow().Resume(ctx, a.loginRequest(), LoginSession(sess))
		if err != nil {
			return nil, err
		}
		if res.Step != login.Done {
			return redirect, nil
		}
		return op.NewRedirect(res.URL), nil
	case a.HasPrompt(oidc.PromptNone):
		next, err := s.p.ErrorRedirect(ctx, id, oidc.ErrLoginRequired())
		if err != nil {
			return nil, err
		}
		return op.NewRedirect(next), nil
	}
	return redirect, nil
}

func (s *server) sessionFrom(ctx context.Context, h http.Header) (idp.Session, error) {
	c, err := (&http.Request{Header: h}).Cookie(s.p.cfg.SessionCookie)
	if err != nil {
		return idp.Session{}, errNoSession
	}
	return s.p.idp.Session(ctx, c.Value)
}

var verifierSyntax = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)

// CodeExchange redeems an authorization code (RFC 6749 §4.1.3). Unlike the
// LegacyServer, it checks the PKCE verifier on every exchange, for public
// and confidential clients alike (RFC 7636 §4.6); the code is consumed
// before the checks, so a failed attempt burns it.
func (s *server) CodeExchange(ctx context.Context, r *op.ClientRequest[oidc.AccessTokenRequest]) (*op.Response, error) {
	authReq, err := op.AuthRequestByCode(ctx, s.p.op.Storage(), r.Data.Code)
	if err != nil {
		return nil, err
	}
	if r.Client.GetID() != authReq.GetClientID() {
		return nil, oidc.ErrInvalidGrant().WithDescription("code was issued to another client")
	}
	if !verifierSyntax.MatchString(r.Data.CodeVerifier) {
		return nil, oidc.ErrInvalidGrant().WithDescription("code_verifier missing or malformed (RFC 7636 §4.1)")
	}
	if err := op.AuthorizeCodeChallenge(r.Data.CodeVerifier, authReq.GetCodeChallenge()); err != nil {
		return nil, err
	}
	if r.Data.RedirectURI != authReq.GetRedirectURI() {
		return nil, oidc.ErrInvalidGrant().WithDescription("redirect_uri does not match the authorization request")
	}
	resp, err := op.CreateTokenResponse(ctx, authReq, r.Client, s.p.op, true, r.Data.Code, "")
	if err != nil {
		return nil, err
	}
	return op.NewResponse(resp), nil
}

// RefreshToken checks that the client may use the grant before the library
// rotates the token.
func (s *server) RefreshToken(ctx context.Context, r *op.ClientRequest[oidc.RefreshTokenRequest]) (*op.Response, error) {
	if !slices.Contains(r.Client.GrantTypes(), oidc.GrantTypeRefreshToken) {
		return nil, oidc.ErrUnauthorizedClient().WithDescription("refresh_token grant not allowed for this client")
	}
	return s.LegacyServer.RefreshToken(ctx, r)
}
