package notify_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"

	"github.com/kanton/kundencenter/delegation"
	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
	"github.com/kanton/kundencenter/idp/web"
	"github.com/kanton/kundencenter/notify"
	"github.com/kanton/kundencenter/services/rp"
	"github.com/kanton/kundencenter/services/status"
	"github.com/kanton/kundencenter/store/postgres"
	"github.com/kanton/kundencenter/store/sqldb/sqldbtest"
	"github.com/kanton/kundencenter/store/sqlite"
)

const (
	testPassword = "Sommer2025Zug"
	testSecret   = "events-test-secret-0123456789abcdef"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// backends are the two durable stores the delivery runs on.
var backends = []struct {
	name string
	open func(t *testing.T) idp.Store
}{
	{"sqlite", func(*testing.T) idp.Store { return nil }}, // idptest's default
	{"postgres", func(t *testing.T) idp.Store { return idptest.Postgres(t) }},
}

// queue is a running River client's stream of finished jobs and a count
// of the jobs of a kind in any state.
type queue struct {
	events <-chan *river.Event
	count  func(kind string) int
}

// jobs runs River with the event workers over env's store until the test
// ends.
// confirmedRepresentation has the account representative represent the
// account principal for services, through the whole handshake (create,
// accept with the access code, confirm).
func confirmedRepresentation(t *testing.T, env *idptest.Env, principal, representative string, services ...string) delegation.Representation {
	t.Helper()
	ctx := t.Context()
	rep, code, err := env.Orgs.CreateRepresentation(ctx, principal, delegation.RepInput{Services: services})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Orgs.Accept(ctx, representative, code, "203.0.113.9"); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Orgs.Confirm(ctx, principal, rep.ID); err != nil {
		t.Fatal(err)
	}
	return rep
}

func jobs(t *testing.T, env *idptest.Env, backoff func(int) time.Duration) queue {
	t.Helper()
	ws := river.NewWorkers()
	notify.AddEventWorkers(ws, notify.EventsConfig{Issuer: env.URL, Signer: env.Keys, Store: env.Store, Log: quiet, Backoff: backoff,
		Subjects: env.Service.Subjects()})
	cfg := &river.Config{
		Queues:  map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 2}},
		Workers: ws,
		// A job inserted in a transaction does not wake SQLite's producer.
		FetchCooldown: 5 * time.Millisecond, FetchPollInterval: 20 * time.Millisecond,
		Logger: quiet, TestOnly: true,
	}
	switch s := env.Store.(type) {
	case *sqlite.Store:
		c, err := river.NewClient(riversqlite.New(s.DB()), cfg)
		return startRiver(t, c, err)
	case *postgres.Store:
		c, err := river.NewClient(riverpgxv5.New(s.Pool()), cfg)
		return startRiver(t, c, err)
	}
	t.Fatalf("no River driver for %T", env.Store)
	return queue{}
}

func startRiver[TTx any](t *testing.T, c *river.Client[TTx], err error) queue {
	t.Helper()
	if err != nil {
		t.Fatalf("River client: %v", err)
	}
	events, cancel := c.Subscribe(river.EventKindJobCompleted, river.EventKindJobCancelled, river.EventKindJobFailed)
	if err := c.Start(t.Context()); err != nil {
		t.Fatalf("start River: %v", err)
	}
	t.Cleanup(func() {
		ctx, stop := context.WithTimeout(context.Background(), 10*time.Second)
		defer stop()
		_ = c.Stop(ctx)
		cancel()
	})
	count := func(kind string) int {
		res, err := c.JobList(t.Context(), river.NewJobListParams().Kinds(kind).First(1000))
		if err != nil {
			t.Fatalf("list jobs: %v", err)
		}
		return len(res.Jobs)
	}
	return queue{events: events, count: count}
}

// waitJobs waits until n jobs of kind have finished for good (completed
// or cancelled) and returns their final states; a failed attempt that
// River retries is counted in retries.
func waitJobs(t *testing.T, q queue, kind string, n int) (states []string, retries int) {
	t.Helper()
	safety := time.NewTimer(60 * time.Second) // a safety net, not a timing assertion
	defer safety.Stop()
	for len(states) < n {
		select {
		case ev := <-q.events:
			if ev.Job.Kind != kind {
				continue
			}
			if ev.Kind == river.EventKindJobFailed && ev.Job.State != rivertype.JobStateDiscarded {
				retries++ // River tries again
				continue
			}
			states = append(states, string(ev.Job.State))
		case <-safety.C:
			t.Fatalf("only %d of %d %s jobs finished (%v)", len(states), n, kind, states)
		}
	}
	return states, retries
}

