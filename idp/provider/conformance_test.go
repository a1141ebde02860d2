package provider_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/kanton/kundencenter/idp/idptest"
)

// movingClock advances by step on every reading, like a real clock that
// never shows the same time twice (a fixed test clock hides freshness
// comparisons made at different moments).
type movingClock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

func (c *movingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(c.step)
	return c.t
}

func (c *movingClock) Jump(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// TestReauthentication: prompt=login and max_age=0 show the login page
// despite a session, and the password then yields a code whose ID token
// has an auth_time newer than the request, in the same browser and in a
// fresh one, with a clock that moves between every step.
func TestReauthentication(t *testing.T) {
	t.Parallel()
	for _, p := range []struct{ k, v string }{{"prompt", "login"}, {"max_age", "0"}, {"max_age", "1"}} {
		t.Run(p.k+"="+p.v, func(t *testing.T) {
			t.Parallel()
			clock := &movingClock{t: time.Now(), step: 5 * time.Millisecond}
			f := newFixtureOn(t, idptest.Options{Now: clock.Now})
			ctx := t.Context()
			b := f.env.NewBrowser(t)
			v := oauth2.GenerateVerifier()
			first, err := f.oauth.Exchange(ctx, f.code(t, b, v, "n1"), oauth2.VerifierOption(v))
			if err != nil {
				t.Fatal(err)
			}
			firstID, err := f.verifier.Verify(ctx, first.Extra("id_token").(string))
			if err != nil {
				t.Fatal(err)
			}
			var c0 struct {
				AuthTime int64 `json:"auth_time"`
			}
			_ = firstID.Claims(&c0)

			for _, fresh := range []bool{false, true} {
				clock.Jump(3 * time.Second) // the user reads the service for a while
				br := b
				if fresh {
					br = f.env.NewBrowser(t)
				}
				requested := clock.Now()
				v := oauth2.GenerateVerifier()
				r := br.Open(t, f.oauth.AuthCodeURL("s", oauth2.S256ChallengeOption(v), oidc.Nonce("n2"),
					oauth2.SetAuthURLParam(p.k, p.v)))
				if r.URL().Path != "/login" || r.Resp.StatusCode != 200 {
					t.Fatalf("fresh=%v: re-authentication not asked: %d at %s", fresh, r.Resp.StatusCode, r.URL())
				}
				clock.Jump(1500 * time.Millisecond) // typing the password
				u := br.Login(t, r.URL().Query().Get("authRequestID"), email, password)
				if !strings.HasPrefix(u.String(), redirect) || u.Query().Get("code") == "" {
					t.Fatalf("fresh=%v: no code after the password: %s", fresh, u)
				}
				tok, err := f.oauth.Exchange(ctx, u.Query().Get("code"), oauth2.VerifierOption(v))
				if err != nil {
					t.Fatalf("fresh=%v: exchange: %v", fresh, err)
				}
				id, err := f.verifier.Verify(ctx, tok.Extra("id_token").(string))
				if err != nil {
					t.Fatal(err)
				}
				var c struct {
					AuthTime int64  `json:"auth_time"`
					Nonce    string `json:"nonce"`
				}
				_ = id.Claims(&c)
				if c.AuthTime <= c0.AuthTime || c.AuthTime < requested.Unix() || c.Nonce != "n2" {
					t.Fatalf("fresh=%v: auth_time %d not newer than the request at %d (first login %d)",
						fresh, c.AuthTime, requested.Unix(), c0.AuthTime)
				}
			}
		})
	}
}

// TestClientAuthenticationFailures: a failed client authentication at the
// token, introspection and revocation endpoints is 401 with a Basic
// challenge (RFC 6749 §5.2, RFC 7662 §2.1, RFC 7009 §2.1), for a wrong
// secret, an unknown client and (introspection) no authentication at all.
func TestClientAuthenticationFailures(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tokenForm := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}
	ccForm := url.Values{"grant_type": {"client_credentials"}}
	for _, c := range []struct {
		name, path, id, secret string
		form                   url.Values
	}{
		{"token wrong secret", "/oauth/token", "rp", "wrong", tokenForm},
		{"token unknown client", "/oauth/token", "nobody", "wrong", tokenForm},
		{"client_credentials wrong secret", "/oauth/token", "rp", "wrong", ccForm},
		{"introspection wrong secret", "/oauth/introspect", "rp", "wrong", url.Values{"token": {"x"}}},
		{"introspection unknown client", "/oauth/introspect", "nobody", "wrong", url.Values{"token": {"x"}}},
		{"introspection without client", "/oauth/introspect", "", "", url.Values{"token": {"x"}}},
		{"revocation wrong secret", "/oauth/revoke", "rp", "wrong", url.Values{"token": {"x"}}},
		{"revocation unknown client", "/oauth/revoke", "nobody", "wrong", url.Values{"token": {"x"}}},
	} {
		code, h, body := postClient(t, f.env, c.path, c.id, c.secret, c.form)
		if code != http.StatusUnauthorized || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Basic ") || body["error"] != "invalid_client" {
			t.Errorf("%s: %d, WWW-Authenticate %q, %v", c.name, code, h.Get("WWW-Authenticate"), body)
		}
	}
	// The secret in the form (client_secret_post) with no Authorization
	// header, for the introspection endpoint.
	code, _, body := postClient(t, f.env, "/oauth/introspect", "", "", url.Values{"token": {"x"}, "client_id": {"rp"}, "client_secret": {"wrong"}})
	if code != http.StatusUnauthorized || body["error"] != "invalid_client" {
		t.Errorf("introspection, wrong secret in the form: %d %v", code, body)
	}
	// Token responses are never cached (RFC 6749 §5.1), errors neither.
	code, h, body := postClient(t, f.env, "/oauth/token", "rp", secret, url.Values{"grant_type": {"client_credentials"}, "scope": {"status:write"}})
	if code != http.StatusOK || h.Get("Cache-Control") != "no-store" || h.Get("Pragma") != "no-cache" || body["access_token"] == nil {
		t.Fatalf("token response: %d %v %v", code, h, body)
	}
	_, h, _ = postClient(t, f.env, "/oauth/token", "rp", "wrong", tokenForm)
	if h.Get("Cache-Control") != "no-store" || h.Get("Pragma") != "no-cache" {
		t.Errorf("token error response headers: %v", h)
	}
}

