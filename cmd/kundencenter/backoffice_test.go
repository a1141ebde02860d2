package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
	"github.com/kanton/kundencenter/services/api"
	"github.com/kanton/kundencenter/services/rp"
	"github.com/kanton/kundencenter/services/status"
	"github.com/kanton/kundencenter/store/sqldb/sqldbtest"
	"github.com/kanton/kundencenter/webkit"
)

// TestBackofficeCommand drives a real status service (with a real IdP) with
// `kundencenter backoffice cases …`: create, set-status, show, and closing
// a Wohnsitzbestätigung as gutgeheissen, which delivers the certificate to
// the document service (a loopback peer recording the request).
func TestBackofficeCommand(t *testing.T) {
	t.Parallel()
	env := idptest.Start(t, idptest.Options{})
	app := httptest.NewUnstartedServer(nil)
	t.Cleanup(app.Close)
	base := "http://" + app.Listener.Addr().String()
	env.AddClient(t, idp.Client{ID: "status", RedirectURIs: []string{base + rp.CallbackPath},
		GrantTypes: []string{idp.GrantAuthorizationCode, idp.GrantClientCredentials}, Scopes: []string{api.ScopeNotify},
		APIScopes: []string{status.ScopeWrite, status.ScopeRead}}, "status-secret-0123456789")
	env.AddClient(t, idp.Client{ID: "backoffice", GrantTypes: []string{idp.GrantClientCredentials},
		Scopes: []string{status.ScopeWrite, status.ScopeRead, "documents:write"}}, "backoffice-secret-0123456789")
	db := sqldbtest.Open(t, "sqlite", nil)
	svc, err := status.NewService(t.Context(), status.Config{RP: rp.Config{Issuer: env.URL, ClientID: "status",
		ClientSecret: "status-secret-0123456789", BaseURL: base, CookieKey: []byte("0123456789abcdef0123456789abcdef"),
		Insecure: true, Logger: slog.New(slog.DiscardHandler)}, DB: db, Clients: map[string][]string{"backoffice": {"*"}}})
	if err != nil {
		t.Fatal(err)
	}
	app.Config.Handler = svc.Handler()
	app.Start()
	var (
		mu   sync.Mutex
		docs []map[string]any
	)
	documents := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if r.URL.Path != "/api/v1/documents" || !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") ||
			json.NewDecoder(r.Body).Decode(&body) != nil {
			http.Error(w, "", http.StatusBadRequest)
			return
		}
		mu.Lock()
		docs = append(docs, body)
		mu.Unlock()
		webkit.WriteJSON(w, http.StatusCreated, map[string]string{"id": "d1", "sha256": "x", "url": "http://documents.test/d/d1"})
	}))
	t.Cleanup(documents.Close)

	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		args = append(args[:2:2], append([]string{"-issuer", env.URL, "-status-url", base, "-documents-url", documents.URL,
			"-client-secret", "backoffice-secret-0123456789"}, args[2:]...)...)
		err := runBackoffice(t.Context(), args, &out)
		return out.String(), err
	}
	out, err := run("cases", "create", "-owner-sub", "anna", "-expected", "2026-12-20")
	if err != nil || !strings.HasPrefix(out, "created 20") {
		t.Fatalf("create: %v\n%s", err, out)
	}
	ref := strings.Fields(out)[1]
	if out, err := run("cases", "set-status", "-status", "in-bearbeitung", "-note", "Wir prüfen.", ref); err != nil || !strings.Contains(out, "is now in-bearbeitung") {
		t.Fatalf("set-status: %v\n%s", err, out)
	}
	if _, err := run("cases", "set-status", "-status", "eingereicht", ref); err == nil || !strings.Contains(err.Error(), "eingereicht") {
		t.Fatalf("a refused change must say why: %v", err)
	}
	if _, err := run("cases", "set-status", "-status", "abgeschlossen", "-outcome", "gutgeheissen", ref); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("closing without the certificate's data: %v", err)
	}
	out, err = run("cases", "set-status", "-status", "abgeschlossen", "-outcome", "gutgeheissen", "-given-name", "Anna", "-family-name", "Muster",
		"-birth-date", "1980-12-31", "-address", "Hauptgasse 12, 4500 Solothurn", "-since", "2020-04-01", ref)
	if err != nil || !strings.Contains(out, "is now abgeschlossen: gutgeheissen") || !strings.Contains(out, "certificate delivered") {
		t.Fatalf("close: %v\n%s", err, out)
	}
	mu.Lock()
	if len(docs) != 1 {
		t.Fatalf("%d documents delivered", len(docs))
	}
	doc := docs[0]
	mu.Unlock()
	gen, _ := doc["generate"].(map[string]any)
	owner, _ := doc["owner"].(map[string]any)
	if gen["template"] != "wohnsitzbestaetigung" || owner["sub"] != "anna" || doc["reference"] != ref || doc["documentKind"] != "certificate" {
		t.Fatalf("document request %v", doc)
	}
	out, err = run("cases", "show", ref)
	if err != nil || !strings.Contains(out, `"status": "abgeschlossen"`) || !strings.Contains(out, "Wir prüfen.") {
		t.Fatalf("show: %v\n%s", err, out)
	}
}
