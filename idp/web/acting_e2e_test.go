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
)

// TestActingEndToEnd logs R in to the real status service ("Meine
// Vorgänge") in headless Chromium: R represents P for that service, picks
// P on "Für wen handeln Sie?", and the service greets "R – Sie handeln für
// P". The choice page is audited with axe-core.
func TestActingEndToEnd(t *testing.T) {
	env := idptest.Start(t, idptest.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	env.AddClient(t, idp.Client{ID: "status", Name: "Meine Vorgänge", RedirectURIs: []string{base + "/auth/callback"},
		PostLogoutRedirectURIs: []string{base + "/logged-out"}}, mfaSecret)
	h, err := status.New(t.Context(), status.Config{RP: rp.Config{Issuer: env.URL, ClientID: "status", ClientSecret: mfaSecret,
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
}
