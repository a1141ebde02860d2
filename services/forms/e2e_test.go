package forms

import (
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kanton/kundencenter/delegation"
	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
	"github.com/kanton/kundencenter/services/forms/datatrans/datatranstest"
	"github.com/kanton/kundencenter/services/rp"
)

const (
	e2eSecret   = "forms-secret-forms-secret-forms-0001"
	e2eEmail    = "anna.muster@example.ch"
	e2ePassword = "Sonnenblume-Aare-42"
)

// e2e is a form service at a real IdP with Anna's account, driven by
// headless Chromium.
type e2e struct {
	env  *idptest.Env
	anna idp.Account
	base string
	psp  *datatranstest.Server
	p    *idptest.Page
}

func startE2E(t *testing.T) (*e2e, func()) {
	env := idptest.Start(t, idptest.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	env.AddClient(t, idp.Client{ID: "forms", Name: "Formulare", RedirectURIs: []string{base + "/auth/callback"},
		PostLogoutRedirectURIs: []string{base + "/logged-out"}}, e2eSecret)
	anna := env.CreateAccount(t, "Anna", "Muster", e2eEmail, e2ePassword)

	cfg, pp := testConfig(t, openDB(t, "sqlite"))
	cfg.RP = rp.Config{Issuer: env.URL, ClientID: "forms", ClientSecret: e2eSecret, BaseURL: base,
		CookieKey: []byte("cookie-key-for-tests-32-bytes-ok"), Insecure: true}
	cfg.Logger = slog.New(slog.DiscardHandler)
	svc, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: svc}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	cctx, cancel := idptest.Chromium(t)
	return &e2e{env: env, anna: anna, base: base, psp: pp.psp, p: &idptest.Page{T: t, Ctx: cctx}}, cancel
}

func css(s string) chromedp.CSS { return chromedp.CSS(s) }

// audit checks the page at desktop and at phone width.
func (e *e2e) audit(name string) {
	e.p.T.Helper()
	e.p.Audit(name + " (1280 px)")
	e.p.Do(chromedp.EmulateViewport(390, 844))
	e.p.Audit(name + " (390 px)")
	e.p.Do(chromedp.EmulateViewport(1280, 900))
}

// login logs Anna in, starting at start.
func (e *e2e) login(start string) {
	e.p.T.Helper()
	e.p.Do(chromedp.Navigate(start), chromedp.WaitVisible(css(`#password`)),
		chromedp.SendKeys(css(`#email`), e2eEmail), chromedp.SendKeys(css(`#password`), e2ePassword),
		chromedp.Submit(css(`#password`)))
	e.p.WaitURL(e.base + "/")
}

// next presses "Weiter".
func (e *e2e) next() { e.p.Do(chromedp.Click(css(`button[value="continue"]`))) }

