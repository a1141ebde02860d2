package documents

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kanton/kundencenter/services/api"
	"github.com/kanton/kundencenter/services/page"
	"github.com/kanton/kundencenter/services/rp"
	"github.com/kanton/kundencenter/services/rp/rptest"
	"github.com/kanton/kundencenter/store/sqldb"
)

var links = page.Links{Status: "http://localhost:8082", Forms: "http://localhost:8081", Documents: "http://localhost:8083"}

// clock is a settable fake clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// notes records notifications.
type notes struct {
	mu  sync.Mutex
	got []api.Notification
}

func (n *notes) Notify(_ context.Context, note api.Notification) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.got = append(n.got, note)
	return nil
}

// harness is a document service whose login is a test header naming one of
// the sessions.
type harness struct {
	s        *service
	srv      *httptest.Server
	clock    *clock
	notes    *notes
	sessions map[string]*rp.Session
}

func newHarness(t *testing.T, dialect string, mod func(*Config)) *harness {
	t.Helper()
	sealer, verifier := testSealing(t)
	h := &harness{clock: &clock{t: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)}, notes: &notes{}, sessions: sessions()}
	cfg := Config{
		RP: rp.Config{BaseURL: "http://documents.test", Logger: slog.New(slog.DiscardHandler)}, Links: links,
		DB: openDB(t, dialect), Sealer: sealer, Verifier: verifier, Issuer: "Kanton Test",
		Notifier: h.notes, Now: h.clock.Now,
	}
	if mod != nil {
		mod(&cfg)
	}
	pages, err := page.New(page.Site{Kind: page.Documents, Links: links}, cfg.RP.Logger)
	if err != nil {
		t.Fatal(err)
	}
	s, err := newService(context.Background(), cfg, pages)
	if err != nil {
		t.Fatal(err)
	}
	h.s = s
	mux := http.NewServeMux()
	s.routes(mux, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sess, ok := h.sessions[r.Header.Get("X-Test-User")]
			if !ok {
				http.Redirect(w, r, rp.LoginPath, http.StatusSeeOther)
				return
			}
			next.ServeHTTP(w, r.WithContext(rp.WithSession(r.Context(), sess)))
		})
	})
	h.srv = httptest.NewServer(mux)
	t.Cleanup(h.srv.Close)
	return h
}

// sessions: people acting for themselves, for an organisation and for a
// represented person.
func sessions() map[string]*rp.Session {
	return map[string]*rp.Session{
		"alice":         {Subject: "alice", Name: "Alice Müller", CSRF: "csrf-alice"},
		"bob":           {Subject: "bob", Name: "Bob Keller", CSRF: "csrf-bob"},
		"alice-for-org": {Subject: "alice", Name: "Alice Müller", CSRF: "csrf-ao", For: "Beispiel AG", Acting: &rp.Represents{Kind: rp.ActingOrganisation, ID: "org-1", Name: "Beispiel AG"}},
		"carol-for-bob": {Subject: "carol", Name: "Carol Treu", CSRF: "csrf-cb", For: "Bob Keller", Acting: &rp.Represents{Kind: rp.ActingPerson, Sub: "bob", Name: "Bob Keller"}},
		"dave-for-org2": {Subject: "dave", Name: "Dave", CSRF: "csrf-d", For: "Andere AG", Acting: &rp.Represents{Kind: rp.ActingOrganisation, ID: "org-2", Name: "Andere AG"}},
	}
}

