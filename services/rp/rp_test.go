package rp_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kanton/kundencenter/services/rp"
	"github.com/kanton/kundencenter/services/rp/rptest"
	"github.com/kanton/kundencenter/webkit"
)

const (
	clientID     = "svc-test"
	clientSecret = "svc-test-secret-0123456789"
)

var cookieKey = []byte("0123456789abcdef0123456789abcdef")

// harness is a relying party served on loopback in front of a test OP; its
// pages "/" and "/docs/…" require login and print the session.
type harness struct {
	op     *rptest.Provider
	client *rp.Client
	base   string
	logs   *syncBuffer
	clock  *atomic.Int64 // offset added to time.Now, in seconds
}

func newHarness(t testing.TB, mod func(*rp.Config)) *harness {
	t.Helper()
	h := &harness{op: rptest.New(t, false), logs: &syncBuffer{}, clock: &atomic.Int64{}}
	app := httptest.NewUnstartedServer(nil)
	t.Cleanup(app.Close)
	h.base = "http://" + app.Listener.Addr().String()
	h.op.Register(clientID, clientSecret, h.base)
	cfg := rp.Config{
		Issuer:       h.op.Issuer,
		ClientID:     clientID,
		ClientSecret: clientSecret,
		BaseURL:      h.base,
		CookieKey:    cookieKey,
		Insecure:     true,
		HTTPClient:   h.op.Client(),
		Logger:       slog.New(slog.NewTextHandler(h.logs, nil)),
		Now:          func() time.Time { return time.Now().Add(time.Duration(h.clock.Load()) * time.Second) },
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := rp.New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("rp.New: %v", err)
	}
	h.client = c
	mux := http.NewServeMux()
	c.Mount(mux)
	show := c.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok := rp.SessionFrom(r.Context())
		if !ok {
			http.Error(w, "no session in context", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte("Hallo " + s.DisplayName() + " <" + s.Email + "> csrf=" + s.CSRF + " amr=" + strings.Join(s.AMR, ",")))
	}))
	mux.Handle("GET /{$}", show)
	mux.Handle("GET /docs/", show)
	app.Config.Handler = c.SecureHeaders(mux)
	app.Start()
	return h
}

// stopAtCallback starts a login at start in b and returns the callback URL
// the OP redirects to, without following it.
func (h *harness) stopAtCallback(t *testing.T, b *rptest.Browser, start string) *url.URL {
	t.Helper()
	b.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if req.URL.Path == rp.CallbackPath {
			return http.ErrUseLastResponse
		}
		return nil
	}
	defer func() { b.CheckRedirect = nil }()
	resp, _ := b.Login(t, start, rptest.Anna)
	loc, err := resp.Location()
	if err != nil || loc.Path != rp.CallbackPath {
		t.Fatalf("login did not stop at the callback: status %d, location %v (%v)", resp.StatusCode, loc, err)
	}
	return loc
}

// noFollow returns a client sharing b's cookies that does not follow
// redirects.
func noFollow(b *rptest.Browser) *http.Client {
	c := *b.Client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

func (h *harness) hasSession(t *testing.T, b *rptest.Browser) bool {
	t.Helper()
	u, _ := url.Parse(h.base)
	for _, c := range b.Jar.Cookies(u) {
		if c.Name == "kc-"+clientID+"-session" {
			return true
		}
	}
	return false
}

var csrfRe = regexp.MustCompile(`csrf=(\S+)`)

func TestLogin(t *testing.T) {
	h := newHarness(t, nil)
	b := h.op.NewBrowser(t)

	resp, body := b.Login(t, h.base+"/docs/a?x=1", rptest.Anna)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Hallo Anna Muster <anna.muster@example.ch>") {
		t.Fatalf("after login: status %d, body %q", resp.StatusCode, body)
	}
	if got := resp.Request.URL.String(); got != h.base+"/docs/a?x=1" {
		t.Errorf("landed on %s, want the requested page", got)
	}
	if !strings.Contains(body, "amr=pwd") {
		t.Errorf("amr not kept in the session: %q", body)
	}

	reqs := h.op.AuthorizeRequests()
	if len(reqs) != 1 {
		t.Fatalf("%d authorization requests, want 1", len(reqs))
	}
	q := reqs[0]
	for k, want := range map[string]string{
		"client_id":             clientID,
		"response_type":         "code",
		"scope":                 "openid profile email",
		"redirect_uri":          h.base + "/auth/callback",
		"code_challenge_method": "S256",
		"ui_locales":            "de",
	} {
		if got := q.Get(k); got != want {
			t.Errorf("authorization request %s = %q, want %q", k, got, want)
		}
	}
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if len(q.Get(k)) != 43 {
			t.Errorf("authorization request %s = %q, want 256 random bits", k, q.Get(k))
		}
	}

	// A second visit uses the session, without another authorization request.
	if _, body := b.Get(t, h.base+"/"); !strings.Contains(body, "Hallo Anna Muster") {
		t.Errorf("second visit: %q", body)
	}
	if n := len(h.op.AuthorizeRequests()); n != 1 {
		t.Errorf("%d authorization requests after the second visit, want 1", n)
	}
}

