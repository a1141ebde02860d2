package status

import (
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
	"github.com/kanton/kundencenter/services/api"
	"github.com/kanton/kundencenter/services/rp"
)

// TestEndToEnd runs the status service against a real IdP and drives it in
// headless Chromium: a sent form creates a case (the form service's API
// call), Anna sees it, the back office moves it along through the API
// with its own client credentials, one general e-mail goes out (through the
// IdP's notification endpoint) without the case's content, the history is
// shown, and Anna answers the Rückfrage with a file. Every page is audited
// with axe-core at 1280 and 390 px.
func TestEndToEnd(t *testing.T) {
	env := idptest.Start(t, idptest.Options{})
	anna := env.CreateAccount(t, "Anna", "Muster", "anna@example.ch", "Sonnenblume-Aare-42")
	app := httptest.NewUnstartedServer(nil)
	t.Cleanup(app.Close)
	base := "http://" + app.Listener.Addr().String()
	const secret = "status-secret-0123456789"
	env.AddClient(t, idp.Client{ID: "status", Name: "Meine Vorgänge", RedirectURIs: []string{base + rp.CallbackPath},
		PostLogoutRedirectURIs: []string{base + rp.LoggedOutPath},
		GrantTypes:             []string{idp.GrantAuthorizationCode, idp.GrantClientCredentials},
		Scopes:                 []string{api.ScopeNotify}, APIScopes: []string{ScopeWrite, ScopeRead}, EventsURI: base + rp.EventsPath}, secret)
	env.AddClient(t, idp.Client{ID: "forms", GrantTypes: []string{idp.GrantClientCredentials}, Scopes: []string{ScopeWrite}}, "forms-secret-0123456789")
	env.AddClient(t, idp.Client{ID: "backoffice", GrantTypes: []string{idp.GrantClientCredentials}, Scopes: []string{ScopeWrite, ScopeRead}}, "backoffice-secret-0123456789")
	c := &clock{t: time.Now()}
	db := openDB(t, "sqlite")
	svc, err := NewService(t.Context(), Config{RP: rp.Config{Issuer: env.URL, ClientID: "status", ClientSecret: secret, BaseURL: base,
		CookieKey: []byte("0123456789abcdef0123456789abcdef"), Insecure: true, Logger: slog.New(slog.DiscardHandler)},
		DB: db, Clients: map[string][]string{"forms": {"*"}, "backoffice": {"wohnsitzbestaetigung"}}, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	app.Config.Handler = svc.Handler()
	app.Start()

	// The form service sends the form: the case is created.
	forms := api.NewAPIClient(api.ClientConfig{Issuer: env.URL, ClientID: "forms", ClientSecret: "forms-secret-0123456789", Scopes: []string{ScopeWrite}})
	var created createAnswer
	if _, err := forms.Do(t.Context(), "POST", base+"/api/v1/cases", map[string]any{"messageId": "submission-1", "service": "wohnsitzbestaetigung",
		"title": map[string]string{"de": "Wohnsitzbestätigung", "fr": "Attestation de domicile"}, "owner": map[string]string{"kind": "person", "sub": anna.ID},
		"submittedBy": map[string]string{"sub": anna.ID, "name": "Anna Muster"}, "eventDate": time.Now().UTC().Format(time.RFC3339),
		"expectedCompletion": "2026-12-20", "submissionId": "submission-1"}, &created); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := idptest.Chromium(t)
	defer cancel()
	p := &idptest.Page{T: t, Ctx: ctx}
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	audit := func(page string) {
		t.Helper()
		p.Audit(page + " (1280 px)")
		p.Do(chromedp.EmulateViewport(390, 844))
		p.Audit(page + " (390 px)")
		p.Do(chromedp.EmulateViewport(1280, 900))
	}
	has := func(page string, wants ...string) {
		t.Helper()
		body := p.Text("main")
		for _, w := range wants {
			if !strings.Contains(body, w) {
				t.Errorf("%s lacks %q:\n%.1500s", page, w, body)
			}
		}
	}

	p.Do(chromedp.Navigate(base+"/"), chromedp.WaitVisible(css(`#password`)),
		chromedp.SendKeys(css(`#email`), "anna@example.ch"),
		chromedp.SendKeys(css(`#password`), "Sonnenblume-Aare-42"),
		chromedp.Submit(css(`#password`)))
	p.WaitURL(base + "/")
	p.Do(chromedp.WaitVisible(css(`.items`)))
	has("list", "Wohnsitzbestätigung", created.Reference, "Eingereicht")
	audit("list")

	// The back office moves the case along; three changes, one e-mail.
	bo := api.NewAPIClient(api.ClientConfig{Issuer: env.URL, ClientID: "backoffice", ClientSecret: "backoffice-secret-0123456789",
		Scopes: []string{ScopeWrite, ScopeRead}})
	for i, ev := range []map[string]any{
		{"status": "eingegangen"},
		{"status": "in-bearbeitung", "note": map[string]string{"de": "Wir prüfen Ihre Angaben."}},
		{"status": "rueckfrage", "deadline": "2026-12-31", "note": map[string]string{"de": "Bitte senden Sie uns eine Kopie Ihres Mietvertrags."}},
	} {
		ev["messageId"], ev["action"], ev["notify"] = "bo-"+string(rune('a'+i)), "new", true
		ev["eventDate"] = time.Now().UTC().Add(time.Duration(i) * time.Second).Format(time.RFC3339Nano)
		if _, err := bo.Do(t.Context(), "POST", base+"/api/v1/cases/"+created.BusinessProcessID+"/events", ev, nil); err != nil {
			t.Fatal(err)
		}
	}
	c.Add(DefaultNotifyWindow)
	if _, err := svc.RunDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	c.Add(-DefaultNotifyWindow) // back to the IdP's time, for the tokens' lifetimes
	mails := env.Mails("anna@example.ch", idp.MailServiceNotice)
	if len(mails) != 1 {
		t.Fatalf("%d notices, want 1", len(mails))
	}
	raw, _ := json.Marshal(mails[0])
	if m := string(raw); !strings.Contains(m, created.Reference) || !strings.Contains(m, base+"/cases/"+created.Reference) ||
		strings.Contains(m, "Mietvertrag") || strings.Contains(m, "Wohnsitz") {
		t.Errorf("the notice must name the reference and link, never the content: %s", m)
	}

	// The case page: history and the Rückfrage, answered with a file.
	p.Do(chromedp.Navigate(base+"/cases/"+created.Reference), chromedp.WaitVisible(css(`#answer-text`)))
	has("case", "Rückfrage", "Mietvertrags", "31.12.2026", "In Bearbeitung", "Wir prüfen Ihre Angaben.", "Eingegangen", "Eingereicht")
	audit("case with Rückfrage")
	file := filepath.Join(t.TempDir(), "mietvertrag.pdf")
	if err := os.WriteFile(file, []byte("%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p.Do(chromedp.SendKeys(css(`#answer-text`), "Im Anhang der Mietvertrag."),
		chromedp.SetUploadFiles(css(`#answer-files`), []string{file}),
		chromedp.Submit(css(`#answer-text`)))
	p.WaitURL(base + "/cases/" + created.Reference + "?answered=1")
	p.Do(chromedp.WaitVisible(css(`#answers`)))
	has("answered", "Ihre Antwort wurde übermittelt.", "Im Anhang der Mietvertrag.", "mietvertrag.pdf")
	audit("case answered")

	var v caseView
	if _, err := bo.Do(t.Context(), "GET", base+"/api/v1/cases/"+created.BusinessProcessID, nil, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Answers) != 1 || len(v.Answers[0].Files) != 1 || v.Answers[0].Files[0].ContentType != "application/pdf" {
		t.Fatalf("the back office sees %+v", v.Answers)
	}
}