// do sends a request as user ("" for nobody) and returns status and body.
func (h *harness) do(t *testing.T, user, method, path string, body io.Reader, ctype string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.Header.Set("X-Test-User", user)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Accept-Language", "de-CH")
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func (h *harness) form(t *testing.T, user, path string, v url.Values) (*http.Response, []byte) {
	return h.do(t, user, http.MethodPost, path, strings.NewReader(v.Encode()), "application/x-www-form-urlencoded")
}

// deliver calls the delivery logic as client backoffice.
func (h *harness) deliver(t *testing.T, q DeliverRequest) DeliverResponse {
	t.Helper()
	resp, created, err := h.s.deliver(context.Background(), "backoffice", q)
	if err != nil || !created {
		t.Fatalf("deliver: %v %v", created, err)
	}
	return resp
}

func pdfDelivery(msg string, owner Owner, pdf []byte) DeliverRequest {
	return DeliverRequest{MessageID: msg, Owner: owner, Service: "wohnsitzbestaetigung", Reference: "2026-000001-" + msg,
		Title: map[string]string{"de": "Auszug " + msg, "fr": "Extrait " + msg}, DocumentKind: "register-extract",
		Issuer: "Kanton Test", PDF: pdf}
}

var wohnsitz = &GenerateRequest{Template: TemplateWohnsitz, Lang: "de", Fields: GenerateFields{
	GivenName: "Jürg", FamilyName: "Müller", BirthDate: "1980-02-29", Address: "Rösslistrasse 5, 8001 Zürich", Since: "2026-11-01"}}

// apiPost posts a delivery with the caller set as the authenticator would.
func (h *harness) apiPost(t *testing.T, body []byte, ctype string) (int, map[string]any) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, APIBase+"/documents", bytes.NewReader(body))
	r.Header.Set("Content-Type", ctype)
	r = r.WithContext(api.WithCaller(r.Context(), api.Caller{ClientID: "backoffice", Scopes: []string{ScopeWrite}}))
	w := httptest.NewRecorder()
	h.s.deliverAPI(w, r)
	var out map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &out)
	if w.Code >= 400 && w.Header().Get("Content-Type") != "application/problem+json" {
		t.Errorf("error %d as %q, want problem+json", w.Code, w.Header().Get("Content-Type"))
	}
	return w.Code, out
}

func TestDeliveryAPI(t *testing.T) {
	t.Parallel()
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, dialect, func(c *Config) { c.MaxPDFBytes = 64 << 10 })
			plain := samplePDF(t)
			js := func(q DeliverRequest) []byte { b, _ := json.Marshal(q); return b }
			alice := Owner{Kind: "person", Sub: "alice"}
			first := js(pdfDelivery("m1", alice, plain))
			changed := pdfDelivery("m1", alice, plain)
			changed.Reference = "other"
			bad := pdfDelivery("m2", Owner{Kind: "robot"}, nil)
			bad.DocumentKind = "poem"
			gen := DeliverRequest{MessageID: "g1", Owner: Owner{Kind: "organisation", ID: "org-1"}, Service: "wohnsitzbestaetigung", DocumentKind: "certificate", Generate: wohnsitz}
			sealIt := pdfDelivery("s1", alice, plain)
			sealIt.Seal = true

			var firstID string
			tests := []struct {
				name   string
				body   []byte
				ctype  string
				status int
				check  func(t *testing.T, out map[string]any)
			}{
				{"created", first, "application/json", 201, func(t *testing.T, out map[string]any) { firstID, _ = out["id"].(string) }},
				{"repeat is idempotent", first, "application/json", 200, func(t *testing.T, out map[string]any) {
					if out["id"] != firstID || out["sha256"] != sha256Hex(plain) {
						t.Errorf("repeat answered %v", out)
					}
				}},
				{"same messageId other body", js(changed), "application/json", 409, nil},
				{"not a PDF", js(pdfDelivery("m3", alice, []byte("GIF89a..."))), "application/json", 415, nil},
				{"oversize", js(pdfDelivery("m4", alice, append([]byte("%PDF-1.7\n"), make([]byte, 64<<10)...))), "application/json", 413, nil},
				{"invalid members", js(bad), "application/json", 422, func(t *testing.T, out map[string]any) {
					b, _ := json.Marshal(out["errors"])
					for _, p := range []string{"/owner/kind", "/documentKind", "/pdf"} {
						if !strings.Contains(string(b), p) {
							t.Errorf("errors %s lack %s", b, p)
						}
					}
				}},
				{"unknown member", []byte(`{"messageId":"x","colour":"red"}`), "application/json", 422, nil},
				{"not JSON", []byte(`hello`), "text/plain", 415, nil},
				{"generate and seal", js(gen), "application/json", 201, func(t *testing.T, out map[string]any) {
					d, err := h.s.store.Get(context.Background(), out["id"].(string))
					if err != nil || !d.Sealed || d.Title["de"] != "Wohnsitzbestätigung" {
						t.Fatalf("generated document %+v %v", d, err)
					}
					b, _ := h.s.store.Content(context.Background(), d.ID)
					if sha256Hex(b) != out["sha256"] || !h.s.cfg.Verifier.Verify(b).Valid {
						t.Errorf("generated document not sealed validly")
					}
				}},
				{"seal a delivered PDF", js(sealIt), "application/json", 201, func(t *testing.T, out map[string]any) {
					b, _ := h.s.store.Content(context.Background(), out["id"].(string))
					if !bytes.HasPrefix(b, plain) || !h.s.cfg.Verifier.Verify(b).Valid {
						t.Errorf("delivered PDF not sealed by incremental update")
					}
				}},
			}
			for _, tc := range tests {
				status, out := h.apiPost(t, tc.body, tc.ctype)
				if status != tc.status {
					t.Fatalf("%s: status %d, want %d: %v", tc.name, status, tc.status, out)
				}
				if tc.check != nil {
					tc.check(t, out)
				}
			}
		})
	}
}

