package status

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kanton/kundencenter/services/api"
	"github.com/kanton/kundencenter/services/page"
	"github.com/kanton/kundencenter/services/rp"
	"github.com/kanton/kundencenter/store/sqldb"
)

var links = page.Links{Status: "http://localhost:8082", Forms: "http://localhost:8081", Documents: "http://localhost:8083"}

// clock is a settable fake clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// harness is the status service's API and pages on loopback over a real
// database, with the IdP as a loopback peer. Pages get their session from
// the test (header X-Test-Session, JSON of rp.Session) instead of a login.
type harness struct {
	t      *testing.T
	db     *sqldb.DB
	svc    *service
	srv    *httptest.Server
	peer   *peer
	clock  *clock
	worker *sqldb.Worker
}

const testSessionHeader = "X-Test-Session"

func newHarness(t *testing.T, backend string) *harness {
	t.Helper()
	p := newPeer(t)
	c := &clock{t: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)}
	db := openDB(t, backend)
	log := slog.New(slog.DiscardHandler)
	pages, err := page.New(page.Site{Kind: page.Status, Links: links}, log)
	if err != nil {
		t.Fatal(err)
	}
	s := &service{store: NewStore(db, c.Now, DefaultNotifyWindow),
		auth:     api.NewAuthenticator(api.AuthConfig{Issuer: p.URL, ClientID: "status", ClientSecret: "secret", CacheTTL: time.Minute}),
		notifier: api.NewNotifier(api.ClientConfig{Issuer: p.URL, ClientID: "status", ClientSecret: "secret"}),
		clients:  map[string][]string{"backoffice": {"*"}, "egov": {"wohnsitzbestaetigung"}},
		base:     "http://status.test", links: links, maxUpload: 1 << 20, pages: pages, now: c.Now, log: log}
	mux := http.NewServeMux()
	s.mountAPI(mux)
	s.mountPages(mux, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var sess rp.Session
			if err := json.Unmarshal([]byte(r.Header.Get(testSessionHeader)), &sess); err != nil {
				http.Error(w, "no test session", http.StatusUnauthorized)
				return
			}
			h.ServeHTTP(w, r.WithContext(rp.WithSession(r.Context(), &sess)))
		})
	})
	h := &harness{t: t, db: db, svc: s, srv: httptest.NewServer(mux), peer: p, clock: c,
		worker: &sqldb.Worker{DB: db, Handlers: map[string]sqldb.Handler{JobNotify: s.sendNotification}, Now: c.Now, Log: log}}
	t.Cleanup(h.srv.Close)
	return h
}

// call sends an API request with the client's token (no token if client
// is "") and returns status and body.
func (h *harness) call(method, path, tok string, body any) (int, string) {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(encode(h.t, body))
	}
	req, err := http.NewRequest(method, h.srv.URL+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return h.send(req)
}

// send sends req and returns status and body.
func (h *harness) send(req *http.Request) (int, string) {
	h.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var (
	writer = token("backoffice", ScopeWrite, ScopeRead)
	egov   = token("egov", ScopeWrite, ScopeRead)
)

var msgSeq struct {
	sync.Mutex
	n int
}

// nextMsg returns a fresh messageId.
func nextMsg() string {
	msgSeq.Lock()
	defer msgSeq.Unlock()
	msgSeq.n++
	return fmt.Sprintf("msg-%d-%d", time.Now().UnixNano(), msgSeq.n)
}

// createBody is a valid POST /cases body for a person's case.
func createBody(service, ownerSub string) map[string]any {
	return map[string]any{"messageId": nextMsg(), "service": service,
		"title": map[string]string{"de": "Wohnsitzbestätigung", "fr": "Attestation de domicile"},
		"owner": map[string]string{"kind": "person", "sub": ownerSub}, "eventDate": "2026-12-03T08:00:00Z",
		"expectedCompletion": "2026-12-20"}
}

// create creates a case and returns its businessProcessId and reference.
func (h *harness) create(body map[string]any) (id, ref string) {
	h.t.Helper()
	code, out := h.call("POST", "/api/v1/cases", writer, body)
	if code != http.StatusCreated {
		h.t.Fatalf("create: %d %s", code, out)
	}
	var a createAnswer
	_ = json.Unmarshal([]byte(out), &a)
	return a.BusinessProcessID, a.Reference
}

// event builds a "new" event body; minutes after 08:00 give the eventDate.
func event(status Status, minutes int) map[string]any {
	b := map[string]any{"messageId": nextMsg(), "action": "new", "status": string(status),
		"eventDate": time.Date(2026, 12, 3, 8, minutes, 0, 0, time.UTC).Format(time.RFC3339),
		"note":      map[string]string{"de": "Notiz " + string(status), "fr": "Note " + string(status)}}
	switch status {
	case Rueckfrage:
		b["deadline"] = "2026-12-31"
	case Abgeschlossen:
		b["outcome"], b["businessCaseClosed"] = "gutgeheissen", true
	case Storniert:
		b["businessCaseClosed"] = true
	}
	return b
}

// post adds an event and fails the test unless it answers want.
func (h *harness) post(id string, body map[string]any, want int) string {
	h.t.Helper()
	code, out := h.call("POST", "/api/v1/cases/"+id+"/events", writer, body)
	if code != want {
		h.t.Fatalf("event %v: %d %s, want %d", body["status"], code, out, want)
	}
	return out
}

// get returns the case as the API shows it.
func (h *harness) get(id string) caseView {
	h.t.Helper()
	code, out := h.call("GET", "/api/v1/cases/"+id, writer, nil)
	if code != http.StatusOK {
		h.t.Fatalf("get: %d %s", code, out)
	}
	var v caseView
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		h.t.Fatal(err)
	}
	return v
}

// page fetches a page as the session sees it.
func (h *harness) page(sess rp.Session, path string) (int, string) {
	h.t.Helper()
	req, _ := http.NewRequest("GET", h.srv.URL+path, nil)
	req.Header.Set(testSessionHeader, encode(h.t, sess))
	req.Header.Set("Accept-Language", "de-CH")
	return h.send(req)
}
