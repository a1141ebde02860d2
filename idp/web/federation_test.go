package web_test

import (
	"errors"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/kanton/kundencenter/connectors"
	"github.com/kanton/kundencenter/connectors/connectortest"
	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
	"github.com/kanton/kundencenter/idp/provider"
	"github.com/kanton/kundencenter/idp/web"
)

// fedFixture is the MFA fixture with SwissID stand-ins on loopback: real
// zitadel/oidc providers that behave like SwissID.
type fedFixture struct {
	*mfaFixture
	up    *connectortest.Provider // connector "swissid"
	other *connectortest.Provider // connector "agov", another issuer
}

var swissUser = connectortest.User{Subject: "sid-4711", Email: "hans.meier@example.ch", EmailVerified: true,
	GivenName: "Hans", FamilyName: "Meier", Language: "de", QoR: "qor1", DateOfBirth: "1980-04-02"}

func newFedFixture(t *testing.T, o idptest.Options) *fedFixture {
	t.Helper()
	up := connectortest.New(t, connectortest.Options{RedirectURL: "http://127.0.0.1:1/unset"})
	other := connectortest.New(t, connectortest.Options{RedirectURL: "http://127.0.0.1:1/unset"})
	a, b := up.Config("swissid"), other.Config("agov")
	a.RedirectURL, b.RedirectURL = "", ""
	b.DisplayName = "AGOV"
	o.Connectors = []connectors.Config{a, b}
	f := newMFAFixture(t, o)
	up.SetRedirectURL(f.env.URL + web.CallbackPath)
	other.SetRedirectURL(f.env.URL + web.CallbackPath)
	up.SetUser(swissUser)
	other.SetUser(swissUser) // the same subject at another issuer
	return &fedFixture{mfaFixture: f, up: up, other: other}
}

// start opens an authorization request of client and returns the login
// page and the auth request's ID.
func (f *fedFixture) start(t *testing.T, b *idptest.Browser, client, verifier string, opts ...oauth2.AuthCodeOption) (idptest.Result, string) {
	t.Helper()
	r := b.Open(t, f.authURL(client, verifier, opts...))
	if r.URL().Path != "/login" {
		t.Fatalf("authorize ended at %s, want the login page", r.URL())
	}
	return r, r.URL().Query().Get("authRequestID")
}

// upstream starts the login at connector id for the auth request and
// follows it through the provider back to the IdP.
func (f *fedFixture) upstream(t *testing.T, b *idptest.Browser, p *connectortest.Provider, id, authRequestID string) idptest.Result {
	t.Helper()
	r := b.Open(t, "/login/external/"+id+"?authRequestID="+url.QueryEscape(authRequestID))
	return f.through(t, b, p, r)
}

// through follows a redirect to the provider p and the way back.
func (f *fedFixture) through(t *testing.T, b *idptest.Browser, p *connectortest.Provider, r idptest.Result) idptest.Result {
	t.Helper()
	if u := r.URL(); !strings.HasPrefix(u.String(), p.Issuer+"/") {
		t.Fatalf("ended at %s (%d), want the upstream provider %s: %.300s", u, r.Resp.StatusCode, p.Issuer, r.Body)
	}
	q := p.Login(t, r.URL().String())
	return b.Open(t, f.env.URL+web.CallbackPath+"?"+q.Encode())
}

// create opens a new account on the choice page with the pre-filled values.
func (f *fedFixture) create(t *testing.T, b *idptest.Browser, choice idptest.Result) idptest.Result {
	t.Helper()
	if choice.URL().Path != "/login/external/choice" {
		t.Fatalf("ended at %s (%d), want the choice page: %.300s", choice.URL(), choice.Resp.StatusCode, choice.Body)
	}
	return b.Post(t, "/login/external/create", choice.Field("csrf"), url.Values{"given_name": {inputValue(choice, "given_name")},
		"family_name": {inputValue(choice, "family_name")}, "email": {inputValue(choice, "email")}})
}