func TestVisibilityMatrix(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "sqlite", nil)
	owners := map[string]Owner{
		"alice": {Kind: "person", Sub: "alice"},
		"bob":   {Kind: "person", Sub: "bob"},
		"org-1": {Kind: "organisation", ID: "org-1"},
		"org-2": {Kind: "organisation", ID: "org-2"},
	}
	ids := map[string]string{}
	for name, o := range owners {
		ids[name] = h.deliver(t, pdfDelivery("m-"+name, o, samplePDF(t))).ID
	}
	// Who sees which owner's documents: owner-or-acting.
	sees := map[string]string{
		"alice":         "alice",
		"bob":           "bob",
		"alice-for-org": "org-1",
		"carol-for-bob": "bob",
		"dave-for-org2": "org-2",
	}
	for user, owner := range sees {
		for name, id := range ids {
			want := http.StatusNotFound
			if name == owner {
				want = http.StatusOK
			}
			for _, path := range []string{"/d/" + id, "/d/" + id + "/download"} {
				if resp, _ := h.do(t, user, "GET", path, nil, ""); resp.StatusCode != want {
					t.Errorf("%s GET %s (of %s): %d, want %d", user, path, name, resp.StatusCode, want)
				}
			}
			resp, _ := h.form(t, user, "/d/"+id+"/shares", url.Values{"csrf": {h.sessions[user].CSRF}, "days": {"3"}})
			if resp.StatusCode != want {
				t.Errorf("%s share %s: %d, want %d", user, name, resp.StatusCode, want)
			}
		}
		_, body := h.do(t, user, "GET", "/", nil, "")
		for name := range ids {
			if got, want := strings.Contains(string(body), "Auszug m-"+name), name == owner; got != want {
				t.Errorf("%s's inbox shows %s: %v, want %v", user, name, got, want)
			}
		}
	}
	if resp, _ := h.do(t, "", "GET", "/d/"+ids["alice"], nil, ""); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("anonymous: %d, want a redirect to the login", resp.StatusCode)
	}
}

func TestInboxDownloadDelete(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "sqlite", nil)
	d := h.deliver(t, DeliverRequest{MessageID: "g", Owner: Owner{Kind: "person", Sub: "alice"}, Service: "wohnsitzbestaetigung",
		Reference: "2026-000123-4", DocumentKind: "certificate", Generate: wohnsitz})
	_, body := h.do(t, "alice", "GET", "/", nil, "")
	for _, want := range []string{"Wohnsitzbestätigung", "Neu", "Bescheinigung", "Geschäft 2026-000123-4", "03.12.2026"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("inbox lacks %q", want)
		}
	}
	_, body = h.do(t, "alice", "GET", "/d/"+d.ID, nil, "")
	if !strings.Contains(string(body), d.SHA256) {
		t.Error("detail page does not show the SHA-256")
	}
	resp, got := h.do(t, "alice", "GET", "/d/"+d.ID+"/download", nil, "")
	stored, _ := h.s.store.Content(context.Background(), d.ID)
	if sha256Hex(got) != d.SHA256 || !bytes.Equal(got, stored) {
		t.Fatal("download is not byte-identical")
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="Wohnsitzbestaetigung.pdf"`) ||
		resp.Header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(resp.Header.Get("Repr-Digest"), "sha-256=:") {
		t.Errorf("headers %v", resp.Header)
	}
	if _, body = h.do(t, "alice", "GET", "/", nil, ""); strings.Contains(string(body), `class="badge"`) {
		t.Error("still new after download")
	}
	if resp, _ := h.form(t, "alice", "/d/"+d.ID+"/delete", url.Values{"csrf": {"wrong"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("delete without CSRF token: %d", resp.StatusCode)
	}
	if resp, _ := h.form(t, "alice", "/d/"+d.ID+"/delete", url.Values{"csrf": {"csrf-alice"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("delete: %d", resp.StatusCode)
	}
	if resp, _ := h.do(t, "alice", "GET", "/d/"+d.ID+"/download", nil, ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("download after delete: %d", resp.StatusCode)
	}
}

var shareLinkRE = regexp.MustCompile(`id="share-link">http://documents\.test(/s/[A-Za-z0-9_-]+)<`)

// share creates a share link as alice and returns its path.
func (h *harness) share(t *testing.T, docID string, v url.Values) string {
	t.Helper()
	v.Set("csrf", "csrf-alice")
	resp, body := h.form(t, "alice", "/d/"+docID+"/shares", v)
	m := shareLinkRE.FindSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("create share: %d, no link", resp.StatusCode)
	}
	return string(m[1])
}

