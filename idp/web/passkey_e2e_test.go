package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
)

// TestPasskeysEndToEnd drives the passkey pages in headless Chromium with
// a CDP virtual authenticator: register a passkey on the security page,
// use it as the second factor of a service that needs the high level (the
// RP's ID token says so), log in without a password, remove it. Every
// page is audited with axe-core.
func TestPasskeysEndToEnd(t *testing.T) {
	t.Parallel()
	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer rp.Close()
	env := idptest.Start(t, idptest.Options{Localhost: true})
	env.AddClient(t, idp.Client{ID: "strong", Name: "Steuern", RedirectURIs: []string{rp.URL + "/cb"}, Level: idp.LevelHigh}, mfaSecret)
	env.CreateAccount(t, "Anna", "Muster", mfaEmail, mfaPassword)
	ctx, cancel := idptest.Chromium(t)
	defer cancel()
	p := &idptest.Page{T: t, Ctx: ctx}
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	audit := p.Audit
	auth := p.AddVirtualAuthenticator(idptest.AuthenticatorOptions{ResidentKey: true, UserVerification: true})

	// 1. Password login, then register a passkey named "Arbeitsplatz".
	p.Do(chromedp.Navigate(env.URL+"/login"), chromedp.WaitVisible(css(`#password`)),
		chromedp.SendKeys(css(`#email`), mfaEmail), chromedp.SendKeys(css(`#password`), mfaPassword),
		chromedp.Submit(css(`#password`)), chromedp.WaitVisible(css(`.header-logout`)))
	p.Do(chromedp.Navigate(env.URL+"/security"), chromedp.WaitVisible(css(`#passkey_name`)))
	audit("security")
	p.Do(chromedp.SendKeys(css(`#passkey_name`), "Arbeitsplatz"),
		chromedp.Click(css(`form[data-passkey="register"] button[type="submit"]`)))
	p.WaitURL(env.URL + "/security?done=passkey_added")
	if body := p.Text("main"); !strings.Contains(body, "Arbeitsplatz") || !strings.Contains(body, "Der Passkey ist eingerichtet") {
		t.Fatalf("security page after registration:\n%.1200s", body)
	}
	if creds := p.AuthenticatorCredentials(auth); len(creds) != 1 || !creds[0].IsResidentCredential {
		t.Fatalf("authenticator holds %d credentials, want one discoverable", len(creds))
	}
	lastNotice(t, env, "passkey_added")

	// 2. A service that needs the high level: the password is not enough,
	// the passkey is.
	p.Do(chromedp.Submit(css(`.header-logout button`)), chromedp.WaitNotPresent(css(`.header-logout`)))
	prov, err := oidc.NewProvider(t.Context(), env.URL)
	if err != nil {
		t.Fatal(err)
	}
	oc := &oauth2.Config{ClientID: "strong", ClientSecret: mfaSecret, Endpoint: prov.Endpoint(), RedirectURL: rp.URL + "/cb",
		Scopes: []string{oidc.ScopeOpenID}}
	verifier := oauth2.GenerateVerifier()
	p.Do(chromedp.Navigate(oc.AuthCodeURL("st-9", oauth2.S256ChallengeOption(verifier), oidc.Nonce("n-9"))),
		chromedp.WaitVisible(css(`#password`)),
		chromedp.SendKeys(css(`#email`), mfaEmail), chromedp.SendKeys(css(`#password`), mfaPassword),
		chromedp.Submit(css(`#password`)))
	p.WaitURL(env.URL + "/login/mfa")
	p.Do(chromedp.WaitVisible(css(`form[data-passkey="login"] button`)))
	audit("second factor")
	p.Do(chromedp.Click(css(`form[data-passkey="login"] button`)))
	back, _ := url.Parse(p.WaitURL(rp.URL + "/cb"))
	tok, err := oc.Exchange(t.Context(), back.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	idt, err := prov.Verifier(&oidc.Config{ClientID: "strong"}).Verify(t.Context(), tok.Extra("id_token").(string))
	if err != nil {
		t.Fatal(err)
	}
	var c idClaims
	idt.Claims(&c)
	if c.ACR != idp.LevelHigh || !slices.Equal(c.AMR, []string{"pwd", "hwk", "user", "mfa"}) {
		t.Fatalf("ID token after the passkey: %+v", c)
	}

	// 3. Passwordless: a new browser profile is not needed, the session is
	// ended and the passkey alone logs in (and counts as a login for the
	// inactivity rules).
	before, err := env.Store.GetAccount(t.Context(), idt.Subject)
	if err != nil {
		t.Fatal(err)
	}
	p.Do(chromedp.Navigate(env.URL+"/"), chromedp.WaitVisible(css(`.header-logout button`)),
		chromedp.Submit(css(`.header-logout button`)), chromedp.WaitNotPresent(css(`.header-logout`)))
	p.Do(chromedp.Navigate(env.URL+"/login"), chromedp.WaitVisible(css(`form[action="/login/passkey/start"] button`)),
		chromedp.Click(css(`form[action="/login/passkey/start"] button`)))
	p.Do(chromedp.WaitVisible(css(`.header-logout`)))
	if body := p.Text("header"); !strings.Contains(body, "Anna Muster") {
		t.Fatalf("passwordless login did not log Anna in: %s", body)
	}
	if after, err := env.Store.GetAccount(t.Context(), idt.Subject); err != nil || !after.LastLoginAt.After(before.LastLoginAt) {
		t.Fatalf("passwordless login not recorded: before %v, after %v (%v)", before.LastLoginAt, after.LastLoginAt, err)
	}

	// 4. Remove the passkey (the passwordless login is fresh and high).
	p.Do(chromedp.Navigate(env.URL+"/security"), chromedp.WaitVisible(css(`form[action="/security/passkeys/remove"] button`)),
		chromedp.Click(css(`form[action="/security/passkeys/remove"] button`)))
	p.WaitURL(env.URL + "/security?done=passkey_removed")
	if body := p.Text("main"); strings.Contains(body, "Arbeitsplatz") {
		t.Fatal("removed passkey still listed")
	}
	lastNotice(t, env, "passkey_removed")
	creds, err := env.Factors.Credentials(t.Context(), idt.Subject)
	if err != nil || len(creds) != 0 {
		t.Fatalf("credentials after removal: %d, %v", len(creds), err)
	}
}