func TestCallbackCookies(t *testing.T) {
	h := newHarness(t, nil)
	b := h.op.NewBrowser(t)
	cb := h.stopAtCallback(t, b, h.base+"/")
	resp, err := noFollow(b).Get(cb.String())
	if err != nil {
		t.Fatalf("callback: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("callback: status %d, location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var session, txn *http.Cookie
	for _, c := range resp.Cookies() {
		switch c.Name {
		case "kc-" + clientID + "-session":
			session = c
		case "kc-" + clientID + "-login":
			txn = c
		}
	}
	if session == nil {
		t.Fatal("no session cookie set")
	}
	if !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Path != "/" || session.Domain != "" {
		t.Errorf("session cookie attributes: %+v", session)
	}
	t.Logf("session cookie: %d bytes", len(session.Name)+len(session.Value))
	if n := len(session.Name) + len(session.Value); n > 4000 {
		t.Errorf("session cookie is %d bytes, want at most 4000", n)
	}
	if strings.Contains(session.Value, "Anna") {
		t.Error("session cookie shows personal data in clear text")
	}
	if txn == nil || txn.MaxAge >= 0 {
		t.Errorf("the login transaction cookie must be deleted by the callback: %+v", txn)
	}
}

func TestCallbackRefused(t *testing.T) {
	tests := []struct {
		name string
		// callback returns the callback URL to request in b.
		callback func(t *testing.T, h *harness, b *rptest.Browser) string
		status   int
		message  string
		reason   string // logged reason
	}{
		{
			name: "tampered state",
			callback: func(t *testing.T, h *harness, b *rptest.Browser) string {
				cb := h.stopAtCallback(t, b, h.base+"/")
				q := cb.Query()
				q.Set("state", q.Get("state")+"x")
				cb.RawQuery = q.Encode()
				return cb.String()
			},
			status:  http.StatusBadRequest,
			message: "Ihre Anmeldung ist abgelaufen",
			reason:  "state_mismatch",
		},
		{
			name: "callback in another browser",
			callback: func(t *testing.T, h *harness, b *rptest.Browser) string {
				cb := h.stopAtCallback(t, h.op.NewBrowser(t), h.base+"/")
				return cb.String()
			},
			status:  http.StatusBadRequest,
			message: "Ihre Anmeldung ist abgelaufen",
			reason:  "no_transaction",
		},
		{
			name: "callback replayed",
			callback: func(t *testing.T, h *harness, b *rptest.Browser) string {
				cb := h.stopAtCallback(t, b, h.base+"/")
				if _, body := b.Get(t, cb.String()); !strings.Contains(body, "Hallo Anna") {
					t.Fatalf("first callback failed: %q", body)
				}
				b.Jar.SetCookies(mustURL(h.base), []*http.Cookie{{Name: "kc-" + clientID + "-session", Value: "", MaxAge: -1}})
				return cb.String()
			},
			status:  http.StatusBadRequest,
			message: "Ihre Anmeldung ist abgelaufen",
			reason:  "no_transaction",
		},
		{
			name: "wrong nonce in the ID token",
			callback: func(t *testing.T, h *harness, b *rptest.Browser) string {
				h.op.TamperAuthorize(func(q url.Values) { q.Set("nonce", "not-the-nonce-the-rp-sent") })
				return h.stopAtCallback(t, b, h.base+"/").String()
			},
			status:  http.StatusBadRequest,
			message: "konnte nicht abgeschlossen werden",
			reason:  "code_exchange",
		},
		{
			name: "no nonce in the ID token",
			callback: func(t *testing.T, h *harness, b *rptest.Browser) string {
				h.op.TamperAuthorize(func(q url.Values) { q.Del("nonce") })
				return h.stopAtCallback(t, b, h.base+"/").String()
			},
			status:  http.StatusBadRequest,
			message: "konnte nicht abgeschlossen werden",
			reason:  "code_exchange",
		},
		{
			name: "PKCE challenge replaced",
			callback: func(t *testing.T, h *harness, b *rptest.Browser) string {
				h.op.TamperAuthorize(func(q url.Values) { q.Set("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM") })
				return h.stopAtCallback(t, b, h.base+"/").String()
			},
			status:  http.StatusBadRequest,
			message: "konnte nicht abgeschlossen werden",
			reason:  "code_exchange",
		},
		{
			name: "foreign iss parameter",
			callback: func(t *testing.T, h *harness, b *rptest.Browser) string {
				cb := h.stopAtCallback(t, b, h.base+"/")
				q := cb.Query()
				q.Set("iss", "https://evil.example")
				cb.RawQuery = q.Encode()
				return cb.String()
			},
			status:  http.StatusBadRequest,
			message: "konnte nicht abgeschlossen werden",
			reason:  "issuer_mismatch",
		},
		{
			name: "cancelled at the IdP",
			callback: func(t *testing.T, h *harness, b *rptest.Browser) string {
				b.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
					if req.URL.Path == rp.CallbackPath {
						return http.ErrUseLastResponse
					}
					return nil
				}
				defer func() { b.CheckRedirect = nil }()
				resp, _ := b.LoginAt(t, h.base+"/", rptest.Anna, "deny")
				return resp.Header.Get("Location")
			},
			status:  http.StatusBadRequest,
			message: "Sie haben die Anmeldung abgebrochen.",
			reason:  "idp_error",
		},
		{
			name: "login_required from the IdP",
			callback: func(t *testing.T, h *harness, b *rptest.Browser) string {
				return h.base + "/auth/callback?error=login_required&error_description=%3Cscript%3E"
			},
			status:  http.StatusBadRequest,
			message: "Bitte melden Sie sich an",
			reason:  "idp_error",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			b := h.op.NewBrowser(t)
			target := tt.callback(t, h, b)
			resp, err := noFollow(b).Get(target)
			if err != nil {
				t.Fatalf("GET callback: %v", err)
			}
			body := readAll(t, resp)
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if !strings.Contains(body, tt.message) || !strings.Contains(body, "Referenz für den Support") {
				t.Errorf("error page lacks %q and a reference: %s", tt.message, body)
			}
			for _, leak := range []string{"goroutine", "oidc:", "nonce", "<script>"} {
				if strings.Contains(body, leak) {
					t.Errorf("error page shows %q", leak)
				}
			}
			if h.hasSession(t, b) {
				t.Error("a refused callback left a session cookie")
			}
			logs := h.logs.String()
			if !strings.Contains(logs, "reason="+tt.reason) {
				t.Errorf("log lacks reason=%s: %s", tt.reason, logs)
			}
			if strings.Contains(logs, "not-the-nonce-the-rp-sent") {
				t.Errorf("the log shows a nonce: %s", logs)
			}
		})
	}
}