// TestEndToEnd drives the main journey in headless Chromium against a real
// IdP: log in, fill a multi-page form with a condition, see the error
// summary, save, log out, log in, resume, check answers, change one
// answer, send, see the confirmation and "bereits gesendet" after the back
// button. The form pages are audited with axe-core at 1280 and 390 px.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	e, cancel := startE2E(t)
	defer cancel()
	p, base, audit, login, next := e.p, e.base, e.audit, e.login, e.next
	login(base + "/")
	p.Do(chromedp.WaitVisible(css(`.cards`)))
	p.Audit("catalogue")
	p.Do(chromedp.Click(css(`a[href="/forms/umzug-melden"]`)))
	p.WaitURL(base + "/forms/umzug-melden")
	p.Audit("start page")
	p.Do(chromedp.Click(css(`main form button`)))
	p.WaitURL(base + "/drafts/")
	p.Do(chromedp.WaitVisible(css(`#f-herkunft-anderer_kanton`)))
	audit("question page")
	next()
	p.Do(chromedp.WaitVisible(css(`.error-summary`)))
	if s := p.Text(".error-summary"); !strings.Contains(s, "Wählen Sie eine Antwort") {
		t.Fatalf("error summary %q", s)
	}
	audit("question page with an error")
	p.Do(chromedp.Click(css(`#f-herkunft-anderer_kanton`)))
	next()
	p.Do(chromedp.WaitVisible(css(`#f-heimatschein-ja`))) // the condition shows it
	audit("address page")
	p.Do(chromedp.SendKeys(css(`#f-bisherige_adresse-street`), "Hauptgasse 1"),
		chromedp.SendKeys(css(`#f-bisherige_adresse-postal_code`), "4500"),
		chromedp.SendKeys(css(`#f-bisherige_adresse-locality`), "Solothurn"),
		chromedp.Click(css(`#f-heimatschein-ja`)))
	next()
	p.Do(chromedp.WaitVisible(css(`#f-umzugsdatum`)),
		chromedp.SendKeys(css(`#f-neue_adresse-street`), "Bahnhofstrasse 3"))
	// Save and come back later, log out, log in, resume.
	p.Do(chromedp.Click(css(`button[value="save"]`)))
	p.WaitURL(base + "/drafts?saved=1")
	p.Audit("Meine Entwürfe")
	p.Do(chromedp.Submit(css(`form[action="/logout"] button`)))
	p.WaitURL(base + "/logged-out")
	login(base + "/drafts")
	p.Do(chromedp.Click(css(`main .items a`)))
	p.WaitURL(base + "/drafts/")
	p.Do(chromedp.WaitVisible(css(`#f-umzugsdatum`)))
	if v := p.Value(`#f-neue_adresse-street`); v != "Bahnhofstrasse 3" {
		t.Fatalf("resumed with street %q", v)
	}
	p.Do(chromedp.SendKeys(css(`#f-neue_adresse-postal_code`), "2540"),
		chromedp.SendKeys(css(`#f-neue_adresse-locality`), "Grenchen"),
		chromedp.SendKeys(css(`#f-umzugsdatum`), "01.02.2027"),
		chromedp.SendKeys(css(`#f-personen`), "2"))
	next()
	p.Do(chromedp.WaitVisible(css(`#f-email`)))
	if v := p.Value(`#f-email`); v != e2eEmail {
		t.Errorf("e-mail not pre-filled: %q", v)
	}
	next()
	p.WaitURL(base + "/drafts/")
	p.Do(chromedp.WaitVisible(css(`#f-declaration`)))
	audit("check answers")
	// Change one answer: back to check answers.
	p.Do(chromedp.Click(css(`a[href*="/pages/neue_adresse?change=1#f-personen"]`)), chromedp.WaitVisible(css(`#f-personen`)),
		chromedp.SetValue(css(`#f-personen`), "3"))
	next()
	p.Do(chromedp.WaitVisible(css(`#f-declaration`)))
	checkURL := p.Location()
	p.Do(chromedp.Click(css(`#f-declaration`)), chromedp.Click(css(`main form button.primary`)))
	p.WaitURL(base + "/submissions/")
	p.Do(chromedp.WaitVisible(css(`.panel`)))
	if ref := p.Text(".reference"); !strings.HasPrefix(ref, "F-") {
		t.Errorf("reference %q", ref)
	}
	audit("confirmation")
	// What the back button shows (pages are no-store, so going back
	// fetches the check page again).
	p.Do(chromedp.Navigate(checkURL), chromedp.WaitVisible(css(`h1`)))
	if h := p.Text("h1"); h != "Bereits gesendet" {
		t.Errorf("after the back button: %q", h)
	}

}

// TestEndToEndPayment fills a form with a fee and pays it with TWINT on the
// fake Datatrans; the form is sent once the signed webhook arrived.
func TestEndToEndPayment(t *testing.T) {
	t.Parallel()
	e, cancel := startE2E(t)
	defer cancel()
	p, base, audit, next, psp := e.p, e.base, e.audit, e.next, e.psp
	e.login(base + "/forms/parkkarte")
	p.Do(chromedp.WaitVisible(css(`main form button`)),
		chromedp.Click(css(`main form button`)), chromedp.WaitVisible(css(`#f-kartenart-anwohner`)),
		chromedp.Click(css(`#f-kartenart-anwohner`)), chromedp.Click(css(`#f-dauer-jahr`)))
	next()
	p.Do(chromedp.WaitVisible(css(`#f-kennzeichen`)), chromedp.SendKeys(css(`#f-kennzeichen`), "SO 12345"),
		chromedp.SendKeys(css(`#f-adresse-street`), "Hauptgasse 1"), chromedp.SendKeys(css(`#f-adresse-postal_code`), "4500"),
		chromedp.SendKeys(css(`#f-adresse-locality`), "Solothurn"))
	next()
	p.Do(chromedp.WaitVisible(css(`#f-declaration`)))
	audit("check answers with a fee")
	p.Do(chromedp.Click(css(`#f-declaration`)), chromedp.Click(css(`main form button.primary`)))
	p.WaitURL(psp.URL() + "/v1/start/")
	p.Do(chromedp.WaitVisible(css(`#m-TWI`)), chromedp.Click(css(`#m-TWI`)), chromedp.Click(css(`button[value="success"]`)))
	p.WaitURL(base + "/submissions/")
	p.Do(chromedp.WaitVisible(css(`.panel`)))
	if s := p.Text("main"); !strings.Contains(s, "Bezahlt: CHF 40.00") {
		t.Errorf("confirmation after paying: %q", s)
	}
	p.Audit("confirmation after paying")
}