// TestDiscoveryListsWhatWorks: no JWT client authentication algorithms
// (only secrets exist), no hybrid-flow claim, the RFC 9207 flag, and
// request objects by value or reference not offered.
func TestDiscoveryListsWhatWorks(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	resp, err := http.Get(f.env.URL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		t.Fatal(err)
	}
	for k := range d {
		if strings.HasSuffix(k, "_auth_signing_alg_values_supported") {
			t.Errorf("%s advertised: %v", k, d[k])
		}
	}
	for _, c := range d["claims_supported"].([]any) {
		if c == "c_hash" {
			t.Error("c_hash advertised")
		}
	}
	if d["authorization_response_iss_parameter_supported"] != true || d["request_uri_parameter_supported"] != false ||
		d["request_parameter_supported"] != nil && d["request_parameter_supported"] != false {
		t.Errorf("discovery: %v", d)
	}
	for k, want := range map[string]string{
		"revocation_endpoint_auth_methods_supported":    "[none client_secret_basic client_secret_post]",
		"introspection_endpoint_auth_methods_supported": "[client_secret_basic client_secret_post]",
		"token_endpoint_auth_methods_supported":         "[client_secret_basic client_secret_post none]",
		"response_modes_supported":                      "[query]",
		"response_types_supported":                      "[code]",
	} {
		if got := fmt.Sprint(d[k]); got != want {
			t.Errorf("%s: %s, want %s", k, got, want)
		}
	}
}

// TestAuthorizationResponseIss: RFC 9207 iss in every authorization
// response to the client: the code, the SSO code, and errors
// (login_required, request_uri_not_supported).
func TestAuthorizationResponseIss(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	b := f.env.NewBrowser(t)
	u := b.Authorize(t, f.oauth.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()),
		oauth2.SetAuthURLParam("prompt", "none")), "", "")
	if u.Query().Get("error") != "login_required" || u.Query().Get("iss") != f.env.URL || u.Query().Get("state") != "s" {
		t.Fatalf("login_required: %s", u)
	}
	u = b.Authorize(t, f.oauth.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())), email, password)
	if u.Query().Get("code") == "" || u.Query().Get("iss") != f.env.URL {
		t.Fatalf("code: %s", u)
	}
	u = b.Authorize(t, f.oauth.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())), "", "")
	if u.Query().Get("code") == "" || u.Query().Get("iss") != f.env.URL {
		t.Fatalf("SSO code: %s", u)
	}
	u = b.Authorize(t, f.oauth.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()),
		oauth2.SetAuthURLParam("request_uri", "https://rp.example/req/1")), "", "")
	if u.Query().Get("error") != "request_uri_not_supported" || u.Query().Get("iss") != f.env.URL || u.Query().Get("state") != "s" {
		t.Fatalf("request_uri: %s", u)
	}
	// Without PKCE: an error from the library's own checks.
	u = b.Authorize(t, f.oauth.AuthCodeURL("s"), "", "")
	if u.Query().Get("error") != "invalid_request" || u.Query().Get("iss") != f.env.URL {
		t.Fatalf("no PKCE: %s", u)
	}
}

// errorLog records ERROR log records of the default logger.
type errorLog struct {
	slog.Handler
	mu   sync.Mutex
	msgs []string
}

func (l *errorLog) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelError }
func (l *errorLog) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.msgs = append(l.msgs, r.Message)
	l.mu.Unlock()
	return nil
}

// TestMissingRedirectURI: the user's error page with 400, no server
// fault logged at ERROR (not parallel: it swaps the default logger).
func TestMissingRedirectURI(t *testing.T) {
	f := newFixture(t)
	rec := &errorLog{Handler: slog.DiscardHandler}
	old := slog.Default()
	slog.SetDefault(slog.New(rec))
	t.Cleanup(func() { slog.SetDefault(old) })
	q := url.Values{"client_id": {"rp"}, "response_type": {"code"}, "scope": {"openid"}, "state": {"s"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"}}
	r := f.env.NewBrowser(t).Open(t, f.env.URL+"/authorize?"+q.Encode())
	if r.Resp.StatusCode != http.StatusBadRequest || !strings.Contains(r.Resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("missing redirect_uri: %d %s %.200s", r.Resp.StatusCode, r.Resp.Header.Get("Content-Type"), r.Body)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.msgs) > 0 {
		t.Fatalf("logged at ERROR: %v", rec.msgs)
	}
}