func TestReturnPath(t *testing.T) {
	h := newHarness(t, nil)
	tests := []struct {
		name, ret, want string
	}{
		{name: "relative path kept", ret: "/docs/ok?q=1#top", want: "/docs/ok?q=1"},
		{name: "protocol-relative", ret: "//evil.example/x", want: "/"},
		{name: "absolute URL", ret: "https://evil.example/", want: "/"},
		{name: "backslash", ret: `/\evil.example`, want: "/"},
		{name: "javascript", ret: "javascript:alert(1)", want: "/"},
		{name: "login loop", ret: "/login?return=/", want: "/"},
		{name: "empty", ret: "", want: "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := h.op.NewBrowser(t)
			resp, body := b.Login(t, h.base+"/login?return="+url.QueryEscape(tt.ret), rptest.Anna)
			got := resp.Request.URL
			if got.Scheme+"://"+got.Host != h.base || got.RequestURI() != tt.want {
				t.Errorf("landed on %s, want %s%s", got, h.base, tt.want)
			}
			if !strings.Contains(body, "Hallo Anna Muster") {
				t.Errorf("body %q", body)
			}
		})
	}
}

func TestLogout(t *testing.T) {
	h := newHarness(t, nil)
	b := h.op.NewBrowser(t)
	_, body := b.Login(t, h.base+"/", rptest.Anna)
	m := csrfRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token on the page: %q", body)
	}
	resp, err := noFollow(b).PostForm(h.base+"/logout", url.Values{"csrf": {m[1]}})
	if err != nil {
		t.Fatalf("POST /logout: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout status %d, want 303", resp.StatusCode)
	}
	loc, err := resp.Location()
	if err != nil || !strings.HasPrefix(loc.String(), h.op.Issuer+"/end_session?") {
		t.Fatalf("logout redirects to %v, want the end_session endpoint", loc)
	}
	q := loc.Query()
	if parts := strings.Split(q.Get("id_token_hint"), "."); len(parts) != 3 {
		t.Errorf("id_token_hint %q is not a JWT", q.Get("id_token_hint"))
	}
	for k, want := range map[string]string{"post_logout_redirect_uri": h.base + "/logged-out", "client_id": clientID} {
		if got := q.Get(k); got != want {
			t.Errorf("end_session %s = %q, want %q", k, got, want)
		}
	}
	if q.Get("state") == "" {
		t.Error("end_session without state")
	}
	cleared := false
	for _, c := range resp.Cookies() {
		if c.Name == "kc-"+clientID+"-session" && c.MaxAge < 0 {
			cleared = true
		}
	}
	if !cleared || h.hasSession(t, b) {
		t.Error("logout did not clear the session cookie")
	}

	// The OP ends its session and sends the browser back to /logged-out.
	resp, body = b.Get(t, loc.String())
	if resp.Request.URL.Path != "/logged-out" || !strings.Contains(body, "Sie haben sich abgemeldet") {
		t.Errorf("after end_session: %s %q", resp.Request.URL, body)
	}
	resp, _ = b.Get(t, h.base+"/")
	if resp.Request.URL.Host == mustURL(h.base).Host {
		t.Errorf("after logout / is served without login: %s", resp.Request.URL)
	}
}

