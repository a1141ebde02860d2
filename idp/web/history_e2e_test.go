package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kanton/kundencenter/idp/idptest"
)

// TestSecurityHistoryEndToEnd: in headless Chromium, Anna follows the link
// from Sicherheit to her sign-in history, which shows a failed attempt;
// the page passes axe-core (WCAG 2.1 AA).
func TestSecurityHistoryEndToEnd(t *testing.T) {
	t.Parallel()
	env := idptest.Start(t, idptest.Options{})
	env.CreateAccount(t, "Anna", "Muster", "anna@example.ch", pw)
	if _, err := env.Service.Login(t.Context(), "anna@example.ch", "Falsch-Falsch-1", "198.51.100.23"); err == nil {
		t.Fatal("wrong password accepted")
	}
	ctx, cancel := idptest.Chromium(t)
	defer cancel()
	p := &idptest.Page{T: t, Ctx: ctx}
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	p.Do(chromedp.Navigate(env.URL+"/login"), chromedp.WaitVisible(css(`#password`)),
		chromedp.SendKeys(css(`#email`), "anna@example.ch"),
		chromedp.SendKeys(css(`#password`), pw),
		chromedp.Submit(css(`#password`)))
	p.Do(chromedp.WaitVisible(css(`a[href="/account/data"]`))) // the account page, not the login page
	p.Do(chromedp.Navigate(env.URL+"/security"), chromedp.WaitVisible(css(`a[href="/security/history"]`)),
		chromedp.Click(css(`a[href="/security/history"]`)), chromedp.WaitVisible(css(`main ol`)))
	body := p.Text("main")
	for _, want := range []string{"Anmeldeverlauf", "Anmeldung mit falschem Passwort: fehlgeschlagen (Netz 198.51.100.0/24)", "Anmeldung: erfolgreich"} {
		if !strings.Contains(body, want) {
			t.Errorf("history lacks %q:\n%s", want, body)
		}
	}
	p.Audit("sign-in history")
}
