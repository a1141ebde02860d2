package documents

import (
	"bytes"
	"context"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
	"github.com/kanton/kundencenter/notify"
	"github.com/kanton/kundencenter/services/api"
	"github.com/kanton/kundencenter/services/rp"
	"github.com/kanton/kundencenter/store/sqldb"
)

// TestEndToEnd runs the document service against a real IdP and drives it
// in headless Chromium: the back office closes Anna's case and has the
// Wohnsitzbestätigung generated and sealed (API with its own client
// credentials); Anna is told by one general e-mail, finds the document in
// her inbox, downloads it (same SHA-256 as shown), verifies the downloaded
// file on the public page, passes it on with a share link that a fresh
// browser context opens and downloads, and revokes the link; the IdP's
// account-purged event deletes her documents. Every page is audited with
// axe-core at 1280 and 390 px.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	env := idptest.Start(t, idptest.Options{})
	anna := env.CreateAccount(t, "Anna", "Muster", "anna@example.ch", "Sonnenblume-Aare-42")
	app := httptest.NewUnstartedServer(nil)
	t.Cleanup(app.Close)
	base := "http://" + app.Listener.Addr().String()
	const secret = "documents-secret-0123456789"
	env.AddClient(t, idp.Client{ID: "documents", Name: "Meine Dokumente", RedirectURIs: []string{base + rp.CallbackPath},
		PostLogoutRedirectURIs: []string{base + rp.LoggedOutPath},
		GrantTypes:             []string{idp.GrantAuthorizationCode, idp.GrantClientCredentials},
		Scopes:                 []string{api.ScopeNotify}, APIScopes: []string{ScopeWrite, "documents:read"},
		EventsURI: base + rp.EventsPath}, secret)
	env.AddClient(t, idp.Client{ID: "reader", GrantTypes: []string{idp.GrantClientCredentials}, Scopes: []string{"documents:read"}}, "reader-secret-0123456789")
	env.AddClient(t, idp.Client{ID: "backoffice", GrantTypes: []string{idp.GrantClientCredentials}, Scopes: []string{ScopeWrite}}, "backoffice-secret-0123456789")
	sealer, verifier := testSealing(t)
	cc := api.ClientConfig{Issuer: env.URL, ClientID: "documents", ClientSecret: secret}
	svc, handler, err := build(t.Context(), Config{
		RP: rp.Config{Issuer: env.URL, ClientID: "documents", ClientSecret: secret, BaseURL: base,
			CookieKey: []byte("0123456789abcdef0123456789abcdef"), Insecure: true, Logger: slog.New(slog.DiscardHandler)},
		DB: openDB(t, "sqlite"), Sealer: sealer, Verifier: verifier, Issuer: "Kanton Test, Einwohnerdienste",
		Auth:     api.NewAuthenticator(api.AuthConfig{Issuer: env.URL, ClientID: "documents", ClientSecret: secret}),
		Notifier: api.NewNotifier(cc),
	})
	if err != nil {
		t.Fatal(err)
	}
	app.Config.Handler = handler
	app.Start()

	// The back office closes the case positively: the result document is
	// generated and sealed. Repeating the call changes nothing.
	bo := api.NewAPIClient(api.ClientConfig{Issuer: env.URL, ClientID: "backoffice", ClientSecret: "backoffice-secret-0123456789", Scopes: []string{ScopeWrite}})
	delivery := map[string]any{"messageId": "case-2026-000123-4-result", "owner": map[string]string{"kind": "person", "sub": anna.ID},
		"service": "wohnsitzbestaetigung", "reference": "2026-000123-4", "documentKind": "certificate",
		"generate": map[string]any{"template": TemplateWohnsitz, "lang": "de", "fields": map[string]string{
			"givenName": "Anna", "familyName": "Muster", "birthDate": "1990-05-17", "address": "Bärenplatz 1, 3011 Bern", "since": "2026-11-01"}}}
	var first, again DeliverResponse
	if status, err := bo.Do(t.Context(), "POST", base+"/api/v1/documents", delivery, &first); err != nil || status != 201 {
		t.Fatalf("delivery: %d %v", status, err)
	}
	if status, err := bo.Do(t.Context(), "POST", base+"/api/v1/documents", delivery, &again); err != nil || status != 200 || again != first {
		t.Fatalf("repeated delivery: %d %v %+v", status, err, again)
	}
	if status, err := bo.Do(t.Context(), "POST", base+"/api/v1/documents", map[string]any{"messageId": "x"}, nil); status != 422 || err == nil {
		t.Errorf("invalid delivery: %d %v", status, err)
	}
	// Without a token, and with a token for this API but without documents:write.
	if resp, err := http.Post(base+"/api/v1/documents", "application/json", strings.NewReader(`{}`)); err != nil || resp.StatusCode != 401 {
		t.Errorf("no token: %v %v", resp.StatusCode, err)
	}
	reader := api.NewAPIClient(api.ClientConfig{Issuer: env.URL, ClientID: "reader", ClientSecret: "reader-secret-0123456789", Scopes: []string{"documents:read"}})
	if status, _ := reader.Do(t.Context(), "POST", base+"/api/v1/documents", delivery, nil); status != 403 {
		t.Errorf("token without documents:write: %d, want 403", status)
	}
	// documents:read: the metadata of what the reader delivered; not others'.
	var view DocumentView
	if status, err := bo.Do(t.Context(), "GET", base+"/api/v1/documents/"+first.ID, nil, &view); status != 403 || err == nil {
		t.Errorf("read without documents:read: %d %v", status, err)
	}
	if status, _ := reader.Do(t.Context(), "GET", base+"/api/v1/documents/"+first.ID, nil, &view); status != 404 {
		t.Errorf("another client's document: %d, want 404", status)
	}
	w := &sqldb.Worker{DB: svc.cfg.DB, Handlers: svc.handlers(), Log: svc.log}
	if _, err := w.RunDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	if mails := env.Mails("anna@example.ch", idp.MailServiceNotice); len(mails) != 1 {
		t.Errorf("%d notices, want 1", len(mails))
	}

	ctx, cancel := idptest.Chromium(t)
	defer cancel()
	p := &idptest.Page{T: t, Ctx: ctx}
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	audit := func(p *idptest.Page, page string) {
		t.Helper()
		p.Audit(page + " (1280 px)")
		p.Do(chromedp.EmulateViewport(390, 844))
		p.Audit(page + " (390 px)")
		if wide, err := chromedp.Run(p.Ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`)); err != nil || wide {
			t.Errorf("%s scrolls sideways at 390 px (%v)", page, err)
		}
		p.Do(chromedp.EmulateViewport(1280, 900))
	}
	has := func(p *idptest.Page, page string, wants ...string) {
		t.Helper()
		body := p.Text("main")
		for _, w := range wants {
			if !strings.Contains(body, w) {
				t.Errorf("%s lacks %q:\n%.1500s", page, w, body)
			}
		}
	}
	// The pages forbid fetch (CSP connect-src 'none'); the test's own
	// fetch in the page needs the policy bypassed.
	bypassCSP := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true})
		return err
	})
	p.Do(bypassCSP)
	// fetchHash downloads url in the page and returns the bytes' SHA-256
	// (hex) and the bytes (base64).
	fetchHash := func(p *idptest.Page, url string) (string, []byte) {
		t.Helper()
		res, err := chromedp.Run(p.Ctx, chromedp.Evaluate[[]string](`fetch(`+"`"+url+"`"+`).then(r => r.arrayBuffer()).then(async b => [
			[...new Uint8Array(await crypto.subtle.digest("SHA-256", b))].map(x => x.toString(16).padStart(2, "0")).join(""),
			btoa(String.fromCharCode(...new Uint8Array(b)))])`, chromedp.EvalAwaitPromise))
		if err != nil || len(res) != 2 {
			t.Fatalf("fetch %s: %v", url, err)
		}
		b, _ := base64.StdEncoding.DecodeString(res[1])
		return res[0], b
	}

	p.Do(chromedp.Navigate(base+"/"), chromedp.WaitVisible(css(`#password`)),
		chromedp.SendKeys(css(`#email`), "anna@example.ch"),
		chromedp.SendKeys(css(`#password`), "Sonnenblume-Aare-42"),
		chromedp.Submit(css(`#password`)))
	p.WaitURL(base + "/")
	p.Do(chromedp.WaitVisible(css(`.items`)))
	has(p, "inbox", "Wohnsitzbestätigung", "Neu", "Bescheinigung", "Geschäft 2026-000123-4")
	audit(p, "inbox")

	p.Do(chromedp.Click(css(`.items a`)), chromedp.WaitVisible(css(`#sha256`)))
	shown := p.Text("#sha256")
	if shown != first.SHA256 {
		t.Errorf("page shows SHA-256 %s, API said %s", shown, first.SHA256)
	}
	has(p, "document", "Kanton Test, Einwohnerdienste", "Freigabelink erstellen")
	audit(p, "document")
	sum, pdf := fetchHash(p, p.Attr("#download", "href"))
	if sum != shown {
		t.Fatalf("downloaded SHA-256 %s, shown %s", sum, shown)
	}

	// Anyone can verify the downloaded file, without login.
	file := filepath.Join(t.TempDir(), "wohnsitzbestaetigung.pdf")
	if err := os.WriteFile(file, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	verifyIn := func(p *idptest.Page, path string) string {
		p.Do(chromedp.Navigate(base+VerifyPath), chromedp.WaitVisible(css(`#file`)),
			chromedp.SetUploadFiles(css(`#file`), []string{path}), chromedp.Click(css(`#verify`)),
			chromedp.WaitVisible(css(`#verdict`)))
		return p.Attr("#verdict", "data-valid")
	}
	if v := verifyIn(p, file); v != "true" {
		t.Fatalf("verification of the download: valid=%s", v)
	}
	has(p, "verification", "Siegel gültig", "Kanton Test", "Ja, am")
	audit(p, "verification (valid)")
	pdf[bytes.Index(pdf, []byte("/Creator"))+12] ^= 0x01 // in the signed range
	tampered := filepath.Join(t.TempDir(), "tampered.pdf")
	if err := os.WriteFile(tampered, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	if v := verifyIn(p, tampered); v != "false" {
		t.Errorf("verification of a tampered file: valid=%s", v)
	}
	audit(p, "verification (invalid)")

	// A share link, opened in a fresh browser context (no session).
	p.Do(chromedp.Navigate(base+"/d/"+first.ID), chromedp.WaitVisible(css(`#days`)),
		chromedp.SetValue(css(`#days`), "3"), chromedp.SendKeys(css(`#limit`), "5"),
		chromedp.Click(css(`#create-share`)), chromedp.WaitVisible(css(`#share-link`)))
	link := p.Text("#share-link")
	audit(p, "share link created")
	other, cancelOther := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	defer cancelOther()
	q := &idptest.Page{T: t, Ctx: other}
	q.Do(bypassCSP)
	q.Do(chromedp.Navigate(link), chromedp.WaitVisible(css(`#download`)))
	has(q, "shared document", "Wohnsitzbestätigung", shown)
	audit(q, "shared document")
	if sum, _ := fetchHash(q, link+"/download"); sum != shown {
		t.Errorf("shared download SHA-256 %s, want %s", sum, shown)
	}

	// The owner sees the download and revokes the link.
	p.Do(chromedp.Navigate(base+"/d/"+first.ID), chromedp.WaitVisible(css(`.share`)))
	has(p, "document with share", "Aktiv", "Downloads: 1 / 5")
	p.Do(chromedp.Click(css(`.share .revoke`)), chromedp.WaitNotPresent(css(`.share .revoke`)))
	has(p, "document after revocation", "Widerrufen", "Downloads: 1 / 5")
	q.Do(chromedp.Navigate(link), chromedp.WaitVisible(css(`main h1`)))
	has(q, "revoked link", "Nicht gefunden")
	audit(q, "revoked link")

	// The IdP deletes Anna's account: its account-purged Security Event
	// deletes her documents (a repeated delivery changes nothing).
	ev := notify.EventsConfig{Issuer: env.URL}
	claims := ev.SETClaims(idp.EventNotice{JTI: "jti-purge", ClientID: "documents", Type: idp.EventAccountPurged, Subject: anna.ID, At: time.Now()}, time.Now())
	token, err := env.Keys.SignJWT("secevent+jwt", claims)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		resp, err := http.Post(base+rp.EventsPath, "application/secevent+jwt", strings.NewReader(token))
		if err != nil || resp.StatusCode != http.StatusAccepted {
			t.Fatalf("account-purged: %v %v", resp.StatusCode, err)
		}
		resp.Body.Close()
	}
	if docs, err := svc.store.List(t.Context(), Owner{Kind: "person", Sub: anna.ID}); err != nil || len(docs) != 0 {
		t.Errorf("after account-purged Anna still has %d documents (%v)", len(docs), err)
	}
	q.Do(chromedp.Navigate(link), chromedp.WaitVisible(css(`main h1`)))
	has(q, "link after purge", "Nicht gefunden")
}
