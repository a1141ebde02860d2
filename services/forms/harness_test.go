package forms

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kanton/kundencenter/keyring"
	"github.com/kanton/kundencenter/services/api"
	"github.com/kanton/kundencenter/services/forms/datatrans"
	"github.com/kanton/kundencenter/services/forms/datatrans/datatranstest"
	"github.com/kanton/kundencenter/services/page"
	"github.com/kanton/kundencenter/services/rp"
	"github.com/kanton/kundencenter/store/sqldb"
	"github.com/kanton/kundencenter/store/sqldb/sqldbtest"
	"github.com/kanton/kundencenter/webkit"
)

// openDB opens a fresh SQLite file or PostgreSQL schema (see sqldbtest.Open).
func openDB(t *testing.T, dialect string) *sqldb.DB {
	t.Helper()
	return sqldbtest.Open(t, dialect, nil)
}

// dialects runs f for SQLite and PostgreSQL in parallel subtests.
func dialects(t *testing.T, f func(t *testing.T, dialect string)) {
	t.Parallel()
	for _, d := range sqldbtest.Dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			f(t, d)
		})
	}
}

// statusPeer is a loopback HTTP peer implementing the status service's case
// API (POST /api/v1/cases, idempotent on messageId) and, as its own issuer,
// discovery and a client-credentials token endpoint.
type statusPeer struct {
	srv   *httptest.Server
	mu    sync.Mutex
	down  int // answer the next n case requests with 503
	cases map[string]CaseRequest
	calls int
}

func newStatusPeer(t *testing.T) *statusPeer {
	p := &statusPeer{cases: map[string]CaseRequest{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		webkit.WriteJSON(w, http.StatusOK, map[string]string{"issuer": p.srv.URL, "token_endpoint": p.srv.URL + "/token"})
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		if _, _, ok := r.BasicAuth(); !ok || r.PostFormValue("grant_type") != "client_credentials" {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		webkit.WriteJSON(w, http.StatusOK, map[string]any{"access_token": "token-" + r.PostFormValue("scope"), "token_type": "Bearer", "expires_in": 300})
	})
	mux.HandleFunc("POST /api/v1/cases", func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Authorization"), ScopeCasesWrite) {
			http.Error(w, "", http.StatusForbidden)
			return
		}
		var req CaseRequest
		if !webkit.Decode(w, r, &req, 1<<20) {
			return
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		p.calls++
		if p.down > 0 {
			p.down--
			webkit.WriteProblem(w, r, webkit.Problem{Title: "down", Status: http.StatusServiceUnavailable})
			return
		}
		status := http.StatusOK
		if _, ok := p.cases[req.MessageID]; !ok {
			status = http.StatusCreated
			p.cases[req.MessageID] = req
		}
		ref := "2026-" + req.MessageID[:6]
		webkit.WriteJSON(w, status, Case{BusinessProcessID: "bp-" + req.MessageID, Reference: ref, URL: "http://status.test/cases/" + ref})
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *statusPeer) count() (cases, calls int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.cases), p.calls
}

// notes records notifications.
type notes struct {
	mu   sync.Mutex
	sent map[string]api.Notification
}

func (n *notes) Notify(_ context.Context, x api.Notification) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.sent[x.MessageID] = x
	return nil
}

func (n *notes) kinds() map[string]int {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := map[string]int{}
	for _, x := range n.sent {
		out[x.Kind]++
	}
	return out
}

// peers are the service's counterparts in a test: the fake Datatrans, the
// status peer and the notifications.
type peers struct {
	psp    *datatranstest.Server
	status *statusPeer
	notes  *notes
}

// testConfig returns a configuration on db with a fresh key ring and the
// peers on loopback.
func testConfig(t *testing.T, db *sqldb.DB) (Config, peers) {
	t.Helper()
	psp, pcfg := datatranstest.Start(t)
	provider, err := datatrans.New(pcfg)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := keyring.Parse(keyring.Generate())
	if err != nil {
		t.Fatal(err)
	}
	pp := peers{psp: psp, status: newStatusPeer(t), notes: &notes{sent: map[string]api.Notification{}}}
	return Config{DB: db, Ring: ring, Payments: provider, PaymentPage: psp.URL(), Notifier: pp.notes,
		Cases: NewCaseClient(pp.status.srv.URL, api.ClientConfig{Issuer: pp.status.srv.URL, ClientID: "forms", ClientSecret: "s"})}, pp
}

// harness is a form service on loopback with a fake login, the fake
// Datatrans and the status peer.
type harness struct {
	t      *testing.T
	s      *service
	srv    *httptest.Server
	psp    *datatranstest.Server
	status *statusPeer
	notes  *notes
	db     *sqldb.DB

	mu       sync.Mutex
	now      time.Time
	sessions map[string]*rp.Session
}

// People of the tests.
var (
	anna = &rp.Session{Subject: "anna", Name: "Anna Muster", GivenName: "Anna", FamilyName: "Muster",
		Email: "anna@example.ch", ACR: "urn:kundencenter:loa:low", CSRF: "csrf-anna",
		Prefill: rp.Prefill{Birthdate: "1980-05-17", Street: "Hauptgasse 1", PostalCode: "4500", Locality: "Solothurn"}}
	annaStrong = &rp.Session{Subject: "anna", Name: "Anna Muster", ACR: "urn:kundencenter:loa:substantial", CSRF: "csrf-anna"}
	bruno      = &rp.Session{Subject: "bruno", Name: "Bruno Beispiel", ACR: "urn:kundencenter:loa:low", CSRF: "csrf-bruno",
		Acting: &rp.Represents{Kind: rp.ActingOrganisation, ID: "org-1", Name: "Beispiel AG"}, For: "Beispiel AG"}
)