// linkOf returns the link of the upstream login, or ok=false.
func (f *fedFixture) linkOf(t *testing.T, p *connectortest.Provider, connector string) (idp.ExternalLink, bool) {
	t.Helper()
	l, err := f.env.Store.GetLink(t.Context(), connector, p.Issuer, swissUser.Subject)
	if errors.Is(err, idp.ErrNotFound) {
		return l, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return l, true
}

// inputValue returns the value of the text input name on the page.
func inputValue(r idptest.Result, name string) string {
	m := regexp.MustCompile(`name="` + regexp.QuoteMeta(name) + `"[^>]*? value="([^"]*)"`).FindStringSubmatch(r.Body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

type fedClaims struct {
	idClaims
	Subject string `json:"sub"`
}

// exchangeSub is exchange that also returns the subject.
func (f *fedFixture) exchangeSub(t *testing.T, client, verifier string, u *url.URL) (idClaims, string, *oauth2.Token) {
	t.Helper()
	if !strings.HasPrefix(u.String(), mfaRedirect) {
		t.Fatalf("ended at %s, want the client", u)
	}
	if e := u.Query().Get("error"); e != "" {
		t.Fatalf("authorize error %s: %s", e, u.Query().Get("error_description"))
	}
	o := f.oauth(client)
	o.Scopes = append(o.Scopes, provider.ScopeProofing)
	tok, err := o.Exchange(t.Context(), u.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := f.provider.Verifier(&oidc.Config{ClientID: client}).Verify(t.Context(), raw)
	if err != nil {
		t.Fatalf("id token: %v", err)
	}
	var c fedClaims
	if err := idt.Claims(&c); err != nil {
		t.Fatal(err)
	}
	return c.idClaims, c.Subject, tok
}

// TestFederationFirstAndSecondLogin: the first SwissID login opens an
// account pre-filled from the claims (active at once: SwissID verified the
// address), the second lands in the same account; the proofing level and
// verified birth date reach services through their own scope, apart from acr.
func TestFederationFirstAndSecondLogin(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts func(t *testing.T) idptest.Options
	}{
		{"sqlite+memory", func(*testing.T) idptest.Options { return idptest.Options{} }},
		{"postgres+redis", func(t *testing.T) idptest.Options {
			return idptest.Options{Store: idptest.Postgres(t), Eph: idptest.Redis(t)}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { testFirstAndSecondLogin(t, tc.opts(t)) })
	}
}

func testFirstAndSecondLogin(t *testing.T, o idptest.Options) {
	f := newFedFixture(t, o)
	b := f.env.NewBrowser(t)
	v := oauth2.GenerateVerifier()
	login, id := f.start(t, b, "basic", v, oauth2.SetAuthURLParam("scope", "openid profile "+provider.ScopeProofing))
	if !strings.Contains(login.Body, "Mit SwissID anmelden") || !strings.Contains(login.Body, `class="button button-swissid"`) ||
		!strings.Contains(login.Body, "/login/external/swissid?authRequestID="+url.QueryEscape(id)) {
		t.Fatalf("login page lacks the SwissID button: %.2000s", login.Body)
	}
	choice := f.upstream(t, b, f.up, "swissid", id)
	az := f.up.Authorizations()
	if got := az[len(az)-1]; got.Get("ui_locales") != "de" || got.Get("acr_values") != "qoa1" || got.Get("code_challenge_method") != "S256" {
		t.Errorf("authorization request: %v", got)
	}
	if inputValue(choice, "given_name") != "Hans" || inputValue(choice, "family_name") != "Meier" || inputValue(choice, "email") != swissUser.Email {
		t.Fatalf("choice page not pre-filled: %.3000s", choice.Body)
	}
	if _, ok := f.linkOf(t, f.up, "swissid"); ok {
		t.Fatal("a link exists before the user chose")
	}
	r := f.create(t, b, choice)
	c, sub, tok := f.exchangeSub(t, "basic", v, r.URL())
	if c.ACR != idp.LevelLow || !slices.Contains(c.AMR, idp.AMRFed) {
		t.Fatalf("first login: %+v", c)
	}
	acct, err := f.env.Service.Account(t.Context(), sub)
	if err != nil || acct.Status != idp.StatusActive || acct.HasPassword() {
		t.Fatalf("account %+v, %v: want active, without a password", acct, err)
	}
	if l, ok := f.linkOf(t, f.up, "swissid"); !ok || l.AccountID != sub || l.ProofingLevel != idp.ProofingVerified {
		t.Fatalf("link %+v, %v", l, ok)
	}
	if _, ok := f.env.LastMail(swissUser.Email, idp.MailActivate); ok {
		t.Error("an activation mail for an address SwissID verified")
	}
	// The proofing claims, through the userinfo endpoint.
	info, err := f.provider.UserInfo(t.Context(), oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := info.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if claims["birthdate"] != "1980-04-02" || claims[provider.ClaimProofing] != idp.ProofingVerified {
		t.Errorf("userinfo: %v", claims)
	}
	if _, ok := claims["acr"]; ok {
		t.Errorf("userinfo mixes acr into proofing: %v", claims)
	}

	// Second login, in a fresh browser: straight into the same account.
	b2 := f.env.NewBrowser(t)
	v2 := oauth2.GenerateVerifier()
	_, id2 := f.start(t, b2, "basic", v2)
	r = f.upstream(t, b2, f.up, "swissid", id2)
	c2, sub2, _ := f.exchangeSub(t, "basic", v2, r.URL())
	if sub2 != sub || !slices.Contains(c2.AMR, idp.AMRFed) {
		t.Fatalf("second login: sub %s (want %s), %+v", sub2, sub, c2)
	}
	if l, _ := f.linkOf(t, f.up, "swissid"); l.LastUsedAt.IsZero() {
		t.Error("last use not recorded")
	}
}

// TestFederationOtherIssuer: the same subject from another issuer is
// another login; it does not log in to the account linked at the first.
func TestFederationOtherIssuer(t *testing.T) {
	t.Parallel()
	f := newFedFixture(t, idptest.Options{})
	b := f.env.NewBrowser(t)
	v := oauth2.GenerateVerifier()
	_, id := f.start(t, b, "basic", v)
	f.exchangeSub(t, "basic", v, f.create(t, b, f.upstream(t, b, f.up, "swissid", id)).URL())

	b2 := f.env.NewBrowser(t)
	_, id2 := f.start(t, b2, "basic", oauth2.GenerateVerifier())
	r := f.upstream(t, b2, f.other, "agov", id2)
	if r.URL().Path != "/login/external/choice" {
		t.Fatalf("same sub at another issuer ended at %s, want the choice page", r.URL())
	}
	if _, ok := f.linkOf(t, f.other, "agov"); ok {
		t.Fatal("the other issuer's login got linked")
	}
	// Creating an account with the same verified address is refused; the
	// person is told to link the existing account instead.
	r = f.create(t, b2, r)
	if r.Resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "besteht bereits ein Konto") {
		t.Fatalf("create with a taken verified address: %d %.500s", r.Resp.StatusCode, r.Body)
	}
}

// TestFederationLinkNeedsPassword: linking to an existing account needs
// its password; a wrong one links nothing. Matching e-mail alone never
// links (the account's address equals the verified SwissID address).
func TestFederationLinkNeedsPassword(t *testing.T) {
	t.Parallel()
	f := newFedFixture(t, idptest.Options{})
	acct := f.env.CreateAccount(t, "Hans", "Meier", swissUser.Email, mfaPassword)
	b := f.env.NewBrowser(t)
	v := oauth2.GenerateVerifier()
	_, id := f.start(t, b, "basic", v)
	choice := f.upstream(t, b, f.up, "swissid", id)
	if choice.URL().Path != "/login/external/choice" {
		t.Fatalf("a matching e-mail address must not log in: ended at %s", choice.URL())
	}
	r := b.Post(t, "/login/external/link", choice.Field("csrf"), url.Values{"link_email": {swissUser.Email}, "link_password": {"Falsch-Falsch-1234"}})
	if r.Resp.StatusCode != http.StatusUnauthorized || !strings.Contains(r.Body, `class="error-summary"`) {
		t.Fatalf("wrong password: %d %.500s", r.Resp.StatusCode, r.Body)
	}
	if _, ok := f.linkOf(t, f.up, "swissid"); ok {
		t.Fatal("linked with a wrong password")
	}
	r = b.Post(t, "/login/external/link", r.Field("csrf"), url.Values{"link_email": {swissUser.Email}, "link_password": {""}})
	if r.Resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `href="#link_password"`) {
		t.Fatalf("empty password: %d %.500s", r.Resp.StatusCode, r.Body)
	}
	r = b.Post(t, "/login/external/link", r.Field("csrf"), url.Values{"link_email": {swissUser.Email}, "link_password": {mfaPassword}})
	c, sub, _ := f.exchangeSub(t, "basic", v, r.URL())
	if sub != acct.ID || !slices.Contains(c.AMR, idp.AMRFed) || !slices.Contains(c.AMR, idp.AMRPassword) {
		t.Fatalf("after linking: sub %s (want %s) %+v", sub, acct.ID, c)
	}
	if l, ok := f.linkOf(t, f.up, "swissid"); !ok || l.AccountID != acct.ID {
		t.Fatalf("link %+v %v", l, ok)
	}
	if m, ok := f.env.LastMail(swissUser.Email, idp.MailSecurityNotice); !ok || m.Data["Event"] != "login_linked" {
		t.Fatalf("linking not announced by e-mail: %+v %v", m.Data, ok)
	}
	// The pending login is single use: replaying the form links nothing more.
	r = b.Post(t, "/login/external/link", r.Field("csrf"), url.Values{"link_email": {swissUser.Email}, "link_password": {mfaPassword}})
	if r.Resp.StatusCode != http.StatusBadRequest && r.Resp.StatusCode != http.StatusForbidden {
		t.Fatalf("replayed link form: %d", r.Resp.StatusCode)
	}
}

// TestFederationLinkNeedsSecondFactor: an account with a second factor is
// linked only after it; the SMS code is read from the fake Twilio.
func TestFederationLinkNeedsSecondFactor(t *testing.T) {
	t.Parallel()
	f := newFedFixture(t, idptest.Options{})
	acct := f.env.CreateAccount(t, "Hans", "Meier", swissUser.Email, mfaPassword)
	setup := f.env.NewBrowser(t)
	if r := setup.Submit(t, "/login", "/login", url.Values{"email": {swissUser.Email}, "password": {mfaPassword}}); r.Resp.StatusCode != http.StatusOK {
		t.Fatalf("setup login: %d", r.Resp.StatusCode)
	}
	f.enrolPhone(t, setup, "079 123 45 67")

	b := f.env.NewBrowser(t)
	v := oauth2.GenerateVerifier()
	_, id := f.start(t, b, "basic", v)
	choice := f.upstream(t, b, f.up, "swissid", id)
	r := b.Post(t, "/login/external/link", choice.Field("csrf"), url.Values{"link_email": {swissUser.Email}, "link_password": {mfaPassword}})
	if r.URL().Path != "/login/mfa" {
		t.Fatalf("password accepted: ended at %s, want the second-factor page", r.URL())
	}
	if _, ok := f.linkOf(t, f.up, "swissid"); ok {
		t.Fatal("linked before the second factor")
	}
	r = b.Post(t, "/login/mfa/sms", r.Field("csrf"), nil)
	f.clock.Add(2 * time.Second)
	r = b.Post(t, "/login/mfa/sms/verify", r.Field("csrf"), url.Values{"code": {"000000"}})
	if _, ok := f.linkOf(t, f.up, "swissid"); ok || r.Resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("wrong code: status %d, linked %v", r.Resp.StatusCode, ok)
	}
	r = b.Post(t, "/login/mfa/sms/verify", r.Field("csrf"), url.Values{"code": {f.smsCode(t, mfaPhone)}})
	c, sub, _ := f.exchangeSub(t, "basic", v, r.URL())
	if sub != acct.ID || !slices.Contains(c.AMR, idp.AMRSMS) || !slices.Contains(c.AMR, idp.AMRFed) {
		t.Fatalf("after the second factor: sub %s %+v", sub, c)
	}
	if l, ok := f.linkOf(t, f.up, "swissid"); !ok || l.AccountID != acct.ID {
		t.Fatalf("link %+v %v", l, ok)
	}
}

// TestFederationUpstreamErrors: error redirects end on a friendly page in
// the user's language with a way back to the same auth request.
func TestFederationUpstreamErrors(t *testing.T) {
	t.Parallel()
	f := newFedFixture(t, idptest.Options{})
	for _, tc := range []struct {
		name, code string
		status     int
		want       string
	}{
		{"access denied", connectors.ErrorAccessDenied, http.StatusOK, "Sie haben die Anmeldung abgebrochen"},
		{"cancelled", connectors.ErrorAuthenticationCancelled, http.StatusOK, "Sie haben die Anmeldung abgebrochen"},
		{"temporary", connectors.ErrorTemporarilyUnavailable, http.StatusBadGateway, "im Moment nicht erreichbar"},
		{"refused", connectors.ErrorInteractionRequired, http.StatusForbidden, "hat die Anmeldung abgelehnt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.up.SetKnobs(connectortest.Knobs{Error: tc.code, ErrorDescription: "secret detail"})
			t.Cleanup(func() { f.up.SetKnobs(connectortest.Knobs{}) })
			b := f.env.NewBrowser(t)
			_, id := f.start(t, b, "basic", oauth2.GenerateVerifier())
			r := f.upstream(t, b, f.up, "swissid", id)
			if r.Resp.StatusCode != tc.status || !strings.Contains(r.Body, tc.want) ||
				!strings.Contains(r.Body, `href="/login?authRequestID=`+url.QueryEscape(id)+`"`) {
				t.Fatalf("status %d: %.1500s", r.Resp.StatusCode, r.Body)
			}
			if strings.Contains(r.Body, "secret detail") || strings.Contains(r.Body, tc.code) {
				t.Error("the provider's error text reached the page")
			}
		})
	}
	t.Run("french", func(t *testing.T) {
		f.up.SetKnobs(connectortest.Knobs{Error: connectors.ErrorAccessDenied})
		t.Cleanup(func() { f.up.SetKnobs(connectortest.Knobs{}) })
		b := f.env.NewBrowser(t)
		_, id := f.start(t, b, "basic", oauth2.GenerateVerifier(), oauth2.SetAuthURLParam("ui_locales", "fr"))
		r := b.Open(t, "/login/external/swissid?authRequestID="+url.QueryEscape(id))
		if q := r.URL().Query(); q.Get("ui_locales") != "fr" {
			t.Errorf("ui_locales %q, want fr", q.Get("ui_locales"))
		}
		r = f.through(t, b, f.up, r)
		if !strings.Contains(r.Body, "Vous avez interrompu la connexion") {
			t.Fatalf("%.800s", r.Body)
		}
	})
	t.Run("replayed callback", func(t *testing.T) {
		b := f.env.NewBrowser(t)
		_, id := f.start(t, b, "basic", oauth2.GenerateVerifier())
		r := b.Open(t, "/login/external/swissid?authRequestID="+url.QueryEscape(id))
		q := f.up.Login(t, r.URL().String())
		b.Open(t, f.env.URL+web.CallbackPath+"?"+q.Encode())
		r = b.Open(t, f.env.URL+web.CallbackPath+"?"+q.Encode())
		if r.Resp.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, "zu lange gedauert") {
			t.Fatalf("replay: %d %.500s", r.Resp.StatusCode, r.Body)
		}
	})
}