// receiver is a service's SET endpoint (RFC 8935): it verifies every SET
// against the IdP's published keys and answers as script says.
type receiver struct {
	t      *testing.T
	jwks   string
	script func(n int) int // status for the n-th request (1-based)

	mu       sync.Mutex
	requests int
	accepted []map[string]any // claims of the SETs answered with a 2xx
	bad      []string
}

func newReceiver(t *testing.T, env *idptest.Env, script func(int) int) (*receiver, string) {
	r := &receiver{t: t, jwks: env.URL + "/keys", script: script}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, srv.URL + "/events"
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.requests++
	n := r.requests
	r.mu.Unlock()
	body, _ := io.ReadAll(req.Body)
	claims, err := verify(r.jwks, string(body), "secevent+jwt")
	if err == nil && (req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/secevent+jwt") {
		err = fmt.Errorf("%s with Content-Type %q", req.Method, req.Header.Get("Content-Type"))
	}
	if err != nil {
		r.mu.Lock()
		r.bad = append(r.bad, err.Error())
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"err":"invalid_request","description":"` + err.Error() + `"}`))
		return
	}
	status := http.StatusAccepted
	if r.script != nil {
		status = r.script(n)
	}
	if status >= 200 && status < 300 {
		r.mu.Lock()
		r.accepted = append(r.accepted, claims)
		r.mu.Unlock()
	}
	if status == http.StatusBadRequest {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"err":"invalid_key","description":"unknown key"}`))
		return
	}
	w.WriteHeader(status)
}

func (r *receiver) result() ([]map[string]any, []string, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.accepted, r.bad, r.requests
}

// verify checks a JWT's ES256 signature against the JWKS at jwksURL and
// its typ header, and returns its claims.
func verify(jwksURL, token, typ string) (map[string]any, error) {
	resp, err := http.Get(jwksURL)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	h := jws.Signatures[0].Protected
	if got, _ := h.ExtraHeaders[jose.HeaderType].(string); got != typ {
		return nil, fmt.Errorf("typ %q, want %q", got, typ)
	}
	keys := set.Key(h.KeyID)
	if len(keys) != 1 {
		return nil, fmt.Errorf("kid %q not in the JWKS", h.KeyID)
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		return nil, fmt.Errorf("signature: %w", err)
	}
	var claims map[string]any
	return claims, json.Unmarshal(payload, &claims)
}

func subjectOf(issuer, sub string) map[string]any {
	return map[string]any{"format": "iss_sub", "iss": issuer, "sub": sub}
}

