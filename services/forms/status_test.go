package forms

import (
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
	"github.com/kanton/kundencenter/services/api"
	"github.com/kanton/kundencenter/services/rp"
	"github.com/kanton/kundencenter/services/status"
)

// TestRealStatusService sends a form and lets the job create the case at
// the real status service, with a client-credentials token of the real IdP
// (cases:write, introspected by the status service); the job run twice
// still makes one case.
func TestRealStatusService(t *testing.T) {
	t.Parallel()
	env := idptest.Start(t, idptest.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	statusBase := "http://" + ln.Addr().String()
	env.AddClient(t, idp.Client{ID: "status", RedirectURIs: []string{statusBase + rp.CallbackPath},
		GrantTypes: []string{idp.GrantAuthorizationCode, idp.GrantClientCredentials}, APIScopes: []string{status.ScopeWrite, status.ScopeRead}},
		"status-secret-status-secret-0001")
	env.AddClient(t, idp.Client{ID: "forms", GrantTypes: []string{idp.GrantClientCredentials}, Scopes: []string{status.ScopeWrite}},
		"forms-secret-forms-secret-00001")
	statusDB := openDB(t, "sqlite")
	st, err := status.New(t.Context(), status.Config{RP: rp.Config{Issuer: env.URL, ClientID: "status", ClientSecret: "status-secret-status-secret-0001",
		BaseURL: statusBase, CookieKey: []byte("cookie-key-for-tests-32-bytes-ok"), Insecure: true},
		DB: statusDB, Clients: map[string][]string{"forms": {"*"}}, Notifier: &notes{sent: map[string]api.Notification{}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: st}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	h := newHarness(t, "sqlite")
	h.s.cfg.Cases = NewCaseClient(statusBase, api.ClientConfig{Issuer: env.URL, ClientID: "forms", ClientSecret: "forms-secret-forms-secret-00001"})
	id := fillUmzug(t, h, "anna")
	conf := mustRedirect(t, h.post("anna", "/drafts/"+id+"/send", url.Values{"declaration": {"yes"}}), "/submissions/")
	h.runJobs()
	page := h.get("anna", conf)
	must200(t, page, statusBase+"/cases/")
	// A second run of the case job (e.g. after a crash before it was marked
	// done) gets the same case.
	sub, err := h.s.db.submission(t.Context(), Owner{Kind: OwnerPerson, ID: "anna"}, strings.TrimPrefix(conf, "/submissions/"))
	if err != nil {
		t.Fatal(err)
	}
	d, _ := h.s.cat.Get(sub.FormID, sub.Version)
	again, err := h.s.cfg.Cases.Create(t.Context(), caseRequest(d, sub))
	if err != nil || again.Reference != sub.CaseReference || again.BusinessProcessID != sub.CaseID {
		t.Fatalf("repeated case: %+v, %v; want %s", again, err, sub.CaseReference)
	}
	var n int
	if err := statusDB.QueryRow(t.Context(), "SELECT COUNT(*) FROM status_cases").Scan(&n); err != nil || n != 1 {
		t.Errorf("%d cases at the status service (%v)", n, err)
	}
}
