package provider_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
)

const (
	redirect = "http://localhost:9999/cb"
	secret   = "s3cret-s3cret-s3cret-s3cret-s3cret-0001"
	email    = "anna.muster@example.ch"
	password = "Sonnenblume-Aare-42"
)

// fixture is an IdP with one confidential client and one account, seen
// through an independent OIDC client (coreos/go-oidc + x/oauth2).
type fixture struct {
	env      *idptest.Env
	provider *oidc.Provider
	oauth    *oauth2.Config
	verifier *oidc.IDTokenVerifier
}

func newFixture(t *testing.T) *fixture {
	return newFixtureOn(t, idptest.Options{})
}

func newFixtureOn(t *testing.T, o idptest.Options) *fixture {
	t.Helper()
	env := idptest.Start(t, o)
	env.AddClient(t, idp.Client{ID: "rp", RedirectURIs: []string{redirect},
		GrantTypes: []string{idp.GrantAuthorizationCode, idp.GrantRefreshToken, idp.GrantClientCredentials},
		Scopes:     []string{"status:write"}}, secret)
	env.CreateAccount(t, "Anna", "Muster", email, password)
	ctx := t.Context()
	p, err := oidc.NewProvider(ctx, env.URL)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return &fixture{env: env, provider: p,
		oauth: &oauth2.Config{ClientID: "rp", ClientSecret: secret, Endpoint: p.Endpoint(), RedirectURL: redirect,
			Scopes: []string{oidc.ScopeOpenID, "profile", "email", oidc.ScopeOfflineAccess}},
		verifier: p.Verifier(&oidc.Config{ClientID: "rp"})}
}

// code runs the browser part of the code flow and returns the code.
func (f *fixture) code(t *testing.T, b *idptest.Browser, verifier, nonce string, opts ...oauth2.AuthCodeOption) string {
	t.Helper()
	opts = append(opts, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce))
	u := b.Authorize(t, f.oauth.AuthCodeURL("state-123", opts...), email, password)
	if !strings.HasPrefix(u.String(), redirect) {
		t.Fatalf("redirected to %s, want the client", u)
	}
	if e := u.Query().Get("error"); e != "" {
		t.Fatalf("authorize error %s: %s", e, u.Query().Get("error_description"))
	}
	if u.Query().Get("state") != "state-123" {
		t.Fatalf("state not returned: %s", u)
	}
	return u.Query().Get("code")
}

func oauthError(t *testing.T, err error) string {
	t.Helper()
	var re *oauth2.RetrieveError
	if err == nil {
		t.Fatal("expected an OAuth error, got success")
	}
	if !errorsAs(err, &re) {
		t.Fatalf("not an OAuth error: %v", err)
	}
	return re.ErrorCode
}

func TestDiscovery(t *testing.T) {
	f := newFixture(t)
	var d struct {
		Issuer        string   `json:"issuer"`
		ResponseTypes []string `json:"response_types_supported"`
		GrantTypes    []string `json:"grant_types_supported"`
		ACR           []string `json:"acr_values_supported"`
		PKCE          []string `json:"code_challenge_methods_supported"`
		Algs          []string `json:"id_token_signing_alg_values_supported"`
		Device        string   `json:"device_authorization_endpoint"`
	}
	if err := f.provider.Claims(&d); err != nil {
		t.Fatal(err)
	}
	if d.Issuer != f.env.URL || !slices.Equal(d.ResponseTypes, []string{"code"}) || !slices.Equal(d.PKCE, []string{"S256"}) ||
		!slices.Equal(d.Algs, []string{"ES256"}) || len(d.ACR) == 0 || slices.Contains(d.GrantTypes, "implicit") || d.Device != "" {
		t.Fatalf("discovery: %+v", d)
	}
	resp, err := http.Get(f.env.URL + "/keys")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var jwks struct {
		Keys []struct{ Kid, Alg, Kty, Use string } `json:"keys"`
	}
	json.NewDecoder(resp.Body).Decode(&jwks)
	if len(jwks.Keys) != 2 { // active + next (published before use)
		t.Fatalf("jwks: %+v", jwks)
	}
	for _, k := range jwks.Keys {
		if k.Alg != "ES256" || k.Kty != "EC" || k.Use != "sig" {
			t.Fatalf("key %+v", k)
		}
	}
}

