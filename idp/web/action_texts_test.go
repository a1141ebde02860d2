package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
)

// TestActionReceiptTexts: a service reports an action with its texts in
// other languages; the represented person's timeline shows it in the
// page's language (issue 14: always German), the default text where no
// translation fits. A text in an unknown language is refused.
func TestActionReceiptTexts(t *testing.T) {
	t.Parallel()
	env := idptest.Start(t, idptest.Options{})
	env.AddClient(t, idp.Client{ID: "svc", Name: "Baugesuche", RedirectURIs: []string{mfaRedirect},
		GrantTypes: []string{idp.GrantAuthorizationCode, idp.GrantClientCredentials}, Scopes: []string{idp.ScopeActionReceipts}}, mfaSecret)
	f := newRepFixture(t, env, "svc")
	forP := f.login(t, "svc", "person:"+f.rep.ID)
	body := `{"action": "Baugesuch 2026-117 eingereicht", "texts": {"fr": "Demande de permis 2026-117 déposée", "it": "Domanda di costruzione 2026-117 inoltrata"}}`
	if status, out := postAction(t, env, forP.AccessToken, body); status != http.StatusAccepted {
		t.Fatalf("receipt with texts: %d %v", status, out)
	}
	for _, bad := range []string{
		`{"action": "Gesuch", "texts": {"rm": "Dumonda"}}`,
		`{"action": "Gesuch", "texts": {"fr": "<b>demande</b>"}}`,
		`{"action": "Gesuch", "texts": {"fr": " "}}`,
	} {
		if status, out := postAction(t, env, forP.AccessToken, bad); status != http.StatusBadRequest || out["error"] != "invalid_request" {
			t.Errorf("%s: %d %v, want 400 invalid_request", bad, status, out)
		}
	}
	b := env.NewBrowser(t)
	b.Submit(t, "/login", "/login", url.Values{"email": {"paula@example.ch"}, "password": {mfaPassword}})
	for lang, want := range map[string]string{"fr": "(Demande de permis 2026-117 déposée)", "it": "(Domanda di costruzione 2026-117 inoltrata)",
		"de": "(Baugesuch 2026-117 eingereicht)", "en": "(Baugesuch 2026-117 eingereicht)"} {
		res := b.Open(t, "/representations/"+url.PathEscape(f.rep.ID)+"?lang="+lang)
		if !strings.Contains(res.Body, want) {
			i := strings.Index(res.Body, `id="timeline"`)
			t.Errorf("timeline in %s lacks %s:\n%.1200s", lang, want, res.Body[max(i, 0):])
		}
	}
}
