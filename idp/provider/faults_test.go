package provider_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
	"github.com/kanton/kundencenter/store/postgres"
	"github.com/kanton/kundencenter/store/redis"
	"github.com/kanton/kundencenter/testenv/servers"
)

// Fault tests of issue 16 (items 1, 3, 5, 7) on private Redis and
// PostgreSQL servers that the tests stop, kill and restart.

// openRedis opens the ephemeral store on a private Redis, failing fast
// while it is down.
func openRedis(t *testing.T, r *servers.Redis) idp.Ephemeral {
	t.Helper()
	s, err := redis.Open(t.Context(), r.URL+"?max_retries=0&dial_timeout=300ms&read_timeout=1s&write_timeout=1s", "kc:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// tokens runs a code flow in b and exchanges the code.
func (f *fixture) tokens(t *testing.T, b *idptest.Browser) *oauth2.Token {
	t.Helper()
	v := oauth2.GenerateVerifier()
	tok, err := f.oauth.Exchange(t.Context(), f.code(t, b, v, "n"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	return tok
}

func (f *fixture) refresh(t *testing.T, rt string) (*oauth2.Token, error) {
	return f.oauth.TokenSource(t.Context(), &oauth2.Token{RefreshToken: rt, Expiry: time.Now().Add(-time.Hour)}).Token()
}

// wantUnavailable checks an answer during an outage: 503
// temporarily_unavailable with no internal text.
func wantUnavailable(t *testing.T, what string, status int, body map[string]any) {
	t.Helper()
	if status != http.StatusServiceUnavailable || body["error"] != "temporarily_unavailable" {
		t.Errorf("%s during the outage: %d %v, want 503 temporarily_unavailable", what, status, body)
	}
	desc := fmt.Sprint(body["error_description"])
	for _, internal := range []string{"127.0.0.1", "dial", "redis", "postgres", "connect", "refused", "sqldb"} {
		if strings.Contains(strings.ToLower(desc), internal) {
			t.Errorf("%s: error description shows internal text %q: %s", what, internal, desc)
		}
	}
}

// wantOutageAnswers checks that a refresh and an introspection answer 503
// temporarily_unavailable during an outage.
func wantOutageAnswers(t *testing.T, f *fixture, tok *oauth2.Token) {
	t.Helper()
	status, _, body := postClient(t, f.env, "/oauth/token", "rp", secret,
		url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}})
	wantUnavailable(t, "refresh", status, body)
	status, _, body = postClient(t, f.env, "/oauth/introspect", "rp", secret, url.Values{"token": {tok.AccessToken}})
	wantUnavailable(t, "introspection", status, body)
}

// TestRedisOutageKeepsRefreshFamily (issue 16.1, 16.5): a refresh while
// Redis is down answers 503 temporarily_unavailable, and the client's
// retry with the same refresh token after Redis is back succeeds (the
// family is not burned by reuse detection).
func TestRedisOutageKeepsRefreshFamily(t *testing.T) {
	rs := servers.StartRedis(t)
	f := newFixtureOn(t, idptest.Options{Store: idptest.Postgres(t), Eph: openRedis(t, rs)})
	tok := f.tokens(t, f.env.NewBrowser(t))

	rs.Kill(t)
	wantOutageAnswers(t, f, tok)

	rs.Start(t) // empty: no snapshot
	t2, err := f.refresh(t, tok.RefreshToken)
	if err != nil {
		t.Fatalf("retry after the outage: %v (the family was burned)", err)
	}
	if got := introspect(t, f, t2.AccessToken); got["active"] != true {
		t.Fatalf("new access token not active: %v", got)
	}
	if _, err := f.refresh(t, t2.RefreshToken); err != nil {
		t.Fatalf("refresh with the new token: %v", err)
	}
}

// TestRefreshRetryAfterLostResponse (issue 16.1): a response lost after
// the rotation committed; the retry with the same token succeeds once. A
// second retry is a reuse and ends the grant.
func TestRefreshRetryAfterLostResponse(t *testing.T) { backends(t, testRefreshRetryAfterLostResponse) }

func testRefreshRetryAfterLostResponse(t *testing.T, f *fixture) {
	tok := f.tokens(t, f.env.NewBrowser(t))
	if _, err := f.refresh(t, tok.RefreshToken); err != nil { // the answer is "lost"
		t.Fatal(err)
	}
	t3, err := f.refresh(t, tok.RefreshToken)
	if err != nil {
		t.Fatalf("retry after a lost response: %v", err)
	}
	if _, err := f.refresh(t, tok.RefreshToken); oauthError(t, err) != "invalid_grant" {
		t.Fatal("second retry accepted")
	}
	if _, err := f.refresh(t, t3.RefreshToken); oauthError(t, err) != "invalid_grant" {
		t.Fatal("family not revoked after the second retry")
	}
	if got := introspect(t, f, t3.AccessToken); got["active"] != false {
		t.Fatalf("access token still active after reuse: %v", got)
	}
}

// TestRedisSnapshotRevivesNothing (issue 16.3, 16.7): Redis restarts from
// an RDB snapshot taken before a code was redeemed, an access token
// revoked and the session logged out (end_session). The code stays used,
// the token revoked, the session and the tokens issued in it ended.
func TestRedisSnapshotRevivesNothing(t *testing.T) {
	rs := servers.StartRedis(t)
	f := newFixtureOn(t, idptest.Options{Store: idptest.Postgres(t), Eph: openRedis(t, rs)})
	ctx := t.Context()
	b := f.env.NewBrowser(t)
	tok1 := f.tokens(t, b)
	v2 := oauth2.GenerateVerifier()
	code2 := f.code(t, b, v2, "n") // SSO
	rs.Save(t)

	tok2, err := f.oauth.Exchange(ctx, code2, oauth2.VerifierOption(v2))
	if err != nil {
		t.Fatal(err)
	}
	revoke(t, f, tok1.AccessToken)
	resp, err := b.Get(f.env.URL + "/end_session?id_token_hint=" + url.QueryEscape(tok2.Extra("id_token").(string)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/logout" {
		t.Fatalf("end_session ended at %d %s", resp.StatusCode, resp.Request.URL)
	}
	// Logout ends the session's tokens at once (Redis still up).
	if got := introspect(t, f, tok2.AccessToken); got["active"] != false {
		t.Fatalf("access token active after logout: %v", got)
	}

	rs.Kill(t)
	rs.Start(t) // loads the snapshot
	if n := rs.Do(t, "DBSIZE"); n == int64(0) {
		t.Fatal("the snapshot was not loaded")
	}
	if got := introspect(t, f, tok1.AccessToken); got["active"] != false {
		t.Errorf("revoked access token revived by the snapshot: %v", got)
	}
	if got := introspect(t, f, tok2.AccessToken); got["active"] != false {
		t.Errorf("access token of the logged-out session active: %v", got)
	}
	if _, err := f.refresh(t, tok2.RefreshToken); oauthError(t, err) != "invalid_grant" {
		t.Error("refresh token of the logged-out session still refreshes")
	}
	if _, err := f.refresh(t, tok1.RefreshToken); oauthError(t, err) != "invalid_grant" {
		t.Error("refresh token of the logged-out session (first grant) still refreshes")
	}
	if _, err := f.oauth.Exchange(ctx, code2, oauth2.VerifierOption(v2)); oauthError(t, err) != "invalid_grant" {
		t.Error("redeemed code revived by the snapshot")
	}
	// The logged-out session gives no SSO: the authorize request ends on
	// the login page, not at the client with a code.
	resp, err = b.Get(f.oauth.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oidc.Nonce("n")))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc, _ := url.Parse(resp.Header.Get("Location")); loc != nil && loc.Query().Get("code") != "" {
		t.Error("logged-out session revived by the snapshot: SSO issued a code")
	}
}

// TestPostgresOutageIsTransient (issue 16.5): with PostgreSQL stopped,
// refresh and introspection answer 503 temporarily_unavailable, never
// invalid_grant / invalid_client / inactive; after the restart the same
// refresh token works.
func TestPostgresOutageIsTransient(t *testing.T) {
	pg := servers.StartPostgres(t)
	store, err := postgres.OpenSchema(t.Context(), pg.URL, "kc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	f := newFixtureOn(t, idptest.Options{Store: store, Eph: idptest.Redis(t)})
	tok := f.tokens(t, f.env.NewBrowser(t))

	pg.Stop(t)
	wantOutageAnswers(t, f, tok)
	status, _, body := postClient(t, f.env, "/oauth/token", "nobody", "wrong",
		url.Values{"grant_type": {"client_credentials"}})
	wantUnavailable(t, "unknown client", status, body)

	pg.Start(t)
	if _, err := f.refresh(t, tok.RefreshToken); err != nil {
		t.Fatalf("refresh after the outage: %v", err)
	}
}

// TestDisableAccount (issue 16.7): disabling an account ends its tokens
// and sessions and refuses logins; enabling it allows logins again, the
// ended tokens stay ended.
func TestDisableAccount(t *testing.T) { backends(t, testDisableAccount) }

func testDisableAccount(t *testing.T, f *fixture) {
	ctx := t.Context()
	b := f.env.NewBrowser(t)
	tok := f.tokens(t, b)
	a, err := f.env.Store.GetAccountByEmailIndex(ctx, f.env.Service.EmailIndex(email))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.env.Service.DisableAccount(ctx, a.ID, ""); err != nil {
		t.Fatal(err)
	}
	if got := introspect(t, f, tok.AccessToken); got["active"] != false {
		t.Errorf("access token active after disable: %v", got)
	}
	if _, err := f.refresh(t, tok.RefreshToken); oauthError(t, err) != "invalid_grant" {
		t.Error("refresh token still refreshes after disable")
	}
	// Neither the old session (SSO) nor a new login get a code.
	b2 := f.env.NewBrowser(t)
	for _, br := range []*idptest.Browser{b, b2} {
		resp, err := br.Get(f.oauth.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oidc.Nonce("n")))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc, _ := url.Parse(resp.Header.Get("Location")); loc != nil && loc.Query().Get("code") != "" {
			t.Fatal("SSO session of a disabled account issued a code")
		}
		id := resp.Request.URL.Query().Get("authRequestID")
		csrf := br.CSRF(t, f.env.URL+"/login?authRequestID="+url.QueryEscape(id))
		req, _ := http.NewRequest(http.MethodPost, f.env.URL+"/login", strings.NewReader(url.Values{
			"csrf": {csrf}, "authRequestID": {id}, "email": {email}, "password": {password}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", f.env.URL)
		resp, err = br.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if loc, _ := url.Parse(resp.Header.Get("Location")); loc != nil && loc.Query().Get("code") != "" {
			t.Fatal("a disabled account logged in")
		}
		// The right password is told that the account is blocked.
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "Ihr Konto ist gesperrt") {
			t.Errorf("login of a disabled account: %d, want 403 with the blocked message", resp.StatusCode)
		}
	}
	if err := f.env.Service.EnableAccount(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if got := introspect(t, f, tok.AccessToken); got["active"] != false {
		t.Errorf("access token revived by enable: %v", got)
	}
	f.tokens(t, f.env.NewBrowser(t))
}
