package web_test

import (
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kanton/kundencenter/delegation"
	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
	"github.com/kanton/kundencenter/services/rp"
	"github.com/kanton/kundencenter/services/status"
	"github.com/kanton/kundencenter/store/sqldb/sqldbtest"
)

// TestActingEndToEnd logs R in to the real status service ("Meine
// Vorgänge") in headless Chromium: R represents P for that service, picks
// P on "Für wen handeln Sie?", and the service greets "R – Sie handeln für
// P"; then for an organisation that assigned R the service; after both end,
// the login asks nothing. The choice page is audited with axe-core.
func TestActingEndToEnd(t *testing.T) {
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

	pAcct := env.CreateAccount(t, "Paula", "Prinzipal", "paula@example.ch", mfaPassword)
	rAcct := env.CreateAccount(t, "Anna", "Muster", mfaEmail, mfaPassword)
	ctx := t.Context()
	rep, code, err := env.Orgs.CreateRepresentation(ctx, pAcct.ID, delegation.RepInput{Services: []string{"status"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Orgs.Accept(ctx, rAcct.ID, code, "203.0.113.9"); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Orgs.Confirm(ctx, pAcct.ID, rep.ID); err != nil {
		t.Fatal(err)
	}

	cctx, cancel := idptest.Chromium(t)
	defer cancel()
	p := &idptest.Page{T: t, Ctx: cctx}
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	p.Do(chromedp.Navigate(base+"/"), chromedp.WaitVisible(css(`#password`)),
		chromedp.SendKeys(css(`#email`), mfaEmail), chromedp.SendKeys(css(`#password`), mfaPassword),
		chromedp.Submit(css(`#password`)), chromedp.WaitVisible(css(`input[name="acting"]`)))
	if loc := p.Location(); !strings.HasPrefix(loc, env.URL+"/login/context") {
		t.Fatalf("after the password: %s", loc)
	}
	p.Audit("choice page")
	p.Do(chromedp.Click(css(`input[value="person:`+rep.ID+`"]`)), chromedp.Submit(css(`input[name="acting"]`)))
	p.WaitURL(base + "/")
	p.Do(chromedp.WaitVisible(css(`.greeting`)))
	if g := p.Text(".greeting"); !strings.Contains(g, "Anna Muster") || !strings.Contains(g, "Sie handeln für Paula Prinzipal") {
		t.Fatalf("status service greets: %q", g)
	}

	// Anna also administers an organisation that assigned her the service:
	// the next login offers it, and the service greets her for it.
	org, err := env.Orgs.CreateOrg(ctx, rAcct.ID, delegation.OrgInput{Name: "Muster AG",
		Addresses: []delegation.Address{{Street: "Bahnhofstrasse 1", PostalCode: "5000", Town: "Aarau", Country: "CH"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Orgs.SetServices(ctx, rAcct.ID, org.ID, rAcct.ID, []string{"status"}); err != nil {
		t.Fatal(err)
	}
	relogin := func() {
		t.Helper()
		p.Do(chromedp.Submit(css(`form[action="/logout"] button`)))
		p.WaitURL(base + "/logged-out")
		p.Do(chromedp.Navigate(base+"/"), chromedp.WaitVisible(css(`#password`)),
			chromedp.SendKeys(css(`#email`), mfaEmail), chromedp.SendKeys(css(`#password`), mfaPassword),
			chromedp.Submit(css(`#password`)))
	}
	relogin()
	p.Do(chromedp.WaitVisible(css(`input[value="organisation:`+org.ID+`"]`)),
		chromedp.Click(css(`input[value="organisation:`+org.ID+`"]`)), chromedp.Submit(css(`input[name="acting"]`)))
	p.WaitURL(base + "/")
	p.Do(chromedp.WaitVisible(css(`.greeting`)))
	if g := p.Text(".greeting"); !strings.Contains(g, "Sie handeln für Muster AG") {
		t.Fatalf("status service greets for the organisation: %q", g)
	}

	// The assignment and the representation end: the next login asks nothing.
	if err := env.Orgs.SetServices(ctx, rAcct.ID, org.ID, rAcct.ID, nil); err != nil {
		t.Fatal(err)
	}
	if err := env.Orgs.EndRepresentation(ctx, pAcct.ID, rep.ID); err != nil {
		t.Fatal(err)
	}
	relogin()
	p.WaitURL(base + "/")
	p.Do(chromedp.WaitVisible(css(`.greeting`)))
	if g := p.Text(".greeting"); strings.Contains(g, "handeln für") {
		t.Fatalf("after the assignment and the representation ended the service still greets: %q", g)
	}
}