func TestLogoutRefused(t *testing.T) {
	tests := []struct {
		name   string
		csrf   func(token string) string
		header http.Header
	}{
		{name: "no token", csrf: func(string) string { return "" }},
		{name: "wrong token", csrf: func(tok string) string { return tok + "x" }},
		{name: "cross-site request", csrf: func(tok string) string { return tok }, header: http.Header{"Sec-Fetch-Site": {"cross-site"}}},
		{name: "foreign origin", csrf: func(tok string) string { return tok }, header: http.Header{"Origin": {"https://evil.example"}}},
	}
	h := newHarness(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := h.op.NewBrowser(t)
			_, body := b.Login(t, h.base+"/", rptest.Anna)
			m := csrfRe.FindStringSubmatch(body)
			if m == nil {
				t.Fatalf("no CSRF token on the page: %q", body)
			}
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, h.base+"/logout",
				strings.NewReader(url.Values{"csrf": {tt.csrf(m[1])}}.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range tt.header {
				req.Header[k] = v
			}
			resp, err := noFollow(b).Do(req)
			if err != nil {
				t.Fatalf("POST /logout: %v", err)
			}
			body = readAll(t, resp)
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "aus Sicherheitsgründen abgelehnt") {
				t.Errorf("status %d, body %q; want the 403 page", resp.StatusCode, body)
			}
			if _, body := b.Get(t, h.base+"/"); !strings.Contains(body, "Hallo Anna Muster") {
				t.Errorf("a refused logout ended the session: %q", body)
			}
		})
	}
}