func TestShareLinks(t *testing.T) {
	t.Parallel()
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, dialect, nil)
			pdf := samplePDF(t)
			d := h.deliver(t, pdfDelivery("m1", Owner{Kind: "person", Sub: "alice"}, pdf))
			get := func(path string) int { resp, _ := h.do(t, "", "GET", path, nil, ""); return resp.StatusCode }

			limited := h.share(t, d.ID, url.Values{"days": {"2"}, "limit": {"2"}})
			if len(strings.TrimPrefix(limited, "/s/")) < 43 { // 256 bits in base64url
				t.Errorf("token %q too short", limited)
			}
			if get(limited) != 200 {
				t.Fatal("landing page")
			}
			for i := range 2 {
				resp, b := h.do(t, "", "GET", limited+"/download", nil, "")
				if resp.StatusCode != 200 || !bytes.Equal(b, pdf) {
					t.Fatalf("download %d through the link: %d", i, resp.StatusCode)
				}
			}
			for name, path := range map[string]string{
				"used up":  limited + "/download",
				"landing":  limited,
				"altered":  limited[:len(limited)-1] + "A" + "/download",
				"guessed":  "/s/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
				"garbage":  "/s/..%2f",
				"short":    "/s/x/download",
				"owner id": "/s/" + d.ID,
			} {
				if got := get(path); got != 404 {
					t.Errorf("%s: %d, want 404", name, got)
				}
			}

			expiring := h.share(t, d.ID, url.Values{"days": {"1"}})
			h.clock.Add(23 * time.Hour)
			if get(expiring+"/download") != 200 {
				t.Fatal("download before expiry")
			}
			h.clock.Add(time.Hour)
			if get(expiring+"/download") != 404 {
				t.Error("download at expiry")
			}

			revocable := h.share(t, d.ID, url.Values{"days": {"30"}})
			if get(revocable) != 200 {
				t.Fatal("landing before revocation")
			}
			shares, _ := h.s.store.Shares(context.Background(), d.ID)
			resp, _ := h.form(t, "alice", "/d/"+d.ID+"/shares/"+shares[0].ID+"/revoke", url.Values{"csrf": {"csrf-alice"}})
			if resp.StatusCode != http.StatusSeeOther || get(revocable) != 404 {
				t.Errorf("revocation: %d", resp.StatusCode)
			}

			_, body := h.do(t, "alice", "GET", "/d/"+d.ID, nil, "")
			for _, want := range []string{"Widerrufen", "Abgelaufen", "Aufgebraucht", "Downloads: 2 / 2", "Downloads: 1"} {
				if !strings.Contains(string(body), want) {
					t.Errorf("owner's page lacks %q", want)
				}
			}
			for _, bad := range []url.Values{{"days": {"0"}}, {"days": {"31"}}, {"days": {"x"}}, {"days": {"3"}, "limit": {"0"}}} {
				bad.Set("csrf", "csrf-alice")
				if resp, _ := h.form(t, "alice", "/d/"+d.ID+"/shares", bad); resp.StatusCode != http.StatusUnprocessableEntity {
					t.Errorf("share %v: %d", bad, resp.StatusCode)
				}
			}
		})
	}
}

// upload posts a file to the verification page.
func (h *harness) upload(t *testing.T, pdf []byte) (int, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	fw, _ := mw.CreateFormFile("file", "dokument.pdf")
	fw.Write(pdf)
	mw.Close()
	resp, body := h.do(t, "", "POST", VerifyPath, &b, mw.FormDataContentType())
	return resp.StatusCode, string(body)
}