// TestAccountPurgedSETs deletes an account that used two of three
// services: after the dispatch, each of the two receives one signed
// account-purged SET (RFC 8417, RISC) that verifies against the IdP's
// JWKS, the third none, and the service events are delivered. Both stores.
func TestAccountPurgedSETs(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			env := idptest.Start(t, idptest.Options{Store: b.open(t)})
			ctx := t.Context()
			recv := map[string]*receiver{}
			for _, id := range []string{"forms", "status", "documents"} {
				r, uri := newReceiver(t, env, nil)
				recv[id] = r
				env.AddClient(t, idp.Client{ID: id, RedirectURIs: []string{"https://" + id + ".example.ch/cb"}, EventsURI: uri}, testSecret)
			}
			acct := env.CreateAccount(t, "Anna", "Muster", "anna@example.ch", testPassword)
			env.Service.NoteClientUse(ctx, acct.ID, "forms")
			env.Service.NoteClientUse(ctx, acct.ID, "status")
			if err := env.Service.DeleteAccountByUser(ctx, idp.DeleteInput{AccountID: acct.ID, Password: testPassword}); err != nil {
				t.Fatal(err)
			}
			events := jobs(t, env, nil)
			if n, err := notify.DispatchServiceEvents(ctx, env.Store); err != nil || n != 2 {
				t.Fatalf("dispatch: %d events, %v", n, err)
			}
			// A second dispatch while the jobs exist queues nothing new.
			if _, err := notify.DispatchServiceEvents(ctx, env.Store); err != nil {
				t.Fatal(err)
			}
			if states, _ := waitJobs(t, events, idp.OutgoingEvent, 2); states[0] != "completed" || states[1] != "completed" {
				t.Fatalf("job states %v", states)
			}
			// Dispatching again after delivery finds nothing to queue.
			if n, err := notify.DispatchServiceEvents(ctx, env.Store); err != nil || n != 0 {
				t.Fatalf("dispatch after delivery: %d events, %v", n, err)
			}
			if n := events.count(idp.OutgoingEvent); n != 2 {
				t.Fatalf("%d SET jobs, want 2 (one per event)", n)
			}
			for id, r := range recv {
				got, bad, _ := r.result()
				if len(bad) > 0 {
					t.Errorf("%s: refused SETs: %v", id, bad)
				}
				want := 1
				if id == "documents" {
					want = 0
				}
				if len(got) != want {
					t.Fatalf("%s received %d SETs, want %d", id, len(got), want)
				}
				if want == 0 {
					continue
				}
				c := got[0]
				ev, _ := c["events"].(map[string]any)[idp.EventAccountPurged].(map[string]any)
				if c["iss"] != env.URL || c["aud"] != id || c["jti"] == "" || c["iat"] == nil || ev == nil ||
					fmt.Sprint(ev["subject"]) != fmt.Sprint(subjectOf(env.URL, acct.ID)) ||
					fmt.Sprint(c["sub_id"]) != fmt.Sprint(subjectOf(env.URL, acct.ID)) {
					t.Errorf("%s: SET claims %v", id, c)
				}
			}
			if pending, err := env.Store.ListServiceEvents(ctx, 10); err != nil || len(pending) != 0 {
				t.Fatalf("pending service events after delivery: %v, %v", pending, err)
			}
		})
	}
}

// TestSETRetriedUntilAccepted: a receiver that answers 500 twice and then
// 202 gets the SET three times with the same jti, and the event counts as
// delivered once; a receiver that answers 400 gets it once, and the event
// is settled (not retried forever).
func TestSETRetriedUntilAccepted(t *testing.T) {
	t.Parallel()
	env := idptest.Start(t, idptest.Options{})
	ctx := t.Context()
	flaky, flakyURI := newReceiver(t, env, func(n int) int {
		if n <= 2 {
			return http.StatusInternalServerError
		}
		return http.StatusAccepted
	})
	refusing, refusingURI := newReceiver(t, env, func(int) int { return http.StatusBadRequest })
	env.AddClient(t, idp.Client{ID: "forms", RedirectURIs: []string{"https://forms.example.ch/cb"}, EventsURI: flakyURI}, testSecret)
	env.AddClient(t, idp.Client{ID: "status", RedirectURIs: []string{"https://status.example.ch/cb"}, EventsURI: refusingURI}, testSecret)
	acct := env.CreateAccount(t, "Anna", "Muster", "anna@example.ch", testPassword)
	env.Service.NoteClientUse(ctx, acct.ID, "forms")
	env.Service.NoteClientUse(ctx, acct.ID, "status")
	if err := env.Service.DeleteAccountByUser(ctx, idp.DeleteInput{AccountID: acct.ID, Password: testPassword}); err != nil {
		t.Fatal(err)
	}
	events := jobs(t, env, func(int) time.Duration { return time.Millisecond })
	if _, err := notify.DispatchServiceEvents(ctx, env.Store); err != nil {
		t.Fatal(err)
	}
	states, retries := waitJobs(t, events, idp.OutgoingEvent, 2)
	if strings.Join(states, ",") != "completed,cancelled" && strings.Join(states, ",") != "cancelled,completed" {
		t.Fatalf("job states %v", states)
	}
	if retries != 2 {
		t.Errorf("%d retried attempts, want 2", retries)
	}
	got, bad, requests := flaky.result()
	if requests != 3 || len(got) != 1 || len(bad) != 0 {
		t.Fatalf("flaky receiver: %d requests, %d accepted, refused %v", requests, len(got), bad)
	}
	if _, _, requests := refusing.result(); requests != 1 {
		t.Fatalf("refusing receiver got %d requests, want 1", requests)
	}
	if pending, err := env.Store.ListServiceEvents(ctx, 10); err != nil || len(pending) != 0 {
		t.Fatalf("pending service events: %v, %v", pending, err)
	}
}

