package web_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
	"github.com/kanton/kundencenter/idp/web"
)

// fakeClock is a test clock that moves only when told.
type fakeClock struct{ offset atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *fakeClock) advance(d time.Duration) { c.offset.Add(int64(d)) }
func sessionCookie(b *idptest.Browser, u *url.URL) string {
	for _, c := range b.Jar.Cookies(u) {
		if c.Name == web.SessionCookieName(false) {
			return c.Value
		}
	}
	return ""
}

// plainLogin logs in on the IdP's own login page (no auth request) and
// returns the session cookie afterwards.
func plainLogin(t *testing.T, env *idptest.Env, b *idptest.Browser, email, password string) string {
	t.Helper()
	csrf := b.CSRF(t, env.URL+"/login")
	req, _ := http.NewRequest(http.MethodPost, env.URL+"/login", strings.NewReader(url.Values{
		"csrf": {csrf}, "email": {email}, "password": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", env.URL)
	c := *b.Client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: status %d", resp.StatusCode)
	}
	u, _ := url.Parse(env.URL)
	return sessionCookie(b, u)
}

// signedIn reports whether the browser's session still opens an account page.
func signedIn(t *testing.T, env *idptest.Env, b *idptest.Browser) bool {
	t.Helper()
	c := *b.Client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(env.URL + "/security")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
		return true
	case resp.StatusCode/100 == 3 && strings.HasPrefix(resp.Header.Get("Location"), "/login"):
		return false
	}
	t.Fatalf("/security: status %d, location %q", resp.StatusCode, resp.Header.Get("Location"))
	return false
}

// TestSessionFixation: a session cookie planted in the browser before the
// login (here a real session of the attacker's own account) is replaced by
// a fresh one on login and the planted session is over; a second login
// rotates the cookie again.
func TestSessionFixation(t *testing.T) {
	t.Parallel()
	env := idptest.Start(t, idptest.Options{})
	env.CreateAccount(t, "Anna", "Muster", "anna@example.ch", "Korrekt-Pferd-42")
	mallory := env.CreateAccount(t, "Mallory", "Meier", "mallory@example.ch", "Neues-Passwort-Rhein-77")
	planted, err := env.Service.StartSessionSince(t.Context(), mallory.ID, []string{idp.AMRPassword}, idp.LevelLow, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	b := env.NewBrowser(t)
	u, _ := url.Parse(env.URL)
	b.Jar.SetCookies(u, []*http.Cookie{{Name: web.SessionCookieName(false), Value: planted.ID, Path: "/"}})

	first := plainLogin(t, env, b, "anna@example.ch", "Korrekt-Pferd-42")
	if first == "" || first == planted.ID {
		t.Fatalf("session cookie after login = %q, planted %q: not rotated", first, planted.ID)
	}
	if _, err := env.Service.Session(t.Context(), planted.ID); !errors.Is(err, idp.ErrNotFound) {
		t.Errorf("the planted session survived the login: %v", err)
	}
	sess, err := env.Service.Session(t.Context(), first)
	if err != nil || sess.AccountID == mallory.ID {
		t.Fatalf("session after login: %+v, %v", sess, err)
	}
	second := plainLogin(t, env, b, "anna@example.ch", "Korrekt-Pferd-42")
	if second == "" || second == first {
		t.Fatalf("a second login kept the session cookie %q", first)
	}
	if _, err := env.Service.Session(t.Context(), first); !errors.Is(err, idp.ErrNotFound) {
		t.Errorf("the replaced session is still live: %v", err)
	}
}

// TestSessionTimeouts: with a fake clock, activity keeps a session alive
// across the idle limit (60 minutes by default), an hour and more without
// activity ends it, and the absolute limit (12 hours) ends it however
// active it is.
func TestSessionTimeouts(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{}
	env := idptest.Start(t, idptest.Options{Now: clock.now})
	env.CreateAccount(t, "Anna", "Muster", "anna@example.ch", "Korrekt-Pferd-42")
	b := env.NewBrowser(t)
	plainLogin(t, env, b, "anna@example.ch", "Korrekt-Pferd-42")
	if !signedIn(t, env, b) {
		t.Fatal("not signed in after login")
	}

	// Idle: three times 50 minutes with a page in between is fine, then
	// 61 minutes without a request end it.
	for i := range 3 {
		clock.advance(50 * time.Minute)
		if !signedIn(t, env, b) {
			t.Fatalf("signed out after %d × 50 minutes with activity", i+1)
		}
	}
	clock.advance(61 * time.Minute)
	if signedIn(t, env, b) {
		t.Fatal("still signed in after 61 idle minutes")
	}

	// Absolute: a page every 30 minutes keeps it for 12 hours, not longer.
	plainLogin(t, env, b, "anna@example.ch", "Korrekt-Pferd-42")
	for elapsed := 30 * time.Minute; elapsed < 12*time.Hour; elapsed += 30 * time.Minute {
		clock.advance(30 * time.Minute)
		if !signedIn(t, env, b) {
			t.Fatalf("signed out after %v of steady activity", elapsed)
		}
	}
	clock.advance(31 * time.Minute)
	if signedIn(t, env, b) {
		t.Fatal("still signed in after 12 hours 1 minute (absolute limit)")
	}
}