// backends runs a test on the embedded adapters and on the production ones.
func backends(t *testing.T, test func(t *testing.T, f *fixture)) {
	t.Run("sqlite+memory", func(t *testing.T) { test(t, newFixture(t)) })
	t.Run("postgres+redis", func(t *testing.T) {
		test(t, newFixtureOn(t, idptest.Options{Store: idptest.Postgres(t), Eph: idptest.Redis(t)}))
	})
}

func TestCodeFlowWithPKCE(t *testing.T) { backends(t, testCodeFlowWithPKCE) }

func testCodeFlowWithPKCE(t *testing.T, f *fixture) {
	ctx := t.Context()
	b := f.env.NewBrowser(t)
	v := oauth2.GenerateVerifier()
	code := f.code(t, b, v, "nonce-1")
	tok, err := f.oauth.Exchange(ctx, code, oauth2.VerifierOption(v))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := f.verifier.Verify(ctx, raw)
	if err != nil {
		t.Fatalf("id token: %v", err)
	}
	var claims struct {
		Nonce    string   `json:"nonce"`
		AuthTime int64    `json:"auth_time"`
		ACR      string   `json:"acr"`
		AMR      []string `json:"amr"`
	}
	idt.Claims(&claims)
	if claims.Nonce != "nonce-1" || claims.AuthTime == 0 || claims.ACR != idp.LevelLow || !slices.Equal(claims.AMR, []string{"pwd"}) {
		t.Fatalf("id token claims: %+v", claims)
	}
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token despite offline_access")
	}
	ui, err := f.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	var u struct {
		Name, Email string
	}
	ui.Claims(&u)
	if ui.Subject != idt.Subject || u.Name != "Anna Muster" || u.Email != email {
		t.Fatalf("userinfo: %+v sub %s", u, ui.Subject)
	}

	// Code reuse (RFC 6749 §4.1.2: single use) → invalid_grant, and the
	// tokens issued for the code are revoked.
	_, err = f.oauth.Exchange(ctx, code, oauth2.VerifierOption(v))
	if got := oauthError(t, err); got != "invalid_grant" {
		t.Fatalf("code reuse: %s", got)
	}
	if introspect(t, f, tok.AccessToken)["active"] != false {
		t.Fatal("access token of a replayed code still active")
	}
	_, err = f.oauth.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Hour)}).Token()
	if oauthError(t, err) != "invalid_grant" {
		t.Fatal("refresh token of a replayed code still works")
	}
}

func TestPKCEEnforced(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	b := f.env.NewBrowser(t)

	t.Run("missing verifier at a confidential client (LegacyServer gap)", func(t *testing.T) {
		code := f.code(t, b, oauth2.GenerateVerifier(), "n")
		_, err := f.oauth.Exchange(ctx, code) // no verifier, valid client secret
		if got := oauthError(t, err); got != "invalid_grant" && got != "invalid_request" {
			t.Fatalf("got %s", got)
		}
	})
	t.Run("wrong verifier", func(t *testing.T) {
		code := f.code(t, b, oauth2.GenerateVerifier(), "n")
		_, err := f.oauth.Exchange(ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
		if got := oauthError(t, err); got != "invalid_grant" {
			t.Fatalf("got %s", got)
		}
	})
	for name, q := range map[string]url.Values{
		"no challenge":    {},
		"plain challenge": {"code_challenge": {strings.Repeat("a", 43)}, "code_challenge_method": {"plain"}},
	} {
		t.Run(name, func(t *testing.T) {
			q.Set("client_id", "rp")
			q.Set("redirect_uri", redirect)
			q.Set("response_type", "code")
			q.Set("scope", "openid")
			q.Set("state", "s")
			u := b.Authorize(t, f.env.URL+"/authorize?"+q.Encode(), email, password)
			if u.Query().Get("error") != "invalid_request" || !strings.HasPrefix(u.String(), redirect) {
				t.Fatalf("got %s", u)
			}
		})
	}
	for _, rt := range []string{"id_token token", "id_token", "token", "code id_token"} {
		t.Run("response_type "+rt+" refused", func(t *testing.T) {
			q := url.Values{"client_id": {"rp"}, "redirect_uri": {redirect}, "response_type": {rt},
				"scope": {"openid"}, "nonce": {"n"}, "state": {"s"}}
			resp, err := b.Get(f.env.URL + "/authorize?" + q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			loc, _ := url.Parse(resp.Header.Get("Location"))
			refused := resp.StatusCode == http.StatusBadRequest ||
				(loc != nil && (loc.Query().Get("error") != "" || strings.Contains(loc.Fragment, "error=")))
			if !refused || (loc != nil && strings.Contains(loc.String(), "token=")) {
				t.Fatalf("not refused: %d %v", resp.StatusCode, loc)
			}
		})
	}
	t.Run("password grant refused", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, f.env.URL+"/oauth/token", strings.NewReader(url.Values{
			"grant_type": {"password"}, "username": {email}, "password": {password}}.Encode()))
		req.SetBasicAuth("rp", secret)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e struct{ Error string }
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if e.Error != "unsupported_grant_type" {
			t.Fatalf("password grant: %d %q", resp.StatusCode, e.Error)
		}
	})
}