// rita represents Paula (kind person).
var rita = &rp.Session{Subject: "rita", Name: "Rita Vertreterin", ACR: "urn:kundencenter:loa:low", CSRF: "csrf-rita",
	Acting: &rp.Represents{Kind: rp.ActingPerson, Sub: "paula", Name: "Paula Prinzipal"}, For: "Paula Prinzipal"}

func newHarness(t *testing.T, dialect string) *harness {
	t.Helper()
	db := openDB(t, dialect)
	base, pp := testConfig(t, db)
	h := &harness{t: t, db: db, psp: pp.psp, status: pp.status, notes: pp.notes,
		now:      time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC),
		sessions: map[string]*rp.Session{"anna": anna, "anna-strong": annaStrong, "bruno": bruno, "rita": rita}}
	h.srv = httptest.NewUnstartedServer(nil)
	h.srv.Start()
	t.Cleanup(h.srv.Close)
	base.RP = rp.Config{BaseURL: h.srv.URL}
	base.Now = h.clock
	base.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg, err := base.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if err := Migrate(t.Context(), h.db); err != nil {
		t.Fatal(err)
	}
	pages, err := page.New(page.Site{Kind: page.Forms}, cfg.Logger)
	if err != nil {
		t.Fatal(err)
	}
	h.s = newService(cfg, pages)
	if err := h.db.Enqueue(t.Context(), jobSweep, "first", nil, h.now); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.s.routes(mux, h.login)
	h.srv.Config.Handler = mux
	return h
}

func (h *harness) clock() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.now
}

func (h *harness) advance(d time.Duration) {
	h.mu.Lock()
	h.now = h.now.Add(d)
	h.mu.Unlock()
}

// login is the fake login: the cookie "who" names the session.
func (h *harness) login(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie("who")
		var sess *rp.Session
		if err == nil {
			sess = h.sessions[c.Value]
		}
		if sess == nil {
			http.Redirect(w, r, rp.LoginPath, http.StatusSeeOther)
			return
		}
		next.ServeHTTP(w, r.WithContext(rp.WithSession(r.Context(), sess)))
	})
}

// resp is an answer of the service.
type resp struct {
	code     int
	location string
	body     string
}

var client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func (h *harness) do(who, method, path string, form url.Values) resp {
	h.t.Helper()
	u := path
	if !strings.HasPrefix(u, "http") {
		u = h.srv.URL + path
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		h.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return h.send(who, req)
}

// send sends req with the session cookie of who.
func (h *harness) send(who string, req *http.Request) resp {
	h.t.Helper()
	req.AddCookie(&http.Cookie{Name: "who", Value: who})
	res, err := client.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{code: res.StatusCode, location: strings.TrimPrefix(res.Header.Get("Location"), h.srv.URL), body: string(b)}
}

func (h *harness) get(who, path string) resp {
	h.t.Helper()
	return h.do(who, http.MethodGet, path, nil)
}

// post sends a form with the CSRF token of who.
func (h *harness) post(who, path string, form url.Values) resp {
	h.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", h.sessions[who].CSRF)
	return h.do(who, http.MethodPost, path, form)
}

// runJobs works the due jobs once.
func (h *harness) runJobs() int {
	h.t.Helper()
	w := &sqldb.Worker{DB: h.db, Handlers: (&Service{s: h.s}).Jobs(), Now: h.clock, Log: h.s.log}
	n, err := w.RunDue(h.t.Context())
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

// count returns the number of rows of a table.
func (h *harness) count(table string) int {
	h.t.Helper()
	var n int
	if err := h.db.QueryRow(h.t.Context(), "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		h.t.Fatal(err)
	}
	return n
}

func must200(t *testing.T, r resp, want ...string) {
	t.Helper()
	if r.code != http.StatusOK {
		t.Fatalf("status %d (location %q): %s", r.code, r.location, r.body)
	}
	for _, w := range want {
		if !strings.Contains(r.body, w) {
			t.Fatalf("page lacks %q:\n%s", w, r.body)
		}
	}
}

func mustRedirect(t *testing.T, r resp, prefix string) string {
	t.Helper()
	if r.code != http.StatusSeeOther || !strings.HasPrefix(r.location, prefix) {
		t.Fatalf("got %d to %q, want a redirect to %s…\n%s", r.code, r.location, prefix, r.body)
	}
	return r.location
}

// startDraft starts a draft of form as who and returns its first page.
func (h *harness) startDraft(who, formID string) string {
	h.t.Helper()
	return mustRedirect(h.t, h.post(who, "/forms/"+formID, nil), "/drafts/")
}

// draftOf returns the draft id in a page URL.
func draftOf(pageURL string) string {
	rest := strings.TrimPrefix(pageURL, "/drafts/")
	id, _, _ := strings.Cut(rest, "/")
	id, _, _ = strings.Cut(id, "?")
	return id
}

// testWriter sends log lines to the test's log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// upload posts a multipart form with one file as who.
func (h *harness) upload(who, path string, fields url.Values, field, name string, data []byte) resp {
	h.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("csrf", h.sessions[who].CSRF)
	for k, vs := range fields {
		for _, v := range vs {
			_ = mw.WriteField(k, v)
		}
	}
	fw, _ := mw.CreateFormFile(field, name)
	_, _ = fw.Write(data)
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return h.send(who, req)
}