// TestSETAny2xxDelivers: RFC 8935 asks for 202, but receivers that answer
// 200 or 204 have taken the SET too: it is sent once, the job completes
// and the event counts as delivered (no retries, no re-dispatch).
func TestSETAny2xxDelivers(t *testing.T) {
	t.Parallel()
	env := idptest.Start(t, idptest.Options{})
	ctx := t.Context()
	recv := map[string]*receiver{}
	for id, status := range map[string]int{"forms": http.StatusOK, "status": http.StatusNoContent} {
		r, uri := newReceiver(t, env, func(int) int { return status })
		recv[id] = r
		env.AddClient(t, idp.Client{ID: id, RedirectURIs: []string{"https://" + id + ".example.ch/cb"}, EventsURI: uri}, testSecret)
	}
	acct := env.CreateAccount(t, "Anna", "Muster", "anna@example.ch", testPassword)
	env.Service.NoteClientUse(ctx, acct.ID, "forms")
	env.Service.NoteClientUse(ctx, acct.ID, "status")
	if err := env.Service.DeleteAccountByUser(ctx, idp.DeleteInput{AccountID: acct.ID, Password: testPassword}); err != nil {
		t.Fatal(err)
	}
	events := jobs(t, env, func(int) time.Duration { return time.Millisecond })
	if _, err := notify.DispatchServiceEvents(ctx, env.Store); err != nil {
		t.Fatal(err)
	}
	states, retries := waitJobs(t, events, idp.OutgoingEvent, 2)
	if strings.Join(states, ",") != "completed,completed" || retries != 0 {
		t.Fatalf("job states %v, %d retries; want both completed at the first attempt", states, retries)
	}
	for id, r := range recv {
		if got, bad, requests := r.result(); requests != 1 || len(got) != 1 || len(bad) != 0 {
			t.Errorf("%s: %d requests, %d accepted, refused %v", id, requests, len(got), bad)
		}
	}
	if pending, err := env.Store.ListServiceEvents(ctx, 10); err != nil || len(pending) != 0 {
		t.Fatalf("pending service events after a 200 and a 204: %v, %v", pending, err)
	}
}