func TestRedirectURIExact(t *testing.T) {
	f := newFixture(t)
	b := f.env.NewBrowser(t)
	for _, bad := range []string{redirect + "/", redirect + "?x=1", "http://localhost:9998/cb", "http://LOCALHOST:9999/cb",
		"http://evil@localhost:9999/cb", "http://localhost:9999/CB", "http://localhost:9999/%63b"} {
		t.Run(bad, func(t *testing.T) {
			q := url.Values{"client_id": {"rp"}, "redirect_uri": {bad}, "response_type": {"code"}, "scope": {"openid"},
				"code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"}}
			resp, err := b.Get(f.env.URL + "/authorize?" + q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if loc := resp.Header.Get("Location"); loc != "" || resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d, Location %q: must be an error page without redirect", resp.StatusCode, loc)
			}
			if !strings.Contains(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(body), "<html") {
				t.Fatalf("not an HTML error page: %s %.200s", resp.Header.Get("Content-Type"), body)
			}
		})
	}
}

func TestRefreshRotationAndReuse(t *testing.T) { backends(t, testRefreshRotationAndReuse) }

func testRefreshRotationAndReuse(t *testing.T, f *fixture) {
	ctx := t.Context()
	v := oauth2.GenerateVerifier()
	tok, err := f.oauth.Exchange(ctx, f.code(t, f.env.NewBrowser(t), v, "n"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	refresh := func(rt string) (*oauth2.Token, error) {
		return f.oauth.TokenSource(ctx, &oauth2.Token{RefreshToken: rt, Expiry: time.Now().Add(-time.Hour)}).Token()
	}
	t2, err := refresh(tok.RefreshToken)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if t2.RefreshToken == "" || t2.RefreshToken == tok.RefreshToken || t2.AccessToken == tok.AccessToken {
		t.Fatal("refresh token not rotated")
	}
	if raw, _ := t2.Extra("id_token").(string); raw != "" {
		idt, err := f.verifier.Verify(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		var c struct{ ACR string }
		idt.Claims(&c)
		if c.ACR != idp.LevelLow {
			t.Fatalf("refreshed id token lost acr: %+v", c)
		}
	}
	// Once its successor was used, the rotated token is a reuse (no retry
	// window): refused, and the family (t3) dies too.
	t3, err := refresh(t2.RefreshToken)
	if err != nil {
		t.Fatalf("refresh t2: %v", err)
	}
	if _, err := refresh(tok.RefreshToken); oauthError(t, err) != "invalid_grant" {
		t.Fatal("reuse accepted")
	}
	if _, err := refresh(t3.RefreshToken); oauthError(t, err) != "invalid_grant" {
		t.Fatal("family not revoked after reuse")
	}
	// The whole grant ends: the access tokens of the family too.
	for i, at := range []string{tok.AccessToken, t2.AccessToken, t3.AccessToken} {
		if got := introspect(t, f, at); got["active"] != false {
			t.Fatalf("access token %d still active after reuse: %v", i, got)
		}
	}
}

func introspect(t *testing.T, f *fixture, token string) map[string]any {
	t.Helper()
	code, _, out := postClient(t, f.env, "/oauth/introspect", "rp", secret, url.Values{"token": {token}})
	if out == nil {
		t.Fatalf("introspect: status %d", code)
	}
	return out
}

func revoke(t *testing.T, f *fixture, token string) {
	t.Helper()
	if code, _, body := postClient(t, f.env, "/oauth/revoke", "rp", secret, url.Values{"token": {token}}); code != http.StatusOK {
		t.Fatalf("revoke: %d %v", code, body)
	}
}

func TestIntrospectionAndRevocation(t *testing.T) { backends(t, testIntrospectionAndRevocation) }

func testIntrospectionAndRevocation(t *testing.T, f *fixture) {
	ctx := t.Context()
	v := oauth2.GenerateVerifier()
	tok, err := f.oauth.Exchange(ctx, f.code(t, f.env.NewBrowser(t), v, "n"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	got := introspect(t, f, tok.AccessToken)
	if got["active"] != true || got["client_id"] != "rp" || got["acr"] != idp.LevelLow || got["iss"] != f.env.URL {
		t.Fatalf("introspection: %v", got)
	}
	if introspect(t, f, "garbage")["active"] != false {
		t.Fatal("garbage token active")
	}
	revoke(t, f, tok.AccessToken)
	if introspect(t, f, tok.AccessToken)["active"] != false {
		t.Fatal("revoked access token still active")
	}
	// Revoking the refresh token ends the grant: the access token of a
	// refresh, too.
	t2, err := f.oauth.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Hour)}).Token()
	if err != nil {
		t.Fatal(err)
	}
	revoke(t, f, t2.RefreshToken)
	_, err = f.oauth.TokenSource(ctx, &oauth2.Token{RefreshToken: t2.RefreshToken, Expiry: time.Now().Add(-time.Hour)}).Token()
	if oauthError(t, err) != "invalid_grant" {
		t.Fatal("revoked refresh token still works")
	}
	if got := introspect(t, f, t2.AccessToken); got["active"] != false {
		t.Fatalf("access token of a revoked grant still active: %v", got)
	}
}

func TestClientCredentials(t *testing.T) {
	f := newFixture(t)
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"status:write"}}
	req, _ := http.NewRequest(http.MethodPost, f.env.URL+"/oauth/token", strings.NewReader(form.Encode()))
	req.SetBasicAuth("rp", secret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
		Refresh     string `json:"refresh_token"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	if resp.StatusCode != 200 || tok.AccessToken == "" || tok.Refresh != "" {
		t.Fatalf("client credentials: %d %+v", resp.StatusCode, tok)
	}
	if got := introspect(t, f, tok.AccessToken); got["active"] != true || got["sub"] != "rp" {
		t.Fatalf("introspection: %v", got)
	}
	// Wrong secret.
	req, _ = http.NewRequest(http.MethodPost, f.env.URL+"/oauth/token", strings.NewReader(form.Encode()))
	req.SetBasicAuth("rp", "wrong")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusUnauthorized && resp2.StatusCode != http.StatusBadRequest {
		t.Fatalf("wrong secret: %d", resp2.StatusCode)
	}
}

func TestSSOAndPrompt(t *testing.T) { backends(t, testSSOAndPrompt) }

func testSSOAndPrompt(t *testing.T, f *fixture) {
	ctx := t.Context()
	b := f.env.NewBrowser(t)

	// prompt=none without a session → login_required at the client.
	u := b.Authorize(t, f.oauth.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()),
		oauth2.SetAuthURLParam("prompt", "none")), "", "")
	if u.Query().Get("error") != "login_required" {
		t.Fatalf("prompt=none without session: %s", u)
	}
	v := oauth2.GenerateVerifier()
	f.code(t, b, v, "n") // logs in
	// Same browser again: SSO, straight back with a code.
	v2 := oauth2.GenerateVerifier()
	resp, err := b.Get(f.oauth.AuthCodeURL("s2", oauth2.S256ChallengeOption(v2), oidc.Nonce("n2")))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if loc == nil || loc.Query().Get("code") == "" {
		t.Fatalf("no SSO: status %d at %s", resp.StatusCode, resp.Request.URL)
	}
	if _, err := f.oauth.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(v2)); err != nil {
		t.Fatal(err)
	}
	// prompt=login and max_age=0 force the login page despite the session.
	for _, p := range []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("prompt", "login"), oauth2.SetAuthURLParam("max_age", "0")} {
		resp, err := b.Get(f.oauth.AuthCodeURL("s3", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), p))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Request.URL.Path != "/login" {
			t.Fatalf("re-authentication not forced: ended at %s (%d)", resp.Request.URL, resp.StatusCode)
		}
	}
}

func TestCallbackBoundToBrowser(t *testing.T) {
	f := newFixture(t)
	victim := f.env.NewBrowser(t)
	resp, err := victim.Get(f.oauth.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	id := resp.Request.URL.Query().Get("authRequestID")
	victim.Login(t, id, email, password)
	// Another browser presents the completed request's callback: refused.
	attacker := f.env.NewBrowser(t)
	resp, err = attacker.Get(f.env.URL + "/authorize/callback?id=" + url.QueryEscape(id))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); strings.Contains(loc, "code=") {
		t.Fatalf("callback from another browser yielded a code: %s", loc)
	}
	_ = context.Background
}
