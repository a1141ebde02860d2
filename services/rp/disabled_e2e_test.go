package rp_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
	"github.com/kanton/kundencenter/notify"
	"github.com/kanton/kundencenter/services/rp"
	"github.com/kanton/kundencenter/store/postgres"
	"github.com/kanton/kundencenter/store/sqlite"
)

const (
	e2ePassword = "Sommer2025Zug-Aare"
	e2eSecret   = "rp-e2e-secret-0123456789abcdef0123"
)

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// eventQueue runs River with notify's event workers over env's store and
// streams the finished SET jobs.
func eventQueue(t *testing.T, env *idptest.Env) <-chan *river.Event {
	t.Helper()
	ws := river.NewWorkers()
	notify.AddEventWorkers(ws, notify.EventsConfig{Issuer: env.URL, Signer: env.Keys, Store: env.Store, Log: quietLog,
		Backoff: func(int) time.Duration { return 50 * time.Millisecond }})
	cfg := &river.Config{
		Queues:        map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 2}},
		Workers:       ws,
		FetchCooldown: 5 * time.Millisecond, FetchPollInterval: 20 * time.Millisecond,
		Logger: quietLog, TestOnly: true,
	}
	start := func(sub func(...river.EventKind) (<-chan *river.Event, func()), run func(context.Context) error, stop func(context.Context) error) <-chan *river.Event {
		events, cancel := sub(river.EventKindJobCompleted, river.EventKindJobCancelled)
		if err := run(t.Context()); err != nil {
			t.Fatalf("start River: %v", err)
		}
		t.Cleanup(func() {
			ctx, done := context.WithTimeout(context.Background(), 10*time.Second)
			defer done()
			_ = stop(ctx)
			cancel()
		})
		return events
	}
	switch s := env.Store.(type) {
	case *sqlite.Store:
		c, err := river.NewClient(riversqlite.New(s.DB()), cfg)
		if err != nil {
			t.Fatal(err)
		}
		return start(c.Subscribe, c.Start, c.Stop)
	case *postgres.Store:
		c, err := river.NewClient(riverpgxv5.New(s.Pool()), cfg)
		if err != nil {
			t.Fatal(err)
		}
		return start(c.Subscribe, c.Start, c.Stop)
	}
	t.Fatalf("no River driver for %T", env.Store)
	return nil
}

// waitSET waits until a SET job has finished and returns its state.
func waitSET(t *testing.T, events <-chan *river.Event) string {
	t.Helper()
	safety := time.NewTimer(60 * time.Second) // a safety net, not a timing assertion
	defer safety.Stop()
	for {
		select {
		case ev := <-events:
			if ev.Job.Kind == idp.OutgoingEvent {
				return string(ev.Job.State)
			}
		case <-safety.C:
			t.Fatal("no SET job finished")
		}
	}
}

// e2eService is a service on the rp package, logged in to through a real IdP.
type e2eService struct {
	base string
	mu   sync.Mutex
	seen []rp.SecurityEvent // what reached Config.OnSecurityEvent
}

func (s *e2eService) events() []rp.SecurityEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.seen)
}

