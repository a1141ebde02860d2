package web_test

import (
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
	"github.com/kanton/kundencenter/services/rp"
	"github.com/kanton/kundencenter/services/status"
	"github.com/kanton/kundencenter/store/sqldb/sqldbtest"
)

// TestProfilesEndToEnd drives the profiles in headless Chromium: Anna
// opens them from "Meine Daten", creates "Geschäftlich" (after a refused
// phone number), then logs in to the real status service ("Meine
// Vorgänge"), is asked which profile it sees, picks "Geschäftlich", and
// the service greets her with that profile's name. Every page is audited
// with axe-core (WCAG 2.1 AA).
func TestProfilesEndToEnd(t *testing.T) {
	t.Parallel()
	env := idptest.Start(t, idptest.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	env.AddClient(t, idp.Client{ID: "status", Name: "Meine Vorgänge", RedirectURIs: []string{base + "/auth/callback"},
		PostLogoutRedirectURIs: []string{base + "/logged-out"}}, mfaSecret)
	h, err := status.New(t.Context(), status.Config{DB: sqldbtest.Open(t, "sqlite", nil), RP: rp.Config{Issuer: env.URL, ClientID: "status", ClientSecret: mfaSecret,
		BaseURL: base, CookieKey: []byte("cookie-key-for-tests-32-bytes-ok"), Insecure: true}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	env.CreateAccount(t, "Anna", "Muster", mfaEmail, mfaPassword)

	cctx, cancel := idptest.Chromium(t)
	defer cancel()
	p := &idptest.Page{T: t, Ctx: cctx}
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	p.Do(chromedp.Navigate(env.URL+"/login?next=%2Faccount%2Fprofiles"), chromedp.WaitVisible(css(`#password`)),
		chromedp.SendKeys(css(`#email`), mfaEmail), chromedp.SendKeys(css(`#password`), mfaPassword),
		chromedp.Submit(css(`#password`)))
	p.WaitURL(env.URL + "/account/profiles")
	p.Do(chromedp.WaitVisible(css(`a[href="/account/profiles/new"]`)))
	if txt := p.Text("main"); !strings.Contains(txt, "Meine Daten") {
		t.Fatalf("profile list: %q", txt)
	}
	p.Audit("profile list")

	p.Do(chromedp.Click(css(`a[href="/account/profiles/new"]`)), chromedp.WaitVisible(css(`#profile_name`)))
	if v := p.Value(`#family_name`); v != "Muster" {
		t.Errorf("new profile form not pre-filled from Meine Daten: %q", v)
	}
	p.Audit("new profile")
	p.Do(chromedp.SendKeys(css(`#profile_name`), "Geschäftlich"),
		chromedp.Clear(css(`#family_name`)), chromedp.SendKeys(css(`#family_name`), "Muster-Keller"),
		chromedp.SendKeys(css(`#addr_street`), "Bahnhofstrasse"), chromedp.SendKeys(css(`#addr_house_number`), "1"),
		chromedp.SendKeys(css(`#addr_postal_code`), "5000"), chromedp.SendKeys(css(`#addr_locality`), "Aarau"),
		chromedp.SendKeys(css(`#contact_phone`), "062 12"),
		chromedp.Submit(css(`#profile_name`)), chromedp.WaitVisible(css(`.error-summary`)))
	if txt := p.Text(".error-summary"); !strings.Contains(txt, "Telefonnummer für Kontakt") {
		t.Errorf("error summary: %q", txt)
	}
	if v := p.Value(`#addr_locality`); v != "Aarau" {
		t.Errorf("entered place lost after an error: %q", v)
	}
	p.Audit("new profile with errors")
	p.Do(chromedp.Clear(css(`#contact_phone`)), chromedp.SendKeys(css(`#contact_phone`), "062 123 45 67"),
		chromedp.Submit(css(`#profile_name`)))
	p.WaitURL(env.URL + "/account/profiles?done=created")
	p.Do(chromedp.WaitVisible(css(`.notice`)))
	p.Audit("profile list with two profiles")

	// The status service: SSO, then the profile question.
	p.Do(chromedp.Navigate(base+"/"), chromedp.WaitVisible(css(`input[name="profile"]`)))
	if loc := p.Location(); !strings.HasPrefix(loc, env.URL+"/login/profile") {
		t.Fatalf("logging in to the service: %s", loc)
	}
	if txt := p.Text("main"); !strings.Contains(txt, "«Meine Vorgänge»") || !strings.Contains(txt, "Geschäftlich") {
		t.Errorf("profile choice: %q", txt)
	}
	p.Audit("profile choice")
	p.Do(chromedp.Click(css(`input[name="profile"]:not(:checked)`)), chromedp.Submit(css(`input[name="profile"]`)))
	p.WaitURL(base + "/")
	p.Do(chromedp.WaitVisible(css(`.greeting`)))
	if g := p.Text(".greeting"); !strings.Contains(g, "Anna Muster-Keller") {
		t.Fatalf("status service greets: %q", g)
	}
}