// TestEndToEndActing: Anna represents Paula and is a member of Muster AG
// with the form service assigned; she sends "Fristerstreckung" for each,
// chosen on the IdP's "Für wen handeln Sie?" page.
func TestEndToEndActing(t *testing.T) {
	t.Parallel()
	e, cancel := startE2E(t)
	defer cancel()
	p, base, ctx := e.p, e.base, t.Context()
	paula := e.env.CreateAccount(t, "Paula", "Prinzipal", "paula@example.ch", e2ePassword)
	rep, code, err := e.env.Orgs.CreateRepresentation(ctx, paula.ID, delegation.RepInput{Services: []string{"forms"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.env.Orgs.Accept(ctx, e.anna.ID, code, "203.0.113.9"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.env.Orgs.Confirm(ctx, paula.ID, rep.ID); err != nil {
		t.Fatal(err)
	}
	org, err := e.env.Orgs.CreateOrg(ctx, e.anna.ID, delegation.OrgInput{Name: "Muster AG",
		Addresses: []delegation.Address{{Street: "Bahnhofstrasse 1", PostalCode: "5000", Town: "Aarau", Country: "CH"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.env.Orgs.SetServices(ctx, e.anna.ID, org.ID, e.anna.ID, []string{"forms"}); err != nil {
		t.Fatal(err)
	}
	for i, choice := range []struct{ value, name string }{{"person:" + rep.ID, "Paula Prinzipal"}, {"organisation:" + org.ID, "Muster AG"}} {
		if i == 0 {
			p.Do(chromedp.Navigate(base+"/"), chromedp.WaitVisible(css(`#password`)))
		} else {
			p.Do(chromedp.Submit(css(`form[action="/logout"] button`)))
			p.WaitURL(base + "/logged-out")
			p.Do(chromedp.Navigate(base+"/"), chromedp.WaitVisible(css(`#password`)))
		}
		p.Do(chromedp.SendKeys(css(`#email`), e2eEmail), chromedp.SendKeys(css(`#password`), e2ePassword),
			chromedp.Submit(css(`#password`)), chromedp.WaitVisible(css(`input[value="`+choice.value+`"]`)),
			chromedp.Click(css(`input[value="`+choice.value+`"]`)), chromedp.Submit(css(`input[name="acting"]`)))
		p.WaitURL(base + "/")
		p.Do(chromedp.WaitVisible(css(`.greeting`)))
		if g := p.Text(".greeting"); !strings.Contains(g, "Sie handeln für "+choice.name) {
			t.Fatalf("greeting %q", g)
		}
		if i == 0 {
			e.audit("catalogue for a represented person")
		}
		p.Do(chromedp.Navigate(base+"/forms/fristerstreckung-steuererklaerung"), chromedp.WaitVisible(css(`main form button`)),
			chromedp.Click(css(`main form button`)), chromedp.WaitVisible(css(`#f-steuerjahr`)),
			chromedp.SetValue(css(`#f-steuerjahr`), "2025"), chromedp.SendKeys(css(`#f-steuernummer`), "123.456.789"))
		e.next()
		p.Do(chromedp.WaitVisible(css(`#f-neue_frist-30\.06`)), chromedp.Click(css(`#f-neue_frist-30\.06`)))
		e.next()
		p.Do(chromedp.WaitVisible(css(`#f-declaration`)), chromedp.Click(css(`#f-declaration`)), chromedp.Click(css(`main form button.primary`)))
		p.WaitURL(base + "/submissions/")
		p.Do(chromedp.WaitVisible(css(`.panel`)))
		if g := p.Text(".greeting, main"); !strings.Contains(g, "Antrag gesendet") {
			t.Fatalf("confirmation %q", g)
		}
	}
}
