package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kanton/kundencenter/idp/idptest"
)

// a11yLangs are the portal's languages.
var a11yLangs = []string{"de", "fr", "it", "en"}

// registerAccount registers and activates an account through the pages
// (the activation mail in the dev outbox).
func registerAccount(t *testing.T, p *idptest.Page, idpURL, given, family, email, pw string) {
	t.Helper()
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	p.Do(chromedp.Navigate(idpURL+"/register"), chromedp.WaitVisible(css(`#given_name`)),
		chromedp.SendKeys(css(`#given_name`), given), chromedp.SendKeys(css(`#family_name`), family),
		chromedp.SendKeys(css(`#email`), email), chromedp.SendKeys(css(`#password`), pw),
		chromedp.SendKeys(css(`#password_repeat`), pw), chromedp.Submit(css(`#password`)),
		chromedp.WaitNotPresent(css(`#password`)))
	link, _ := latestMailLink(t, p, idpURL, email, "/activate?token=")
	p.Do(chromedp.Navigate(link), chromedp.WaitVisible(css(`form[action="/activate"] button`)),
		chromedp.Click(css(`form[action="/activate"] button`)), chromedp.WaitVisible(css(`main a[href^="/login"]`)))
}

// a11yLogin opens start, a page that needs a login, and logs in.
func a11yLogin(t *testing.T, p *idptest.Page, start, email, pw string) {
	t.Helper()
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	p.Do(chromedp.Navigate(start), chromedp.WaitVisible(css(`#password`)),
		chromedp.SendKeys(css(`#email`), email), chromedp.SendKeys(css(`#password`), pw),
		chromedp.Submit(css(`#password`)), chromedp.WaitNotPresent(css(`#password`)))
}

// TestAxeAllOrigins audits every page of the four origins (the IdP and the
// forms, status and documents services, run by the real `serve`) with
// axe-core (WCAG 2.1 A/AA) at 1280 and 390 px in de/fr/it/en: no serious
// or critical violation (issue 14); lesser ones are logged. Each page is
// loaded once per language and audited at both widths. Each language has a
// browser of its own, two at a time: it audits the public pages logged
// out, then logs in once and audits the pages behind the login. Pages that
// need data of their own (a case, a document) are audited by the services'
// own end-to-end tests.
func TestAxeAllOrigins(t *testing.T) {
	t.Parallel()
	idpURL, formsURL, statusURL, documentsURL := startServe(t)
	start := time.Now()
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	const email, pw = "erika.zugang@example.ch", "Sonnenblume-Aare-52"

	// The account, and a draft of a form for its question page.
	ctx, cancel := idptest.Chromium(t)
	p := &idptest.Page{T: t, Ctx: ctx}
	registerAccount(t, p, idpURL, "Erika", "Zugang", email, pw)
	a11yLogin(t, p, formsURL+"/", email, pw)
	p.Do(chromedp.Navigate(formsURL+"/forms/wohnsitzbestaetigung"), chromedp.WaitVisible(css(`main form button`)),
		chromedp.Click(css(`main form button`)))
	draft := p.WaitURL(formsURL + "/drafts/")
	draft, _, _ = strings.Cut(draft, "?")
	cancel()

	login := func(p *idptest.Page) {
		a11yLogin(t, p, formsURL+"/", email, pw)
		for _, u := range []string{statusURL, documentsURL} { // the services' own logins (SSO)
			p.Do(chromedp.Navigate(u + "/"))
			p.WaitURL(u + "/")
			p.Do(chromedp.WaitVisible(css(`main`)))
		}
	}
	groups := []struct {
		name  string
		login bool
		pages []string
	}{
		{"public", false, []string{idpURL + "/login", idpURL + "/register", idpURL + "/reset", idpURL + "/contact",
			idpURL + "/accessibility", idpURL + "/privacy", idpURL + "/imprint", idpURL + "/integration",
			idpURL + "/services", idpURL + "/services?q=zuegeln", idpURL + "/services/umzug-melden",
			documentsURL + "/pruefen"}},
		{"idp", true, []string{idpURL + "/", idpURL + "/overview", idpURL + "/services/steuererklaerung",
			idpURL + "/account/data", idpURL + "/account/email", idpURL + "/account/delete", idpURL + "/security",
			idpURL + "/orgs", idpURL + "/orgs/new", idpURL + "/orgs/invitations", idpURL + "/representations",
			idpURL + "/representations/new", idpURL + "/representations/enter"}},
		{"services", true, []string{formsURL + "/", formsURL + "/forms/wohnsitzbestaetigung", formsURL + "/drafts", draft,
			statusURL + "/", documentsURL + "/"}},
	}
	n := 0
	for _, g := range groups {
		n += len(g.pages)
	}
	t.Run("audit", func(t *testing.T) {
		for _, lang := range a11yLangs {
			t.Run(lang, func(t *testing.T) {
				t.Parallel()
				// One browser for the language's 31 pages (idptest.Chromium's
				// three minutes are too short for them on a busy machine).
				ctx, cancel := idptest.ChromiumWith(t, idptest.BrowserOptions{Timeout: 10 * time.Minute})
				defer cancel()
				p := &idptest.Page{T: t, Ctx: ctx}
				loggedIn := false
				for _, g := range groups { // the public pages first, logged out
					if g.login && !loggedIn {
						login(p)
						loggedIn = true
					}
					auditPages(t, p, lang, g.pages)
				}
			})
		}
	})
	t.Logf("audited %d pages × %d languages × 2 widths in %.0f s", n, len(a11yLangs), time.Since(start).Seconds())
}

// auditPages audits pages in lang at 1280 and 390 px.
func auditPages(t *testing.T, p *idptest.Page, lang string, pages []string) {
	t.Helper()
	for _, u := range pages {
		sep := "?"
		if strings.Contains(u, "?") {
			sep = "&"
		}
		p.Do(chromedp.EmulateViewport(1280, 900), chromedp.Navigate(u+sep+"lang="+lang),
			chromedp.WaitVisible(chromedp.CSS(`main`)))
		if got := p.Attr("html", "lang"); got != lang {
			t.Errorf("%s: <html lang=%q>, want %q", u, got, lang)
		}
		auditSerious(t, p, fmt.Sprintf("%s (%s, 1280 px)", u, lang))
		p.Do(chromedp.EmulateViewport(390, 844))
		auditSerious(t, p, fmt.Sprintf("%s (%s, 390 px)", u, lang))
	}
}

// auditSerious runs axe-core on the tab's page: a serious or critical
// violation fails the test, a lesser one is logged.
func auditSerious(t *testing.T, p *idptest.Page, page string) {
	t.Helper()
	vs, err := idptest.Axe(p.Ctx)
	if err != nil {
		t.Fatalf("axe on %s: %v", page, err)
	}
	for _, v := range vs {
		if v.Serious() {
			t.Errorf("accessibility on %s: %s", page, v)
		} else {
			t.Logf("minor accessibility finding on %s: %s", page, v)
		}
	}
}