func TestVerifyPageAgreesWithPdfsig(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "sqlite", nil)
	d := h.deliver(t, DeliverRequest{MessageID: "g", Owner: Owner{Kind: "person", Sub: "alice"}, Service: "wohnsitzbestaetigung",
		DocumentKind: "certificate", Generate: wohnsitz})
	sealed, _ := h.s.store.Content(context.Background(), d.ID)
	flipped := bytes.Clone(sealed)
	i := bytes.Index(flipped, []byte("/Creator"))
	flipped[i+12] ^= 0x01

	tests := []struct {
		name      string
		pdf       []byte
		valid     bool
		wants     []string
		pdfsigSay string
	}{
		{"sealed", sealed, true, []string{"Siegel gültig", "Kanton Test", "Ja, am 03.12.2026 10:00"}, "Signature is Valid."},
		{"one byte flipped", flipped, false, []string{"Siegel nicht gültig", "nach dem Siegeln verändert"}, ""},
		{"unsealed", samplePDF(t), false, []string{"kein elektronisches Siegel"}, ""},
	}
	for _, tc := range tests {
		status, body := h.upload(t, tc.pdf)
		if status != 200 {
			t.Fatalf("%s: status %d", tc.name, status)
		}
		if got := strings.Contains(body, `data-valid="true"`); got != tc.valid {
			t.Errorf("%s: page says valid=%v, want %v", tc.name, got, tc.valid)
		}
		for _, w := range tc.wants {
			if !strings.Contains(body, w) {
				t.Errorf("%s: page lacks %q", tc.name, w)
			}
		}
		out := poppler(t, "pdfsig", tc.pdf, nil)
		if valid := strings.Contains(out, "Signature is Valid."); valid != tc.valid {
			t.Errorf("%s: pdfsig says valid=%v, our page %v:\n%s", tc.name, valid, tc.valid, out)
		}
	}
	if status, body := h.do(t, "", "GET", VerifyPath, nil, ""); status.StatusCode != 200 || !strings.Contains(string(body), `type="file"`) {
		t.Error("verification form")
	}
	if status, _ := h.upload(t, nil); status != 200 {
		t.Errorf("empty upload: %d", status)
	}
}

func TestNotificationAndPurge(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "sqlite", func(c *Config) { c.Retention = map[string]time.Duration{"receipt": 24 * time.Hour} })
	alice := Owner{Kind: "person", Sub: "alice"}
	d := h.deliver(t, pdfDelivery("m1", alice, samplePDF(t)))
	org := h.deliver(t, pdfDelivery("m2", Owner{Kind: "organisation", ID: "org-1"}, samplePDF(t)))
	receipt := pdfDelivery("m3", alice, samplePDF(t))
	receipt.DocumentKind = "receipt"
	r := h.deliver(t, receipt)

	w := h.worker()
	if n, err := w.RunDue(context.Background()); err != nil || n != 3 {
		t.Fatalf("jobs: %d %v", n, err)
	}
	if len(h.notes.got) != 3 || h.notes.got[0].Kind != api.NotifyDocumentDelivered || h.notes.got[0].Recipient.Sub != "alice" ||
		h.notes.got[0].Link != "http://documents.test/d/"+d.ID || h.notes.got[1].Recipient.ID != "org-1" {
		t.Fatalf("notifications %+v", h.notes.got)
	}
	h.clock.Add(25 * time.Hour)
	if n, err := h.s.store.PurgeExpired(context.Background(), h.clock.Now()); err != nil || n != 1 {
		t.Fatalf("retention: %d %v", n, err)
	}
	if _, err := h.s.store.Get(context.Background(), r.ID); err == nil {
		t.Error("receipt kept past retention")
	}
	if err := h.s.accountPurged(context.Background(), "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.s.store.Get(context.Background(), d.ID); err == nil {
		t.Error("document kept after account-purged")
	}
	if _, err := h.s.store.Get(context.Background(), org.ID); err != nil {
		t.Errorf("organisation's document gone: %v", err)
	}
}

func TestOpenAPI(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "sqlite", nil)
	resp, body := h.do(t, "", "GET", OpenAPIPath, nil, "")
	var spec map[string]any
	if resp.StatusCode != 200 || json.Unmarshal(body, &spec) != nil || spec["openapi"] != "3.1.0" {
		t.Fatalf("openapi: %d %s", resp.StatusCode, body)
	}
	if !strings.Contains(string(body), `"url": "http://documents.test/api/v1"`) {
		t.Error("server URL not filled in")
	}
}