func TestSessionExpires(t *testing.T) {
	h := newHarness(t, func(c *rp.Config) { c.SessionTTL = time.Hour })
	b := h.op.NewBrowser(t)
	if _, body := b.Login(t, h.base+"/", rptest.Anna); !strings.Contains(body, "Hallo Anna") {
		t.Fatalf("login failed: %q", body)
	}
	h.clock.Store(int64((61 * time.Minute).Seconds()))
	resp, err := noFollow(b).Get(h.base + "/docs/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?return=%2Fdocs%2Fx" {
		t.Errorf("expired session: status %d, location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestSecurityHeaders(t *testing.T) {
	h := newHarness(t, nil)
	b := h.op.NewBrowser(t)
	for _, path := range []string{"/", "/logged-out", "/auth/callback?error=access_denied"} {
		t.Run(path, func(t *testing.T) {
			resp, err := noFollow(b).Get(h.base + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			csp := resp.Header.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'none'", "frame-ancestors 'none'", "form-action 'self' " + h.op.Issuer, "base-uri 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %q", csp, want)
				}
			}
			if strings.Contains(csp, "unsafe-inline") {
				t.Errorf("CSP allows inline code: %q", csp)
			}
			for k, want := range map[string]string{
				"X-Content-Type-Options": "nosniff",
				"Referrer-Policy":        "no-referrer",
				"Cache-Control":          "no-store",
			} {
				if got := resp.Header.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

// TestSecureCookies checks the production cookie settings (Insecure false):
// __Host- prefix, Secure, HttpOnly, Path=/, no Domain, and HSTS.
func TestSecureCookies(t *testing.T) {
	op := rptest.New(t, true)
	op.Register(clientID, clientSecret, "https://status.example")
	c, err := rp.New(t.Context(), rp.Config{
		Issuer: op.Issuer, ClientID: clientID, ClientSecret: clientSecret, BaseURL: "https://status.example",
		CookieKey: cookieKey, HTTPClient: op.Client(), ACRValues: "urn:kanton:loa:substantial",
	})
	if err != nil {
		t.Fatalf("rp.New: %v", err)
	}
	rec := httptest.NewRecorder()
	c.SecureHeaders(http.HandlerFunc(c.Login)).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "https://status.example/login", nil))
	resp := rec.Result()
	if got := resp.Header.Get("Strict-Transport-Security"); got != webkit.HSTS {
		t.Errorf("HSTS = %q", got)
	}
	loc, _ := resp.Location()
	if loc == nil || !strings.HasPrefix(loc.String(), op.Issuer+"/authorize?") || loc.Query().Get("acr_values") != "urn:kanton:loa:substantial" {
		t.Errorf("login redirects to %v, want the https authorize endpoint with acr_values", loc)
	}
	cookies := resp.Cookies()
	if len(cookies) != 1 {
		t.Fatalf("%d cookies, want the login transaction cookie", len(cookies))
	}
	ck := cookies[0]
	if ck.Name != "__Host-kc-"+clientID+"-login" || !ck.Secure || !ck.HttpOnly || ck.Path != "/" || ck.Domain != "" || ck.SameSite != http.SameSiteLaxMode {
		t.Errorf("transaction cookie %+v", ck)
	}
}

func TestDiscovery(t *testing.T) {
	const well = "/.well-known/openid-configuration"
	tests := []struct {
		name     string
		failures int
		issuer   func(op *rptest.Provider) string
		timeout  time.Duration
		wantErr  error // nil = success; errAny = some error
		wantHits int
	}{
		{name: "IdP up", wantHits: 1},
		{name: "IdP starting", failures: 3, wantHits: 4},
		{name: "issuer mismatch fails at once", issuer: func(op *rptest.Provider) string { return op.Issuer + "/" }, wantErr: errAny, wantHits: 1},
		{name: "IdP down until ctx ends", failures: 1 << 20, timeout: 300 * time.Millisecond, wantErr: context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := rptest.New(t, false)
			op.FailNext(well, tt.failures)
			issuer := op.Issuer
			if tt.issuer != nil {
				issuer = tt.issuer(op)
			}
			ctx := t.Context()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			_, err := rp.New(ctx, rp.Config{
				Issuer: issuer, ClientID: clientID, BaseURL: "http://127.0.0.1:1", CookieKey: cookieKey,
				Insecure: true, HTTPClient: op.Client(), Logger: slog.New(slog.DiscardHandler),
			})
			switch {
			case tt.wantErr == nil:
				if err != nil {
					t.Fatalf("rp.New: %v", err)
				}
			case tt.wantErr == errAny:
				if err == nil {
					t.Fatal("rp.New succeeded, want an error")
				}
			case !errors.Is(err, tt.wantErr):
				t.Fatalf("rp.New error = %v, want %v", err, tt.wantErr)
			}
			if got := op.Hits(well); tt.wantHits > 0 && got != tt.wantHits {
				t.Errorf("%d discovery requests, want %d", got, tt.wantHits)
			}
		})
	}
}

var errAny = errors.New("any error")

func TestConfigValidate(t *testing.T) {
	good := rp.Config{Issuer: "https://idp.example", ClientID: "status", BaseURL: "https://status.example", CookieKey: cookieKey}
	tests := []struct {
		name   string
		change func(*rp.Config)
		want   []string // substrings of the error; none = valid
	}{
		{name: "valid", change: func(*rp.Config) {}},
		{name: "dev on http", change: func(c *rp.Config) {
			c.Issuer, c.BaseURL, c.Insecure = "http://localhost:8080", "http://localhost:8082/", true
		}},
		{name: "everything wrong at once", change: func(c *rp.Config) {
			*c = rp.Config{Issuer: "idp.example", BaseURL: "http://status.example/app", CookieKey: []byte("short"), Scopes: []string{"profile"}}
		}, want: []string{"Issuer: not an absolute", "ClientID: empty", "BaseURL: \"http://status.example/app\" uses http", "CookieKey: 5 bytes", "Scopes:"}},
		{name: "base URL with path", change: func(c *rp.Config) { c.BaseURL = "https://portal.example/status" }, want: []string{"BaseURL:", "has a path"}},
		{name: "http without Insecure", change: func(c *rp.Config) { c.Issuer = "http://idp.example" }, want: []string{"Issuer:", "set Insecure"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.change(&c)
			err := c.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate accepted a bad config")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		t.Fatalf("read body: %v", err)
	}
	return buf.String()
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