// TestDispatchPastStuckEvents: 500 undelivered events of a client whose
// receiver keeps failing (their jobs stay queued for retry) fill more than
// a page of pending events; an event for a healthy client deleted after
// them is still queued by the next dispatch. Both stores.
func TestDispatchPastStuckEvents(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			env := idptest.Start(t, idptest.Options{Store: b.open(t)})
			ctx := t.Context()
			st := env.Store
			at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			purge := func(i int, client string) {
				id := fmt.Sprintf("acc-%s-%03d", client, i)
				a := idp.Account{ID: id, KontoID: "KC-" + id, EmailIndex: []byte(id + strings.Repeat("x", 32))[:32], Sealed: []byte("sealed"),
					PasswordHash: "x", Status: idp.StatusActive, Locale: "de", CreatedAt: at}
				tok := idp.ActionToken{Hash: []byte(id + strings.Repeat("t", 32))[:32], Purpose: idp.PurposeActivate, AccountID: id, CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
				if err := st.CreateAccount(ctx, a, tok); err != nil {
					t.Fatal(err)
				}
				if err := st.RecordClientUse(ctx, id, client, at); err != nil {
					t.Fatal(err)
				}
				if err := st.PurgeAccount(ctx, idp.Purge{AccountID: id, Event: idp.EventAccountPurged, At: at}); err != nil {
					t.Fatal(err)
				}
			}
			for i := range 500 {
				purge(i, "down")
			}
			if n, err := notify.DispatchServiceEvents(ctx, st); err != nil || n != 500 {
				t.Fatalf("first dispatch: %d events, %v", n, err)
			}
			purge(0, "healthy")
			n, err := notify.DispatchServiceEvents(ctx, st)
			if err != nil || n != 501 {
				t.Fatalf("second dispatch looked at %d events (%v), want all 501 pending", n, err)
			}
			var healthy, all int
			switch s := st.(type) {
			case *sqlite.Store:
				err = s.DB().QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE json_extract(args, '$.notice.client_id') = 'healthy'), count(*)
					FROM river_job WHERE kind = ?`, idp.OutgoingEvent).Scan(&healthy, &all)
			case *postgres.Store:
				err = s.Pool().QueryRow(ctx, `SELECT count(*) FILTER (WHERE args->'notice'->>'client_id' = 'healthy'), count(*)
					FROM river_job WHERE kind = $1`, idp.OutgoingEvent).Scan(&healthy, &all)
			}
			if err != nil {
				t.Fatal(err)
			}
			if healthy != 1 || all != 501 {
				t.Fatalf("%d jobs for the healthy client, %d in all; want 1 and 501 (one per event)", healthy, all)
			}
		})
	}
}

// TestRepresentationEndedSETs: ending a confirmed representation queues,
// in its transaction, a SET for each service it covered, naming the
// principal as subject, the representative and the representation.
func TestRepresentationEndedSETs(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			env := idptest.Start(t, idptest.Options{Store: b.open(t)})
			ctx := t.Context()
			recv := map[string]*receiver{}
			for _, id := range []string{"forms", "status", "documents"} {
				r, uri := newReceiver(t, env, nil)
				recv[id] = r
				env.AddClient(t, idp.Client{ID: id, RedirectURIs: []string{"https://" + id + ".example.ch/cb"}, EventsURI: uri}, testSecret)
			}
			p := env.CreateAccount(t, "Paula", "Prinzipal", "paula@example.ch", testPassword)
			r := env.CreateAccount(t, "Anna", "Muster", "anna@example.ch", testPassword)
			rep := confirmedRepresentation(t, env, p.ID, r.ID, "forms", "status")
			if err := env.Orgs.EndRepresentation(ctx, r.ID, rep.ID); err != nil {
				t.Fatal(err)
			}
			events := jobs(t, env, nil)
			waitJobs(t, events, idp.OutgoingEvent, 2)
			for id, rc := range recv {
				got, bad, _ := rc.result()
				want := 1
				if id == "documents" {
					want = 0
				}
				if len(got) != want || len(bad) != 0 {
					t.Fatalf("%s: %d SETs (want %d), refused %v", id, len(got), want, bad)
				}
				if want == 0 {
					continue
				}
				ev, _ := got[0]["events"].(map[string]any)[idp.EventRepresentationEnded].(map[string]any)
				if ev == nil || ev["representation_id"] != rep.ID || got[0]["aud"] != id ||
					fmt.Sprint(ev["subject"]) != fmt.Sprint(subjectOf(env.URL, p.ID)) ||
					fmt.Sprint(ev["representative"]) != fmt.Sprint(subjectOf(env.URL, r.ID)) {
					t.Errorf("%s: SET claims %v", id, got[0])
				}
			}
		})
	}
}

// TestBackChannelLogoutEndsServiceSession logs in to the real status
// service through the IdP, logs out at the IdP, and after the logout
// token's job the service's session is over: "/" sends to the login.
func TestBackChannelLogoutEndsServiceSession(t *testing.T) {
	t.Parallel()
	env := idptest.Start(t, idptest.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	env.AddClient(t, idp.Client{ID: "status", RedirectURIs: []string{base + "/auth/callback"},
		PostLogoutRedirectURIs: []string{base + "/logged-out"}, BackChannelLogoutURI: base + rp.BackChannelLogoutPath}, testSecret)
	h, err := status.New(t.Context(), status.Config{DB: sqldbtest.Open(t, "sqlite", nil), RP: rp.Config{Issuer: env.URL, ClientID: "status", ClientSecret: testSecret,
		BaseURL: base, CookieKey: []byte("cookie-key-for-tests-32-bytes-ok"), Insecure: true, Logger: quiet}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	env.CreateAccount(t, "Anna", "Muster", "anna@example.ch", testPassword)

	b := env.NewBrowser(t)
	home := func() *http.Response {
		resp, err := b.Get(base + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := home(); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("before login: %d", resp.StatusCode)
	}
	callback := b.Authorize(t, base+rp.LoginPath, "anna@example.ch", testPassword)
	resp, err := b.Get(callback.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp := home(); resp.StatusCode != http.StatusOK {
		t.Fatalf("after login: status page answered %d", resp.StatusCode)
	}

	// Forged, misaddressed or malformed logout tokens are refused with 400
	// and leave the session alone (OIDC Back-Channel Logout 1.0 §2.6).
	u, _ := url.Parse(env.URL)
	var sid string
	for _, c := range b.Jar.Cookies(u) {
		if c.Name == web.SessionCookieName(false) {
			sid = idp.SessionSID(c.Value)
		}
	}
	if sid == "" {
		t.Fatal("no IdP session cookie")
	}
	now := time.Now()
	valid := func() map[string]any {
		return map[string]any{"iss": env.URL, "aud": "status", "iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
			"jti": idp.NewID(), "sid": sid, "sub": "someone",
			"events": map[string]any{notify.BackChannelLogoutEvent: map[string]any{}}}
	}
	with := func(k string, v any) map[string]any {
		c := valid()
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	foreign, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	forged := func(claims map[string]any) string {
		kid := env.Keys.SigningKey().ID()
		sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: foreign, KeyID: kid}},
			(&jose.SignerOptions{}).WithType("logout+jwt"))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(claims)
		jws, err := sig.Sign(raw)
		if err != nil {
			t.Fatal(err)
		}
		out, err := jws.CompactSerialize()
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	sign := func(typ string, claims map[string]any) string {
		out, err := env.Keys.SignJWT(typ, claims)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	post := func(token string) int {
		resp, err := http.PostForm(base+rp.BackChannelLogoutPath, url.Values{"logout_token": {token}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []struct {
		name  string
		token string
	}{
		{"foreign key", forged(valid())},
		{"ID token type", sign("JWT", valid())},
		{"other issuer", sign("logout+jwt", with("iss", "https://evil.example"))},
		{"other audience", sign("logout+jwt", with("aud", "forms"))},
		{"nonce", sign("logout+jwt", with("nonce", "n-0S6_WzA2Mj"))},
		{"no events", sign("logout+jwt", with("events", nil))},
		{"other event", sign("logout+jwt", with("events", map[string]any{idp.EventAccountPurged: map[string]any{}}))},
		{"old iat", sign("logout+jwt", with("iat", now.Add(-time.Hour).Unix()))},
		{"future iat", sign("logout+jwt", with("iat", now.Add(time.Hour).Unix()))},
		{"no jti", sign("logout+jwt", with("jti", nil))},
		{"no sid nor sub", sign("logout+jwt", with("sid", nil))},
		{"not a JWT", "not-a-token"},
	} {
		if c.name == "no sid nor sub" {
			cl := with("sid", nil)
			delete(cl, "sub")
			c.token = sign("logout+jwt", cl)
		}
		if got := post(c.token); got != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", c.name, got)
		}
	}
	if resp := home(); resp.StatusCode != http.StatusOK {
		t.Fatalf("after refused logout tokens: status page answered %d", resp.StatusCode)
	}
	// A valid token for another session ends nothing here; its replay is refused.
	other := sign("logout+jwt", with("sid", "another-session"))
	if got := post(other); got != http.StatusOK {
		t.Fatalf("valid logout token for another session: %d", got)
	}
	if got := post(other); got != http.StatusBadRequest {
		t.Fatalf("replayed logout token: %d, want 400", got)
	}
	if resp := home(); resp.StatusCode != http.StatusOK {
		t.Fatalf("after another session's logout: status page answered %d", resp.StatusCode)
	}

	res := b.Submit(t, "/logout", "/logout", url.Values{})
	if res.Resp.StatusCode != http.StatusOK {
		t.Fatalf("logout at the IdP: %d", res.Resp.StatusCode)
	}
	events := jobs(t, env, nil)
	if states, _ := waitJobs(t, events, idp.OutgoingLogout, 1); states[0] != "completed" {
		t.Fatalf("logout token job: %v", states)
	}
	resp = home()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), rp.LoginPath) {
		t.Fatalf("after back-channel logout: %d to %q, want the login", resp.StatusCode, resp.Header.Get("Location"))
	}
}