func TestMessagesForEveryProblem(t *testing.T) {
	pages, err := page.New(page.Site{Kind: page.Documents}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range page.Languages {
		for _, code := range problemCodes {
			if m := pages.Message(lang, "documents.verify.problem."+code); strings.HasPrefix(m, "documents.") || m == "" {
				t.Errorf("%s: no message for %s", lang, code)
			}
		}
		for _, k := range documentKinds {
			if m := pages.Message(lang, kindKey(k)); strings.HasPrefix(m, "documents.") || m == "" {
				t.Errorf("%s: no message for kind %s", lang, k)
			}
		}
	}
}

// worker is the service's job worker on the fake clock.
func (h *harness) worker() *sqldb.Worker {
	return &sqldb.Worker{DB: h.s.cfg.DB, Handlers: h.s.handlers(), Now: h.clock.Now, Log: h.s.log}
}

func TestService(t *testing.T) {
	sealer, verifier := testSealing(t)
	db := openDB(t, "sqlite")
	rptest.CheckService(t, "kc-documents", page.Documents, func(ctx context.Context, rc rp.Config, nav page.Links) (http.Handler, error) {
		return New(ctx, Config{RP: rc, Links: nav, DB: db, Sealer: sealer, Verifier: verifier})
	}, "<h1>Meine Dokumente</h1>", "Ihr Posteingang ist leer.")
}

func TestReadAPI(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "sqlite", nil)
	d := h.deliver(t, pdfDelivery("m1", Owner{Kind: "person", Sub: "alice"}, samplePDF(t)))
	get := func(client, id string) (int, DocumentView) {
		r := httptest.NewRequest(http.MethodGet, APIBase+"/documents/"+id, nil)
		r.SetPathValue("id", id)
		r = r.WithContext(api.WithCaller(r.Context(), api.Caller{ClientID: client, Scopes: []string{ScopeRead}}))
		w := httptest.NewRecorder()
		h.s.getAPI(w, r)
		var v DocumentView
		_ = json.Unmarshal(w.Body.Bytes(), &v)
		return w.Code, v
	}
	if code, v := get("backoffice", d.ID); code != 200 || v.SHA256 != d.SHA256 || v.ReadAt != nil || v.Owner.Sub != "alice" || v.DocumentKind != "register-extract" {
		t.Fatalf("own document: %d %+v", code, v)
	}
	h.do(t, "alice", "GET", "/d/"+d.ID+"/download", nil, "")
	if _, v := get("backoffice", d.ID); v.ReadAt == nil {
		t.Error("readAt not set after the owner's download")
	}
	for name, c := range map[string][2]string{"other client": {"forms", d.ID}, "unknown": {"backoffice", "nope"}} {
		if code, _ := get(c[0], c[1]); code != 404 {
			t.Errorf("%s: %d, want 404", name, code)
		}
	}
}

// TestFormGuard checks that every owner's form post is refused with 403
// and changes nothing without the session's CSRF token or when the browser
// says it comes from another site.
func TestFormGuard(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "sqlite", nil)
	d := h.deliver(t, pdfDelivery("guard", Owner{Kind: "person", Sub: "alice"}, samplePDF(t)))
	h.share(t, d.ID, url.Values{"days": {"3"}})
	shares, err := h.s.store.Shares(context.Background(), d.ID)
	if err != nil || len(shares) != 1 {
		t.Fatalf("shares %v, %v", shares, err)
	}
	paths := []string{"/d/" + d.ID + "/delete", "/d/" + d.ID + "/shares", "/d/" + d.ID + "/shares/" + shares[0].ID + "/revoke"}
	tests := []struct {
		name   string
		csrf   string
		header http.Header
	}{
		{name: "no token"},
		{name: "wrong token", csrf: "csrf-bob"},
		{name: "cross-site", csrf: "csrf-alice", header: http.Header{"Sec-Fetch-Site": {"cross-site"}}},
		{name: "foreign origin", csrf: "csrf-alice", header: http.Header{"Origin": {"https://evil.example"}}},
	}
	for _, tt := range tests {
		for _, path := range paths {
			v := url.Values{"days": {"3"}}
			if tt.csrf != "" {
				v.Set("csrf", tt.csrf)
			}
			req, err := http.NewRequest(http.MethodPost, h.srv.URL+path, strings.NewReader(v.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			for k, vs := range tt.header {
				req.Header[k] = vs
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Test-User", "alice")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s %s: %d, want 403", tt.name, path, resp.StatusCode)
			}
		}
	}
	if _, err := h.s.store.Get(context.Background(), d.ID); err != nil {
		t.Errorf("the document is gone: %v", err)
	}
	after, err := h.s.store.Shares(context.Background(), d.ID)
	if err != nil || len(after) != 1 || after[0].RevokedAt != nil {
		t.Errorf("shares changed: %+v, %v", after, err)
	}
}
