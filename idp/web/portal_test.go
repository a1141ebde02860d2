package web_test

import (
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/kanton/kundencenter/catalogue"
	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
	"github.com/kanton/kundencenter/idp/web"
	"github.com/kanton/kundencenter/portal"
	"github.com/kanton/kundencenter/templates"
)

const (
	portalRedirect = "http://localhost:9998/cb"
	portalSecret   = "s3cret-s3cret-s3cret-s3cret-s3cret-0014"
	portalEmail    = "petra.portal@example.ch"
	portalPassword = "Sonnenblume-Aare-14"
	supportAddress = "support@kanton.example"
)

// testCatalogue is the real catalogue plus one service of client "tax"
// that needs enablement.
func testCatalogue(t *testing.T) *catalogue.Catalogue {
	t.Helper()
	c, err := catalogue.Parse([]byte(`{"categories":[{"id":"steuern","title":{"de":"Steuern","fr":"Impôts","it":"Imposte","en":"Taxes"}}],
"services":[{"id":"steuererklaerung","category":"steuern","level":"low","enablement":true,"personal":true,"client":"tax","start":"https://tax.example/",
"title":{"de":"Steuererklärung einreichen","fr":"Déposer la déclaration d'impôt","it":"Presentare la dichiarazione d'imposta","en":"File a tax return"},
"summary":{"de":"Online.","fr":"En ligne.","it":"Online.","en":"Online."},"keywords":{"de":["steuern"]}},
{"id":"hund-anmelden","category":"steuern","level":"low","personal":true,"start":"forms:/hund",
"title":{"de":"Hund anmelden","fr":"Annoncer un chien","it":"Notificare un cane","en":"Register a dog"},
"summary":{"de":"Hundetaxe.","fr":"Taxe.","it":"Tassa.","en":"Dog tax."},"keywords":{"de":["hundesteuer"]}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type portalEnv struct {
	env  *idptest.Env
	en   *portal.Enablements
	conf *oauth2.Config
}

func startPortal(t *testing.T) *portalEnv {
	t.Helper()
	en, err := portal.OpenEnablements(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "portal.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { en.Close() })
	env := idptest.Start(t, idptest.Options{Portal: web.Portal{Catalogue: testCatalogue(t), Enablements: en, ContactTo: supportAddress,
		Links: templatesLinks()}})
	env.AddClient(t, idp.Client{ID: "tax", Name: "Steuern online", RedirectURIs: []string{portalRedirect}}, portalSecret)
	env.CreateAccount(t, "Petra", "Portal", portalEmail, portalPassword)
	conf := &oauth2.Config{ClientID: "tax", ClientSecret: portalSecret, RedirectURL: portalRedirect, Scopes: []string{"openid"},
		Endpoint: oauth2.Endpoint{AuthURL: env.URL + "/authorize", TokenURL: env.URL + "/oauth/token"}}
	return &portalEnv{env: env, en: en, conf: conf}
}

func (p *portalEnv) authURL() string {
	return p.conf.AuthCodeURL("st-14", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("nonce", "n-14"))
}

func TestCataloguePages(t *testing.T) {
	t.Parallel()
	p := startPortal(t)
	b := p.env.NewBrowser(t)
	tests := []struct{ path, want string }{
		{"/services", "Hund anmelden"},
		{"/services?q=Hundestuer", "Hund anmelden"},
		{"/services/hund-anmelden", `href="http://forms.example/hund"`},
		{"/services/steuererklaerung", "Freischaltung"},
		{"/accessibility", "WCAG"},
		{"/privacy", "verschlüsselt"},
		{"/imprint", "Staatskanzlei"},
		{"/contact", `name="message"`},
		{"/services?q=hundesteuer&lang=fr", "Annoncer un chien"},
		{"/integration", `<h2 id="3-log-people-in-openid-connect">`},
		{"/integration", "interaction_required"},
		{"/integration?lang=fr", `<div class="guide" lang="en">`},
		{"/contact?lang=de", `<a href="/integration">Dienstleistungen integrieren</a>`},
	}
	for _, tt := range tests {
		res := b.Open(t, tt.path)
		if res.Resp.StatusCode != http.StatusOK || !strings.Contains(res.Body, tt.want) {
			t.Errorf("GET %s: status %d, want %q in %.400s", tt.path, res.Resp.StatusCode, tt.want, res.Body)
		}
	}
	if res := b.Open(t, "/services?q=xylophonorchester&lang=de"); !strings.Contains(res.Body, "Keine Dienstleistung gefunden") {
		t.Errorf("empty search: %.300s", res.Body)
	}
	if res := b.Open(t, "/services/nope"); res.Resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown service: status %d", res.Resp.StatusCode)
	}
}

// TestEnablementGate: before approval the login to the service ends on
// the friendly page, after approval it reaches the service, and a refusal
// is told by e-mail.
func TestEnablementGate(t *testing.T) {
	t.Parallel()
	p := startPortal(t)
	b := p.env.NewBrowser(t)
	res := b.Open(t, p.authURL())
	id := res.Resp.Request.URL.Query().Get("authRequestID")
	if res.Resp.Request.URL.Path != "/login" || id == "" {
		t.Fatalf("authorize ended on %s", res.Resp.Request.URL)
	}
	res = b.Submit(t, "/login?authRequestID="+url.QueryEscape(id), "/login",
		url.Values{"authRequestID": {id}, "email": {portalEmail}, "password": {portalPassword}})
	if res.Resp.StatusCode != http.StatusForbidden || !strings.Contains(res.Body, "Freischaltung nötig") ||
		!strings.Contains(res.Body, "Steuererklärung einreichen") || !strings.Contains(res.Body, `href="/services/steuererklaerung"`) {
		t.Fatalf("login before enablement: status %d %.600s", res.Resp.StatusCode, res.Body)
	}

	// Request it from the catalogue page; the operators refuse, then approve.
	res = b.Submit(t, "/services/steuererklaerung", "/services/steuererklaerung/enablement", nil)
	if res.Resp.StatusCode != http.StatusOK || !strings.Contains(res.Body, "Ihr Antrag auf Freischaltung ist eingegangen") {
		t.Fatalf("request: status %d %.400s", res.Resp.StatusCode, res.Body)
	}
	list, err := p.en.List(t.Context(), portal.StatusRequested)
	if err != nil || len(list) != 1 {
		t.Fatalf("pending = %+v, %v", list, err)
	}
	if res := b.Open(t, p.authURL()); res.Resp.StatusCode != http.StatusForbidden || !strings.Contains(res.Body, "wird geprüft") {
		t.Fatalf("SSO while pending: status %d %.400s", res.Resp.StatusCode, res.Body)
	}
	if _, err := p.en.Decide(t.Context(), list[0].ID, false, "Code fehlt"); err != nil {
		t.Fatal(err)
	}
	if res := b.Open(t, p.authURL()); res.Resp.StatusCode != http.StatusForbidden || !strings.Contains(res.Body, "abgelehnt") {
		t.Fatalf("SSO after refusal: status %d %.400s", res.Resp.StatusCode, res.Body)
	}
	if _, err := p.en.Request(t.Context(), list[0].AccountID, "steuererklaerung", "de"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.en.Decide(t.Context(), list[0].ID, true, ""); err != nil {
		t.Fatal(err)
	}
	u := b.Authorize(t, p.authURL(), portalEmail, portalPassword)
	if !strings.HasPrefix(u.String(), portalRedirect) || u.Query().Get("code") == "" {
		t.Fatalf("login after approval ended at %s", u)
	}
	if res := b.Open(t, "/services/steuererklaerung"); !strings.Contains(res.Body, "ist für diese Dienstleistung freigeschaltet") {
		t.Errorf("catalogue page after approval: %.400s", res.Body)
	}
}

// TestEnablementPromptNone: a silent login (prompt=none) to a service the
// account is not enabled for cannot show the friendly page, so it returns
// interaction_required to the client (OIDC Core §3.1.2.6), never a code;
// without a session it stays login_required; after approval it succeeds.
func TestEnablementPromptNone(t *testing.T) {
	p := startPortal(t)
	b := p.env.NewBrowser(t)
	silent := func() *url.URL {
		t.Helper()
		u := b.Authorize(t, p.conf.AuthCodeURL("st-none", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()),
			oauth2.SetAuthURLParam("nonce", "n-none"), oauth2.SetAuthURLParam("prompt", "none")), "", "")
		if !strings.HasPrefix(u.String(), portalRedirect) || u.Query().Get("state") != "st-none" {
			t.Fatalf("prompt=none ended at %s, want the client's redirect URI with the state", u)
		}
		return u
	}
	if u := silent(); u.Query().Get("error") != "login_required" {
		t.Fatalf("prompt=none without a session: %s", u)
	}
	// An interactive login: the friendly page, and a session.
	res := b.Open(t, p.authURL())
	id := res.Resp.Request.URL.Query().Get("authRequestID")
	res = b.Submit(t, "/login?authRequestID="+url.QueryEscape(id), "/login",
		url.Values{"authRequestID": {id}, "email": {portalEmail}, "password": {portalPassword}})
	if res.Resp.StatusCode != http.StatusForbidden || !strings.Contains(res.Body, "Freischaltung nötig") {
		t.Fatalf("interactive login before enablement: status %d %.400s", res.Resp.StatusCode, res.Body)
	}
	if u := silent(); u.Query().Get("error") != "interaction_required" || u.Query().Get("code") != "" ||
		u.Query().Get("iss") != p.env.URL {
		t.Fatalf("prompt=none before enablement: %s", u)
	}
	// Interactive logins still end on the friendly page.
	if res := b.Open(t, p.authURL()); res.Resp.StatusCode != http.StatusForbidden || !strings.Contains(res.Body, "Freischaltung nötig") {
		t.Fatalf("SSO before enablement: status %d %.400s", res.Resp.StatusCode, res.Body)
	}
	b.Submit(t, "/services/steuererklaerung", "/services/steuererklaerung/enablement", nil)
	if u := silent(); u.Query().Get("error") != "interaction_required" {
		t.Fatalf("prompt=none while the request is pending: %s", u)
	}
	list, err := p.en.List(t.Context(), portal.StatusRequested)
	if err != nil || len(list) != 1 {
		t.Fatalf("pending = %+v, %v", list, err)
	}
	if _, err := p.en.Decide(t.Context(), list[0].ID, true, ""); err != nil {
		t.Fatal(err)
	}
	if u := silent(); u.Query().Get("code") == "" || u.Query().Get("error") != "" {
		t.Fatalf("prompt=none after approval: %s", u)
	}
}

func TestContactForm(t *testing.T) {
	t.Parallel()
	p := startPortal(t)
	b := p.env.NewBrowser(t)
	send := func(email string) idptest.Result {
		return b.Submit(t, "/contact", "/contact", url.Values{"name": {"Max"}, "email": {email}, "topic": {"login"}, "message": {"Ich komme nicht weiter."}})
	}
	// The same answer whether or not the address has an account.
	for _, email := range []string{portalEmail, "nobody@example.ch"} {
		res := send(email)
		if res.Resp.StatusCode != http.StatusOK || !strings.Contains(res.Body, "Ihre Referenznummer") {
			t.Fatalf("contact from %s: status %d %.400s", email, res.Resp.StatusCode, res.Body)
		}
		if strings.Contains(res.Body, email) {
			t.Errorf("the answer echoes the address %s", email)
		}
	}
	mails := p.env.Mails(supportAddress, "contact")
	if len(mails) != 2 || mails[0].Data["ReplyTo"] != portalEmail || !strings.HasPrefix(mails[0].Data["Reference"], "K-") {
		t.Fatalf("support mails %+v", mails)
	}
	if len(p.env.Mails(portalEmail, "contact")) != 0 {
		t.Error("a mail went to the sender")
	}
	if res := b.Submit(t, "/contact", "/contact", url.Values{"email": {"x"}, "topic": {"login"}}); res.Resp.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(res.Body, `href="#message"`) {
		t.Errorf("invalid form: status %d", res.Resp.StatusCode)
	}
	// Rate limit: at most 3 per sender address and hour.
	send("flood@example.ch")
	send("flood@example.ch")
	send("flood@example.ch")
	if res := send("flood@example.ch"); res.Resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("fourth request from one address: status %d", res.Resp.StatusCode)
	}
}

func TestPortalNavigation(t *testing.T) {
	t.Parallel()
	p := startPortal(t)
	b := p.env.NewBrowser(t)
	res := b.Submit(t, "/login", "/login", url.Values{"email": {portalEmail}, "password": {portalPassword}})
	if res.Resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %d", res.Resp.StatusCode)
	}
	res = b.Open(t, "/overview?lang=fr")
	for _, want := range []string{`<nav class="main-nav"`, `href="/overview" aria-current="page">Aperçu`, `href="http://status.example/?lang=fr"`,
		`href="http://forms.example/?lang=fr"`, `href="/contact">Contact`, "Invitations"} {
		if !strings.Contains(res.Body, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
}

func templatesLinks() templates.PortalLinks {
	return templates.PortalLinks{Status: "http://status.example", Forms: "http://forms.example", Documents: "http://documents.example"}
}

// TestResetReturnsToService: "Passwort vergessen?" during a service's login
// leads, after the reset, back to that login and on to the service.
func TestResetReturnsToService(t *testing.T) {
	t.Parallel()
	p := startPortal(t)
	p.env.AddClient(t, idp.Client{ID: "plain", Name: "Formulare", RedirectURIs: []string{portalRedirect}}, portalSecret)
	conf := *p.conf
	conf.ClientID = "plain"
	b := p.env.NewBrowser(t)
	res := b.Open(t, conf.AuthCodeURL("st-r", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("nonce", "n-r")))
	id := res.Resp.Request.URL.Query().Get("authRequestID")
	if id == "" || !strings.Contains(res.Body, `href="/reset?authRequestID=`+id+`"`) {
		t.Fatalf("login page lacks the reset link for the request: %.300s", res.Body)
	}
	b.Submit(t, "/reset?authRequestID="+url.QueryEscape(id), "/reset", url.Values{"email": {portalEmail}})
	m, ok := p.env.LastMail(portalEmail, idp.MailReset)
	if !ok {
		t.Fatal("no reset mail")
	}
	link, _ := url.Parse(m.Data["Link"])
	const newPassword = "Neues-Passwort-Rhein-14"
	res = b.Submit(t, link.RequestURI(), "/reset/confirm", url.Values{"token": {link.Query().Get("token")},
		"password": {newPassword}, "password_repeat": {newPassword}})
	if !strings.Contains(res.Body, `href="/login?authRequestID=`+id+`"`) {
		t.Fatalf("the page after the reset does not lead back to the service's login: %.600s", res.Body)
	}
	if u := b.Login(t, id, portalEmail, newPassword); !strings.HasPrefix(u.String(), portalRedirect) || u.Query().Get("code") == "" {
		t.Fatalf("login after reset ended at %s", u)
	}
}