// TestFederationStepUp: a service needing two factors gets a SwissID
// login made with qoa1 stepped up at SwissID (acr_values=qoa2,
// prompt=login); the ID token then has acr substantial and amr "fed".
// When SwissID still answers qoa1, there is no second round trip.
func TestFederationStepUp(t *testing.T) {
	t.Parallel()
	f := newFedFixture(t, idptest.Options{})
	b := f.env.NewBrowser(t)
	v := oauth2.GenerateVerifier()
	_, id := f.start(t, b, "basic", v)
	sub := func() string {
		_, s, _ := f.exchangeSub(t, "basic", v, f.create(t, b, f.upstream(t, b, f.up, "swissid", id)).URL())
		return s
	}()

	f.up.SetKnobs(connectortest.Knobs{ACR: "qoa1"}) // SwissID answers qoa1 although qoa2 was asked
	b2 := f.env.NewBrowser(t)
	v2 := oauth2.GenerateVerifier()
	_, id2 := f.start(t, b2, "strong", v2)
	r := f.upstream(t, b2, f.up, "swissid", id2)
	az := f.up.Authorizations()
	if first := az[len(az)-1]; first.Get("acr_values") != "qoa2" {
		t.Errorf("first request for a two-factor service: acr_values %q", first.Get("acr_values"))
	}
	f.up.SetKnobs(connectortest.Knobs{})
	if q := r.URL().Query(); q.Get("acr_values") != "qoa2" || q.Get("prompt") != "login" {
		t.Fatalf("step-up request: %s", r.URL())
	}
	r = f.through(t, b2, f.up, r)
	c, sub2, _ := f.exchangeSub(t, "strong", v2, r.URL())
	if sub2 != sub || c.ACR != idp.LevelSubstantial || !slices.Contains(c.AMR, idp.AMRFed) {
		t.Fatalf("after the step-up: sub %s %+v", sub2, c)
	}

	// SwissID keeps answering qoa1: one step-up only, then the local
	// second factor; this account has none, so it is guided to enrol one.
	f.up.SetKnobs(connectortest.Knobs{ACR: "qoa1"})
	b3 := f.env.NewBrowser(t)
	_, id3 := f.start(t, b3, "strong", oauth2.GenerateVerifier())
	r = f.upstream(t, b3, f.up, "swissid", id3)
	r = f.through(t, b3, f.up, r)
	if r.URL().Path != "/security" {
		t.Fatalf("second qoa1 answer ended at %s, want the enrolment page", r.URL())
	}
}

