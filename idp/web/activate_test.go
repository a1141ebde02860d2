package web_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
)

// TestActivationNeedsConfirmation: following the e-mailed link (as a mail
// scanner does) activates nothing; the button on its page does, once.
func TestActivationNeedsConfirmation(t *testing.T) {
	t.Parallel()
	env := idptest.Start(t, idptest.Options{})
	ctx := t.Context()
	if err := env.Service.Register(ctx, idp.RegisterInput{GivenName: "Anna", FamilyName: "Muster", Email: mfaEmail,
		Password: mfaPassword, PasswordRepeat: mfaPassword, Locale: "de", IP: "203.0.113.1"}); err != nil {
		t.Fatal(err)
	}
	m, ok := env.LastMail(mfaEmail, idp.MailActivate)
	if !ok {
		t.Fatal("no activation mail")
	}
	link, _ := url.Parse(m.Data["Link"])
	status := func() idp.AccountStatus {
		a, err := env.Store.GetAccountByEmailIndex(ctx, env.Service.EmailIndex(mfaEmail))
		if err != nil {
			t.Fatal(err)
		}
		return a.Status
	}
	b := env.NewBrowser(t)
	page := b.Open(t, link.RequestURI())
	if status() != idp.StatusPending || !strings.Contains(page.Body, `action="/activate"`) {
		t.Fatalf("the link itself activated the account (%s) or shows no button", status())
	}
	r := b.Post(t, "/activate", "forged", url.Values{"token": {link.Query().Get("token")}})
	if r.Resp.StatusCode != 403 || status() != idp.StatusPending {
		t.Fatalf("activation without CSRF token: %d, %s", r.Resp.StatusCode, status())
	}
	r = b.Post(t, "/activate", page.Field("csrf"), url.Values{"token": {page.Field("token")}})
	if status() != idp.StatusActive || !strings.Contains(r.Body, "Konto aktiviert") {
		t.Fatalf("confirmed activation: %s, %.300s", status(), r.Body)
	}
	r = b.Post(t, "/activate", page.Field("csrf"), url.Values{"token": {page.Field("token")}})
	if r.Resp.StatusCode != 400 {
		t.Fatalf("second use of the link: %d", r.Resp.StatusCode)
	}
}
