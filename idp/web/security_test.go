package web_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
)

const (
	email    = "anna.muster@example.ch"
	password = "Sonnenblume-Aare-42"
)

func post(t *testing.T, b *idptest.Browser, env *idptest.Env, path string, form url.Values, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, env.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

// volatile strips what differs between two renderings of the same answer.
var volatile = regexp.MustCompile(`name="csrf" value="[^"]*"|Fehler-ID[^<]*|[A-Za-z0-9_-]{12}\b(?:</)|request[^<]*`)

func TestSecurityHeadersOnEveryRoute(t *testing.T) {
	t.Parallel()
	env := idptest.Start(t, idptest.Options{Secure: true})
	for _, path := range []string{"/", "/login", "/register", "/reset", "/reset/confirm?token=x", "/activate?token=x",
		"/logout", "/login/error", "/nope", "/.well-known/openid-configuration", "/keys", "/authorize?client_id=x"} {
		t.Run(path, func(t *testing.T) {
			c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := c.Get(env.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			h := resp.Header
			csp := h.Get("Content-Security-Policy")
			for _, want := range []string{"frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'", "default-src 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %s", csp, want)
				}
			}
			if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" ||
				!strings.Contains(h.Get("Strict-Transport-Security"), "max-age=63072000") {
				t.Errorf("headers: %v", h)
			}
			if !strings.HasPrefix(path, "/.well-known") && path != "/keys" && h.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", h.Get("Cache-Control"))
			}
			for _, c := range resp.Cookies() {
				if !strings.HasPrefix(c.Name, "__Host-") || !c.Secure || !c.HttpOnly || c.Path != "/" || c.Domain != "" ||
					c.SameSite != http.SameSiteLaxMode {
					t.Errorf("cookie %s: secure=%v httponly=%v path=%q domain=%q samesite=%v", c.Name, c.Secure, c.HttpOnly, c.Path, c.Domain, c.SameSite)
				}
			}
		})
	}
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	env := idptest.Start(t, idptest.Options{})
	b := env.NewBrowser(t)
	token := b.CSRF(t, env.URL+"/login")
	form := url.Values{"csrf": {token}, "email": {email}, "password": {password}}
	for name, hdr := range map[string]map[string]string{
		"cross-site fetch metadata": {"Sec-Fetch-Site": "cross-site"},
		"foreign origin":            {"Origin": "https://evil.example"},
	} {
		t.Run(name, func(t *testing.T) {
			resp, _ := post(t, b, env, "/login", form, hdr)
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("status %d, want 403", resp.StatusCode)
			}
		})
	}
	t.Run("missing token", func(t *testing.T) {
		resp, _ := post(t, b, env, "/login", url.Values{"email": {email}, "password": {password}}, nil)
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d, want 403", resp.StatusCode)
		}
	})
	t.Run("token of another browser", func(t *testing.T) {
		other := env.NewBrowser(t)
		other.CSRF(t, env.URL+"/login") // its own cookie
		resp, _ := post(t, other, env, "/login", form, nil)
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d, want 403", resp.StatusCode)
		}
	})
}

// TestEnumerationSafe: registration and reset answer the same for known and
// unknown addresses.
func TestEnumerationSafe(t *testing.T) {
	t.Parallel()
	env := idptest.Start(t, idptest.Options{})
	env.CreateAccount(t, "Anna", "Muster", email, password)
	answer := func(path string, form url.Values) (int, string) {
		b := env.NewBrowser(t)
		form.Set("csrf", b.CSRF(t, env.URL+path))
		resp, body := post(t, b, env, path, form, nil)
		body = strings.ReplaceAll(body, form.Get("email"), "ADDRESS")
		return resp.StatusCode, volatile.ReplaceAllString(body, "")
	}
	reg := func(addr string) url.Values {
		return url.Values{"given_name": {"Eva"}, "family_name": {"Beispiel"}, "email": {addr},
			"password": {"Ganz-anderes-Passwort-9"}, "password_repeat": {"Ganz-anderes-Passwort-9"}}
	}
	s1, b1 := answer("/register", reg(email))
	s2, b2 := answer("/register", reg("neu@example.ch"))
	if s1 != s2 || b1 != b2 {
		t.Errorf("register answers differ: %d vs %d\n%s\n---\n%s", s1, s2, b1, b2)
	}
	s1, b1 = answer("/reset", url.Values{"email": {email}})
	s2, b2 = answer("/reset", url.Values{"email": {"niemand@example.ch"}})
	if s1 != s2 || b1 != b2 {
		t.Errorf("reset answers differ: %d vs %d", s1, s2)
	}
	s1, b1 = answer("/login", url.Values{"email": {email}, "password": {"Falsches-Passwort-1"}})
	s2, b2 = answer("/login", url.Values{"email": {"niemand@example.ch"}, "password": {"Falsches-Passwort-1"}})
	if s1 != s2 || b1 != b2 || s1 != http.StatusUnauthorized {
		t.Errorf("login answers differ: %d vs %d", s1, s2)
	}
}

// TestBruteForceThrottled: failures on one account are throttled, and a
// spoofed X-Forwarded-For from an untrusted peer changes nothing.
func TestBruteForceThrottled(t *testing.T) {
	t.Parallel()
	env := idptest.Start(t, idptest.Options{})
	env.CreateAccount(t, "Anna", "Muster", email, password)
	b := env.NewBrowser(t)
	token := b.CSRF(t, env.URL+"/login")
	limited := 0
	for i := range 15 {
		resp, _ := post(t, b, env, "/login", url.Values{"csrf": {token}, "email": {email}, "password": {"Falsch-Falsch-" + string(rune('a'+i))}},
			map[string]string{"X-Forwarded-For": "198.51.100." + string(rune('0'+i%10))})
		if resp.StatusCode == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited == 0 {
		t.Fatal("15 failed logins on one account were never throttled")
	}
	// Even the right password is refused while throttled (and says so).
	resp, body := post(t, b, env, "/login", url.Values{"csrf": {token}, "email": {email}, "password": {password}}, nil)
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "Zu viele Versuche") {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

// TestResetEndsSessions: a password reset ends the account's sessions and
// refresh tokens; the link works once.
func TestResetEndsSessions(t *testing.T) {
	t.Parallel()
	env := idptest.Start(t, idptest.Options{})
	acct := env.CreateAccount(t, "Anna", "Muster", email, password)
	ctx := t.Context()
	sess, err := env.Service.StartSessionSince(ctx, acct.ID, []string{"pwd"}, idp.LevelLow, env.Service.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Service.RequestReset(ctx, email, "de", "203.0.113.9"); err != nil {
		t.Fatal(err)
	}
	m, ok := env.LastMail(email, idp.MailReset)
	if !ok {
		t.Fatal("no reset mail")
	}
	link, _ := url.Parse(m.Data["Link"])
	token := link.Query().Get("token")
	if _, err := env.Service.Reset(ctx, token, "Neues-Passwort-Rhein-77", "Neues-Passwort-Rhein-77"); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Service.Session(ctx, sess.ID); err == nil {
		t.Fatal("session survived the password reset")
	}
	if _, err := env.Service.Reset(ctx, token, "Drittes-Passwort-Reuss-5", "Drittes-Passwort-Reuss-5"); err != idp.ErrLinkInvalid {
		t.Fatalf("reset link reused: %v", err)
	}
	if _, err := env.Service.Login(ctx, email, password, "203.0.113.9"); err != idp.ErrLoginFailed {
		t.Fatalf("old password: %v", err)
	}
	if _, ok := env.LastMail(email, idp.MailPasswordChanged); !ok {
		t.Fatal("no password-changed notice")
	}
}