// get fetches base+path with b's cookies, following redirects except to
// the callback (returned unfollowed) and those leaving for the IdP's login
// page (followed: the caller sees the login page).
func get(t *testing.T, b *idptest.Browser, u string, stopAtCallback bool) (*http.Response, string) {
	t.Helper()
	c := &http.Client{Jar: b.Jar, Timeout: 10 * time.Second, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if stopAtCallback && req.URL.Path == rp.CallbackPath {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// login logs email in at the service from its start page and returns the
// callback URL the IdP sends the browser to (not yet followed).
func login(t *testing.T, env *idptest.Env, b *idptest.Browser, svc *e2eService, email string) string {
	t.Helper()
	resp, _ := get(t, b, svc.base+"/", true)
	if !strings.HasPrefix(resp.Request.URL.String(), env.URL+"/login") {
		t.Fatalf("the service's start page led to %s (%d), not the IdP's login", resp.Request.URL, resp.StatusCode)
	}
	cb := b.Login(t, resp.Request.URL.Query().Get("authRequestID"), email, e2ePassword)
	if cb.Path != rp.CallbackPath {
		t.Fatalf("the IdP sent the browser to %s, not the callback", cb)
	}
	return cb.String()
}

// TestAccountDisabledEvents: an operator disables an account that used the
// service; the IdP's notify worker pushes a signed RISC account-disabled
// SET (reason hijacking) queued with the status change, and the service
// ends the account's session (no back-channel logout URI is registered:
// the SET alone does it) and refuses a login the person had under way
// with the 403 page in their language. Enabling the account pushes
// account-enabled, and the person logs in again. Both databases.
func TestAccountDisabledEvents(t *testing.T) {
	backends := []struct {
		name string
		open func(t *testing.T) idp.Store
	}{
		{"sqlite", func(*testing.T) idp.Store { return nil }},
		{"postgres", func(t *testing.T) idp.Store { return idptest.Postgres(t) }},
	}
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			env := idptest.Start(t, idptest.Options{Store: be.open(t)})
			ctx := t.Context()
			app := httptest.NewUnstartedServer(nil)
			t.Cleanup(app.Close)
			svc := &e2eService{base: "http://" + app.Listener.Addr().String()}
			env.AddClient(t, idp.Client{ID: "status", Name: "Meine Vorgänge", RedirectURIs: []string{svc.base + rp.CallbackPath},
				GrantTypes: []string{idp.GrantAuthorizationCode}, EventsURI: svc.base + rp.EventsPath}, e2eSecret)
			c, err := rp.New(ctx, rp.Config{Issuer: env.URL, ClientID: "status", ClientSecret: e2eSecret, BaseURL: svc.base,
				CookieKey: []byte("0123456789abcdef0123456789abcdef"), Insecure: true, Logger: quietLog,
				OnSecurityEvent: func(_ context.Context, ev rp.SecurityEvent) error {
					svc.mu.Lock()
					defer svc.mu.Unlock()
					svc.seen = append(svc.seen, ev)
					return nil
				}})
			if err != nil {
				t.Fatal(err)
			}
			mux := http.NewServeMux()
			c.Mount(mux)
			mux.Handle("GET /{$}", c.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s, _ := rp.SessionFrom(r.Context())
				_, _ = io.WriteString(w, "Hallo "+s.Subject)
			})))
			app.Config.Handler = c.SecureHeaders(mux)
			app.Start()

			acct := env.CreateAccount(t, "Anna", "Muster", "anna@example.ch", e2ePassword)
			other := env.CreateAccount(t, "Beat", "Beispiel", "beat@example.ch", e2ePassword)
			events := eventQueue(t, env)

			// Anna and Beat log in; Anna starts a second login in another
			// browser and stops before the callback.
			anna, beat, later := env.NewBrowser(t), env.NewBrowser(t), env.NewBrowser(t)
			for _, p := range []struct {
				b     *idptest.Browser
				email string
				sub   string
			}{{anna, "anna@example.ch", acct.ID}, {beat, "beat@example.ch", other.ID}} {
				if _, body := get(t, p.b, login(t, env, p.b, svc, p.email), false); body != "Hallo "+p.sub {
					t.Fatalf("after the login of %s: %q", p.email, body)
				}
			}
			pending := login(t, env, later, svc, "anna@example.ch")

			if err := env.Service.DisableAccount(ctx, acct.ID, idp.DisabledHijacking); err != nil {
				t.Fatal(err)
			}
			if st := waitSET(t, events); st != "completed" {
				t.Fatalf("account-disabled SET job: %s", st)
			}
			evs := svc.events()
			if len(evs) != 1 || evs[0].Type != rp.EventAccountDisabled || evs[0].Subject != acct.ID || evs[0].At.IsZero() {
				t.Fatalf("the service received %+v, want one account-disabled for %s", evs, acct.ID)
			}
			var payload map[string]any
			if err := json.Unmarshal(evs[0].Payload, &payload); err != nil || payload["reason"] != idp.DisabledHijacking {
				t.Errorf("account-disabled payload %s: want reason %q", evs[0].Payload, idp.DisabledHijacking)
			}

			// Anna's session at the service is over; Beat's is not.
			if resp, body := get(t, anna, svc.base+"/", true); strings.Contains(body, "Hallo") ||
				!strings.HasPrefix(resp.Request.URL.String(), env.URL) {
				t.Errorf("Anna's session after account-disabled: %s %q", resp.Request.URL, body)
			}
			if _, body := get(t, beat, svc.base+"/", true); body != "Hallo "+other.ID {
				t.Errorf("Beat's session after Anna's account-disabled: %q", body)
			}
			// The login under way ends on the friendly 403 page.
			resp, body := get(t, later, pending, false)
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Ihr Konto ist gesperrt") || strings.Contains(body, "Hallo") {
				t.Fatalf("login of the disabled account at the service: %d %.400s", resp.StatusCode, body)
			}

			if err := env.Service.EnableAccount(ctx, acct.ID); err != nil {
				t.Fatal(err)
			}
			if st := waitSET(t, events); st != "completed" {
				t.Fatalf("account-enabled SET job: %s", st)
			}
			if evs := svc.events(); len(evs) != 2 || evs[1].Type != rp.EventAccountEnabled || evs[1].Subject != acct.ID {
				t.Fatalf("the service received %+v, want account-enabled second", evs)
			}
			if _, body := get(t, anna, login(t, env, anna, svc, "anna@example.ch"), false); body != "Hallo "+acct.ID {
				t.Fatalf("Anna's login after account-enabled: %q", body)
			}
		})
	}
}
