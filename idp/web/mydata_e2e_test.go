package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
)

// TestMyDataEndToEnd drives "Meine Daten" in headless Chromium: Anna edits
// her data (after a validation error), changes her e-mail address through
// the link from the mail log, and deletes her account. Every page is
// audited with axe-core (WCAG 2.1 AA).
func TestMyDataEndToEnd(t *testing.T) {
	t.Parallel()
	env := idptest.Start(t, idptest.Options{})
	acct := env.CreateAccount(t, "Anna", "Muster", "anna@example.ch", pw)
	ctx, cancel := idptest.Chromium(t)
	defer cancel()
	p := &idptest.Page{T: t, Ctx: ctx}
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	audit := p.Audit
	has := func(page string, wants ...string) {
		t.Helper()
		body := p.Text("main")
		for _, w := range wants {
			if !strings.Contains(body, w) {
				t.Errorf("%s lacks %q:\n%.1500s", page, w, body)
			}
		}
	}

	p.Do(chromedp.Navigate(env.URL+"/login"), chromedp.WaitVisible(css(`#password`)),
		chromedp.SendKeys(css(`#email`), "anna@example.ch"),
		chromedp.SendKeys(css(`#password`), pw),
		chromedp.Submit(css(`#password`)))
	p.WaitURL(env.URL + "/")
	p.Do(chromedp.WaitVisible(css(`a[href="/account/data"]`)))
	audit("account page")

	// 1. Meine Daten: a Swiss postcode of three digits is refused, then saved.
	p.Do(chromedp.Click(css(`a[href="/account/data"]`)), chromedp.WaitVisible(css(`#addr_street`)))
	has("data page", acct.KontoID, "anna@example.ch")
	audit("data page")
	p.Do(chromedp.SendKeys(css(`#addr_street`), "Hauptgasse"),
		chromedp.SendKeys(css(`#addr_house_number`), "12"),
		chromedp.SendKeys(css(`#addr_postal_code`), "450"),
		chromedp.SendKeys(css(`#addr_locality`), "Solothurn"),
		chromedp.SendKeys(css(`#birthdate`), "31.12.1980"),
		chromedp.Submit(css(`#addr_street`)),
		chromedp.WaitVisible(css(`.error-summary`)))
	has("data with errors", "Eine Schweizer Postleitzahl hat 4 Ziffern")
	if v := p.Value(`#addr_locality`); v != "Solothurn" {
		t.Errorf("entered place lost after an error: %q", v)
	}
	audit("data with errors")
	p.Do(chromedp.Clear(css(`#addr_postal_code`)), chromedp.SendKeys(css(`#addr_postal_code`), "4500"),
		chromedp.Submit(css(`#addr_street`)))
	p.WaitURL(env.URL + "/account/data?done=saved")
	p.Do(chromedp.WaitVisible(css(`.notice`)))
	has("saved", "Ihre Daten sind gespeichert")
	if v := p.Value(`#addr_postal_code`); v != "4500" {
		t.Errorf("stored postcode shows as %q", v)
	}
	if v := p.Value(`#birthdate`); v != "31.12.1980" {
		t.Errorf("stored date of birth shows as %q, want the Swiss form 31.12.1980", v)
	}

	// 2. E-mail change through the link sent to the new address.
	p.Do(chromedp.Click(css(`.links a[href="/account/email"]`)), chromedp.WaitVisible(css(`#email`)))
	audit("e-mail change")
	p.Do(chromedp.SendKeys(css(`#email`), "anna.neu@example.ch"),
		chromedp.SendKeys(css(`#password`), pw),
		chromedp.Submit(css(`#email`)),
		chromedp.WaitVisible(css(`.notice`)))
	has("link sent", "anna.neu@example.ch")
	audit("e-mail change sent")
	m, ok := env.LastMail("anna.neu@example.ch", idp.MailEmailChange)
	if !ok {
		t.Fatal("no confirmation mail to the new address")
	}
	p.Do(chromedp.Navigate(m.Data["Link"]), chromedp.WaitVisible(css(`form[action="/account/email/confirm"] button`)))
	audit("e-mail confirm")
	p.Do(chromedp.Click(css(`form[action="/account/email/confirm"] button`)), chromedp.WaitVisible(css(`.notice`)))
	has("confirmed", "Ihre neue E-Mail-Adresse gilt ab sofort")
	audit("e-mail confirmed")
	if _, ok := env.LastMail("anna@example.ch", idp.MailEmailChanged); !ok {
		t.Error("the old address was not told")
	}
	p.Do(chromedp.Navigate(env.URL+"/account/data"), chromedp.WaitVisible(css(`#addr_street`)))
	has("data after the change", "anna.neu@example.ch")

	// 3. Delete the account.
	p.Do(chromedp.Click(css(`.links a[href="/account/delete"]`)), chromedp.WaitVisible(css(`#confirm`)))
	has("delete page", "Entwürfe", "Postfach")
	audit("delete")
	p.Do(chromedp.SendKeys(css(`#password`), pw), chromedp.Submit(css(`#password`)), chromedp.WaitVisible(css(`.error-summary`)))
	has("delete without confirmation", "Bitte bestätigen Sie")
	audit("delete with errors")
	p.Do(chromedp.Click(css(`#confirm`)), chromedp.SendKeys(css(`#password`), pw), chromedp.Submit(css(`#password`)),
		chromedp.WaitVisible(css(`main a[href="/register"]`)))
	has("deleted", "Konto gelöscht")
	audit("deleted")
	if _, ok := env.LastMail("anna.neu@example.ch", idp.MailAccountDeleted); !ok {
		t.Error("no deletion confirmation")
	}
	p.Do(chromedp.Navigate(env.URL+"/account/data"), chromedp.WaitVisible(css(`#password`)))
	if loc := p.Location(); !strings.HasPrefix(loc, env.URL+"/login") {
		t.Errorf("after deletion /account/data shows %s", loc)
	}
}