// TestFederationLocalStepUp: with stepup "local" the second factor is the
// account's own.
func TestFederationLocalStepUp(t *testing.T) {
	t.Parallel()
	f := newFedFixture(t, idptest.Options{ConnectorOptions: map[string]web.ConnectorOptions{"swissid": {StepUp: web.StepUpLocal}}})
	acct := f.env.CreateAccount(t, "Hans", "Meier", swissUser.Email, mfaPassword)
	setup := f.env.NewBrowser(t)
	setup.Submit(t, "/login", "/login", url.Values{"email": {swissUser.Email}, "password": {mfaPassword}})
	f.enrolPhone(t, setup, "079 123 45 67")
	if err := f.env.Store.CreateLink(t.Context(), idp.ExternalLink{AccountID: acct.ID, Connector: "swissid", Issuer: f.up.Issuer,
		Subject: swissUser.Subject, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	f.up.SetKnobs(connectortest.Knobs{ACR: "qoa1"})
	b := f.env.NewBrowser(t)
	v := oauth2.GenerateVerifier()
	_, id := f.start(t, b, "strong", v)
	r := f.upstream(t, b, f.up, "swissid", id)
	if r.URL().Path != "/login/mfa" {
		t.Fatalf("ended at %s, want the local second factor", r.URL())
	}
	r = b.Post(t, "/login/mfa/sms", r.Field("csrf"), nil)
	f.clock.Add(2 * time.Second)
	r = b.Post(t, "/login/mfa/sms/verify", r.Field("csrf"), url.Values{"code": {f.smsCode(t, mfaPhone)}})
	c, _, _ := f.exchangeSub(t, "strong", v, r.URL())
	if c.ACR != idp.LevelSubstantial || !slices.Contains(c.AMR, idp.AMRFed) || !slices.Contains(c.AMR, idp.AMRSMS) {
		t.Fatalf("%+v", c)
	}
}

// TestFederationUnlink: the account page lists linked logins; the last
// way into an account without a password cannot be removed, others can.
func TestFederationUnlink(t *testing.T) {
	t.Parallel()
	f := newFedFixture(t, idptest.Options{})
	b := f.env.NewBrowser(t)
	v := oauth2.GenerateVerifier()
	_, id := f.start(t, b, "basic", v)
	f.exchangeSub(t, "basic", v, f.create(t, b, f.upstream(t, b, f.up, "swissid", id)).URL())

	page := b.Open(t, "/")
	if !strings.Contains(page.Body, "Verbundene Anmeldungen") || !strings.Contains(page.Body, "SwissID") || !strings.Contains(page.Body, "Geprüft") {
		t.Fatalf("account page: %.3000s", page.Body)
	}
	form := url.Values{"connector": {"swissid"}, "issuer": {f.up.Issuer}, "subject": {swissUser.Subject}}
	r := b.Post(t, "/account/links/remove", page.Field("csrf"), form)
	if !strings.Contains(r.Body, "einzige Anmeldemöglichkeit") {
		t.Fatalf("unlinking the last way in: %s %.1500s", r.URL(), r.Body)
	}
	if _, ok := f.linkOf(t, f.up, "swissid"); !ok {
		t.Fatal("the last way in was removed")
	}
	if r := b.Post(t, "/account/links/remove", "wrong", form); r.Resp.StatusCode != http.StatusForbidden {
		t.Fatalf("without CSRF token: %d", r.Resp.StatusCode)
	}

	// An account with a password may remove its link.
	acct := f.env.CreateAccount(t, "Eva", "Muster", mfaEmail, mfaPassword)
	if err := f.env.Store.CreateLink(t.Context(), idp.ExternalLink{AccountID: acct.ID, Connector: "agov", Issuer: f.other.Issuer,
		Subject: "agov-1", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	b2 := f.env.NewBrowser(t)
	login(t, b2, "")
	page = b2.Open(t, "/")
	r = b2.Post(t, "/account/links/remove", page.Field("csrf"), url.Values{"connector": {"agov"}, "issuer": {f.other.Issuer}, "subject": {"agov-1"}})
	if !strings.Contains(r.Body, "Die Verbindung wurde entfernt") {
		t.Fatalf("unlink: %s %.1500s", r.URL(), r.Body)
	}
	if links, _ := f.env.Store.ListLinks(t.Context(), acct.ID); len(links) != 0 {
		t.Fatalf("links left: %+v", links)
	}
	if m, ok := f.env.LastMail(mfaEmail, idp.MailSecurityNotice); !ok || m.Data["Event"] != "login_unlinked" {
		t.Fatalf("unlinking not announced by e-mail: %+v %v", m.Data, ok)
	}
	// Another account's link cannot be removed from here.
	r = b2.Post(t, "/account/links/remove", r.Field("csrf"), form)
	if r.Resp.StatusCode != http.StatusNotFound {
		t.Fatalf("foreign link: %d", r.Resp.StatusCode)
	}
	if _, ok := f.linkOf(t, f.up, "swissid"); !ok {
		t.Fatal("another account's link was removed")
	}
}

// TestFederationUnverifiedEmail: an address SwissID did not verify (or the
// person changed) is confirmed by the normal activation mail first.
func TestFederationUnverifiedEmail(t *testing.T) {
	t.Parallel()
	f := newFedFixture(t, idptest.Options{})
	b := f.env.NewBrowser(t)
	_, id := f.start(t, b, "basic", oauth2.GenerateVerifier())
	choice := f.upstream(t, b, f.up, "swissid", id)
	r := b.Post(t, "/login/external/create", choice.Field("csrf"), url.Values{"given_name": {"Hans"}, "family_name": {""},
		"email": {"anders@example.ch"}})
	if r.Resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `href="#family_name"`) {
		t.Fatalf("missing name: %d %.800s", r.Resp.StatusCode, r.Body)
	}
	r = b.Post(t, "/login/external/create", r.Field("csrf"), url.Values{"given_name": {"Hans"}, "family_name": {"Meier"},
		"email": {"anders@example.ch"}})
	if r.Resp.StatusCode != http.StatusOK || !strings.Contains(r.Body, "anders@example.ch") {
		t.Fatalf("create with another address: %d %.800s", r.Resp.StatusCode, r.Body)
	}
	m, ok := f.env.LastMail("anders@example.ch", idp.MailActivate)
	if !ok {
		t.Fatal("no activation mail")
	}
	l, ok := f.linkOf(t, f.up, "swissid")
	if !ok {
		t.Fatal("no link")
	}
	// Before activation a SwissID login is refused with a hint.
	b2 := f.env.NewBrowser(t)
	_, id2 := f.start(t, b2, "basic", oauth2.GenerateVerifier())
	if r := f.upstream(t, b2, f.up, "swissid", id2); r.Resp.StatusCode != http.StatusForbidden || !strings.Contains(r.Body, "noch nicht aktiviert") {
		t.Fatalf("pending account: %d %.500s", r.Resp.StatusCode, r.Body)
	}
	link, _ := url.Parse(m.Data["Link"])
	if _, err := f.env.Service.Activate(t.Context(), link.Query().Get("token")); err != nil {
		t.Fatal(err)
	}
	b3 := f.env.NewBrowser(t)
	v3 := oauth2.GenerateVerifier()
	_, id3 := f.start(t, b3, "basic", v3)
	_, sub, _ := f.exchangeSub(t, "basic", v3, f.upstream(t, b3, f.up, "swissid", id3).URL())
	if sub != l.AccountID {
		t.Fatalf("sub %s, want %s", sub, l.AccountID)
	}
}

// TestFederationNeverRelinks: an upstream login linked meanwhile (in
// another browser) is neither linked again nor moved to another account.
func TestFederationNeverRelinks(t *testing.T) {
	t.Parallel()
	f := newFedFixture(t, idptest.Options{})
	other := f.env.CreateAccount(t, "Eva", "Muster", mfaEmail, mfaPassword)
	b1, b2 := f.env.NewBrowser(t), f.env.NewBrowser(t)
	_, id1 := f.start(t, b1, "basic", oauth2.GenerateVerifier())
	_, id2 := f.start(t, b2, "basic", oauth2.GenerateVerifier())
	c1 := f.upstream(t, b1, f.up, "swissid", id1)
	c2 := f.upstream(t, b2, f.up, "swissid", id2)
	f.create(t, b1, c1)
	first, ok := f.linkOf(t, f.up, "swissid")
	if !ok {
		t.Fatal("no link after creating")
	}
	r := b2.Post(t, "/login/external/link", c2.Field("csrf"), url.Values{"link_email": {mfaEmail}, "link_password": {mfaPassword}})
	if r.Resp.StatusCode != http.StatusConflict || !strings.Contains(r.Body, "bereits mit einem Konto verbunden") {
		t.Fatalf("second link: %d %.800s", r.Resp.StatusCode, r.Body)
	}
	if l, _ := f.linkOf(t, f.up, "swissid"); l.AccountID != first.AccountID || l.AccountID == other.ID {
		t.Fatalf("link moved: %+v", l)
	}
}

// TestFederationPagesInEveryLanguage renders the choice and error pages in
// the four languages: no message key left, no broken format verb.
func TestFederationPagesInEveryLanguage(t *testing.T) {
	t.Parallel()
	f := newFedFixture(t, idptest.Options{})
	b := f.env.NewBrowser(t)
	_, id := f.start(t, b, "basic", oauth2.GenerateVerifier())
	f.upstream(t, b, f.up, "swissid", id)
	for _, lang := range []string{"de", "fr", "it", "en"} {
		for _, page := range []string{"/login/external/choice", "/login/external/error?reason=cancelled", "/login/external/error?reason=other_link", "/login"} {
			sep := "?"
			if strings.Contains(page, "?") {
				sep = "&"
			}
			r := b.Open(t, page+sep+"lang="+lang)
			text := regexp.MustCompile(`<[^>]*>`).ReplaceAllString(r.Body, " ")
			if k := regexp.MustCompile(`\b(?:fed|field|err)\.[a-z_]+\b`).FindString(text); k != "" || strings.Contains(text, "%!") ||
				!strings.Contains(r.Body, `<html lang="`+lang+`">`) {
				t.Errorf("%s in %s: untranslated %q or broken verb", page, lang, k)
			}
		}
	}
}

// TestFederationEndToEnd drives headless Chromium through the real pages:
// the SwissID button on the login page, the stand-in provider, the choice
// page (account created from the pre-filled claims), the account page with
// the linked login; after logging out, a second SwissID login lands in the
// same account. Every page is audited with axe-core (WCAG 2.1 AA).
func TestFederationEndToEnd(t *testing.T) {
	t.Parallel()
	f := newFedFixture(t, idptest.Options{})
	ctx, cancel := idptest.Chromium(t)
	defer cancel()
	p := &idptest.Page{T: t, Ctx: ctx}
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	audit := p.Audit

	// First login: SwissID, then a new account from the claims.
	p.Do(chromedp.Navigate(f.env.URL+"/login"), chromedp.WaitVisible(css(`a.button-swissid`)))
	if got := p.Text(`a.button-swissid`); got != "Mit SwissID anmelden" {
		t.Errorf("button text %q", got)
	}
	audit("login with the SwissID button")
	p.Do(chromedp.Click(css(`a.button-swissid`)))
	p.WaitURL(f.env.URL + "/login/external/choice")
	p.Do(chromedp.WaitVisible(css(`#given_name`)))
	if p.Value(`#given_name`) != "Hans" || p.Value(`#family_name`) != "Meier" || p.Value(`#email`) != swissUser.Email {
		t.Fatalf("choice page not pre-filled: %q %q %q", p.Value(`#given_name`), p.Value(`#family_name`), p.Value(`#email`))
	}
	audit("first SwissID login: choice")
	p.Do(chromedp.Submit(css(`#given_name`)))
	p.WaitURL(f.env.URL + "/")
	p.Do(chromedp.WaitVisible(css(`#account-links-title`)))
	kontoID := p.Text(`.konto-id`)
	if body := p.Text("main"); !strings.Contains(body, "Hans Meier") || !strings.Contains(body, "SwissID") || !strings.Contains(body, "Geprüft") {
		t.Fatalf("account page after the first login:\n%.1500s", body)
	}
	audit("account with a linked login")

	// Log out, then log in again with SwissID: the same account.
	p.Do(chromedp.Submit(css(`.header-logout button`)))
	p.WaitURL(f.env.URL + "/")
	p.Do(chromedp.Navigate(f.env.URL+"/login"), chromedp.WaitVisible(css(`a.button-swissid`)))
	if strings.Contains(p.Text("body"), "Hans Meier") {
		t.Fatal("still logged in after logging out")
	}
	p.Do(chromedp.Click(css(`a.button-swissid`)))
	p.WaitURL(f.env.URL + "/")
	p.Do(chromedp.WaitVisible(css(`.konto-id`)))
	if got := p.Text(`.konto-id`); got != kontoID {
		t.Fatalf("second login landed in Konto-ID %q, want %q", got, kontoID)
	}
	if n := len(f.up.Authorizations()); n != 2 {
		t.Errorf("%d authorization requests at SwissID, want 2", n)
	}
}
