package web_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
	"github.com/kanton/kundencenter/mfa/twilio/twiliotest"
	"github.com/kanton/kundencenter/store/memory"
)

const (
	mfaRedirect = "http://localhost:9999/cb"
	mfaSecret   = "s3cret-s3cret-s3cret-s3cret-s3cret-0002"
	mfaEmail    = "anna.muster@example.ch"
	mfaPassword = "Sonnenblume-Aare-42"
	mfaPhone    = "+41791234567"
)

// clock is a settable clock shared by the IdP and its stores.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// mfaFixture is an IdP with two clients: "basic" (any level) and "strong"
// (level substantial), seen through an independent OIDC client.
type mfaFixture struct {
	env      *idptest.Env
	clock    *clock
	provider *oidc.Provider
}

func newMFAFixture(t *testing.T, o idptest.Options) *mfaFixture {
	t.Helper()
	c := &clock{now: time.Now().UTC()}
	if o.Now == nil {
		o.Now = c.Now
	}
	env := idptest.Start(t, o)
	env.AddClient(t, idp.Client{ID: "basic", Name: "Formulare", RedirectURIs: []string{mfaRedirect}}, mfaSecret)
	env.AddClient(t, idp.Client{ID: "strong", Name: "Steuern", RedirectURIs: []string{mfaRedirect}, Level: idp.LevelSubstantial}, mfaSecret)
	p, err := oidc.NewProvider(t.Context(), env.URL)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return &mfaFixture{env: env, clock: c, provider: p}
}

func (f *mfaFixture) oauth(client string) *oauth2.Config {
	return &oauth2.Config{ClientID: client, ClientSecret: mfaSecret, Endpoint: f.provider.Endpoint(), RedirectURL: mfaRedirect,
		Scopes: []string{oidc.ScopeOpenID, "profile"}}
}

// authURL is an authorization request of client with PKCE.
func (f *mfaFixture) authURL(client, verifier string, opts ...oauth2.AuthCodeOption) string {
	opts = append(opts, oauth2.S256ChallengeOption(verifier), oidc.Nonce("n-1"))
	return f.oauth(client).AuthCodeURL("st-1", opts...)
}

type idClaims struct {
	ACR      string   `json:"acr"`
	AMR      []string `json:"amr"`
	AuthTime int64    `json:"auth_time"`
}

// exchange redeems the code of a redirect to the client and returns the ID token's claims.
func (f *mfaFixture) exchange(t *testing.T, client, verifier string, u *url.URL) idClaims {
	t.Helper()
	if !strings.HasPrefix(u.String(), mfaRedirect) {
		t.Fatalf("ended at %s, want the client", u)
	}
	if e := u.Query().Get("error"); e != "" {
		t.Fatalf("authorize error %s: %s", e, u.Query().Get("error_description"))
	}
	tok, err := f.oauth(client).Exchange(t.Context(), u.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := f.provider.Verifier(&oidc.Config{ClientID: client}).Verify(t.Context(), raw)
	if err != nil {
		t.Fatalf("id token: %v", err)
	}
	var c idClaims
	if err := idt.Claims(&c); err != nil {
		t.Fatal(err)
	}
	return c
}

// login logs in on the IdP's own login page (no auth request) and
// returns where the browser ended.
func login(t *testing.T, b *idptest.Browser, next string) idptest.Result {
	t.Helper()
	page := "/login"
	form := url.Values{"email": {mfaEmail}, "password": {mfaPassword}}
	if next != "" {
		page += "?next=" + url.QueryEscape(next)
		form.Set("next", next)
	}
	return b.Submit(t, page, "/login", form)
}

// smsCode returns the newest code the fake Twilio delivered to phone.
func (f *mfaFixture) smsCode(t *testing.T, phone string) string {
	t.Helper()
	code, ok := f.env.Twilio.LastCode(phone)
	if !ok {
		t.Fatalf("no SMS code to %s", phone)
	}
	return code
}

// lastCode returns the code of the newest SMS the fake Twilio delivered.
func (f *mfaFixture) lastCode(t *testing.T) string {
	t.Helper()
	msgs := f.env.Twilio.Messages()
	if len(msgs) == 0 {
		t.Fatal("no SMS sent")
	}
	code, ok := twiliotest.Code(msgs[len(msgs)-1].Body)
	if !ok {
		t.Fatalf("newest SMS has no code: %q", msgs[len(msgs)-1].Body)
	}
	return code
}

// enrolPhone binds phone on the security page of a logged-in browser.
func (f *mfaFixture) enrolPhone(t *testing.T, b *idptest.Browser, phone string) idptest.Result {
	t.Helper()
	r := b.Submit(t, "/security", "/security/phone", url.Values{"phone": {phone}})
	if r.Resp.StatusCode != http.StatusOK || r.Field("challenge") == "" {
		t.Fatalf("start enrolment: status %d at %s: %.400s", r.Resp.StatusCode, r.URL(), r.Body)
	}
	r = b.Post(t, "/security/phone/confirm", r.Field("csrf"), url.Values{"challenge": {r.Field("challenge")},
		"masked": {r.Field("masked")}, "code": {f.lastCode(t)}})
	if r.URL().Path != "/security" || r.URL().Query().Get("done") != "phone_added" {
		t.Fatalf("confirm enrolment ended at %s (%d): %.400s", r.URL(), r.Resp.StatusCode, r.Body)
	}
	return r
}

func (f *mfaFixture) setRequired(t *testing.T, b *idptest.Browser) {
	t.Helper()
	r := b.Submit(t, "/security", "/security/mfa", url.Values{"required": {"on"}})
	// Without recovery codes they are offered at once (issue 14).
	if r.URL().Query().Get("done") != "mfa_on" && !strings.Contains(r.Body, "done=mfa_on") {
		t.Fatalf("switch on two-factor login ended at %s", r.URL())
	}
}

func lastNotice(t *testing.T, env *idptest.Env, event string) {
	t.Helper()
	m, ok := env.LastMail(mfaEmail, idp.MailSecurityNotice)
	if !ok || m.Data["Event"] != event {
		t.Fatalf("last security notice: %+v, %v; want event %s", m.Data, ok, event)
	}
}

// TestStepUpWithSMS: a password login at a basic service, then a service
// that needs two factors asks only for the SMS code (read from the fake
// Twilio), and its ID token carries the higher acr.
func TestStepUpWithSMS(t *testing.T) {
	t.Parallel()
	f := newMFAFixture(t, idptest.Options{})
	f.env.CreateAccount(t, "Anna", "Muster", mfaEmail, mfaPassword)
	setup := f.env.NewBrowser(t)
	login(t, setup, "")
	f.enrolPhone(t, setup, "079 123 45 67")
	lastNotice(t, f.env, "phone_added")

	b := f.env.NewBrowser(t)
	v1 := oauth2.GenerateVerifier()
	c1 := f.exchange(t, "basic", v1, b.Authorize(t, f.authURL("basic", v1), mfaEmail, mfaPassword))
	if c1.ACR != idp.LevelLow || !slices.Equal(c1.AMR, []string{"pwd"}) {
		t.Fatalf("basic service: acr %s amr %v", c1.ACR, c1.AMR)
	}

	sent := f.env.Twilio.Count()
	v2 := oauth2.GenerateVerifier()
	r := b.Open(t, f.authURL("strong", v2))
	if r.URL().Path != "/login/mfa" {
		t.Fatalf("strong service with a password session: ended at %s, want the second-factor page", r.URL())
	}
	if !strings.Contains(r.Body, "41 79 *** ** 67") || strings.Contains(r.Body, `name="password"`) {
		t.Fatal("second-factor page should show the masked number and not ask for the password")
	}
	if f.env.Twilio.Count() != sent {
		t.Fatal("an SMS was sent before the user asked for it")
	}
	r = b.Post(t, "/login/mfa/sms", r.Field("csrf"), nil)
	if r.Resp.StatusCode != http.StatusOK || f.env.Twilio.Count() != sent+1 {
		t.Fatalf("send code: status %d, %d SMS", r.Resp.StatusCode, f.env.Twilio.Count()-sent)
	}
	f.clock.Add(2 * time.Second)
	r = b.Post(t, "/login/mfa/sms/verify", r.Field("csrf"), url.Values{"code": {f.smsCode(t, mfaPhone)}})
	c2 := f.exchange(t, "strong", v2, r.URL())
	if c2.ACR != idp.LevelSubstantial || !slices.Equal(c2.AMR, []string{"pwd", "sms", "mfa"}) || c2.AuthTime < c1.AuthTime {
		t.Fatalf("strong service: %+v (first login %+v)", c2, c1)
	}
	// The stepped-up session now serves both services without asking again.
	v3 := oauth2.GenerateVerifier()
	r = b.Open(t, f.authURL("strong", v3))
	if c := f.exchange(t, "strong", v3, r.URL()); c.ACR != idp.LevelSubstantial {
		t.Fatalf("SSO after step-up: %+v", c)
	}
}

// TestWrongCodes: five wrong codes lock the challenge; a resend gives a
// new code but does not reset the count; a locked challenge needs a new one.
func TestWrongCodes(t *testing.T) {
	t.Parallel()
	f := newMFAFixture(t, idptest.Options{})
	f.env.CreateAccount(t, "Anna", "Muster", mfaEmail, mfaPassword)
	setup := f.env.NewBrowser(t)
	login(t, setup, "")
	f.enrolPhone(t, setup, mfaPhone)
	f.setRequired(t, setup)

	b := f.env.NewBrowser(t)
	r := login(t, b, "")
	if r.URL().Path != "/login/mfa" {
		t.Fatalf("login with two-factor switched on ended at %s", r.URL())
	}
	r = b.Post(t, "/login/mfa/sms", r.Field("csrf"), nil)
	first := f.smsCode(t, mfaPhone)
	wrong := "000000"
	if first == wrong {
		wrong = "111111"
	}
	for i, left := range []int{4, 3} {
		r = b.Post(t, "/login/mfa/sms/verify", r.Field("csrf"), url.Values{"code": {wrong}})
		if r.Resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "Noch "+string(rune('0'+left))+" Versuche") {
			t.Fatalf("wrong code %d: status %d: %.300s", i+1, r.Resp.StatusCode, r.Body)
		}
	}
	f.clock.Add(31 * time.Second) // the resend wait
	r = b.Post(t, "/login/mfa/sms", r.Field("csrf"), url.Values{"resend": {"1"}})
	second := f.smsCode(t, mfaPhone)
	if r.Resp.StatusCode != http.StatusOK || f.env.Twilio.Count() != 3 { // enrolment, first, resend
		t.Fatalf("resend: status %d, %d SMS", r.Resp.StatusCode, f.env.Twilio.Count())
	}
	r = b.Post(t, "/login/mfa/sms/verify", r.Field("csrf"), url.Values{"code": {first}})
	if first != second && !strings.Contains(r.Body, "Noch 2 Versuche") {
		t.Fatalf("the replaced code: %.300s", r.Body)
	}
	for range 2 {
		r = b.Post(t, "/login/mfa/sms/verify", r.Field("csrf"), url.Values{"code": {wrong}})
	}
	if !strings.Contains(r.Body, "zu oft falsch") {
		t.Fatalf("after five wrong codes: %.300s", r.Body)
	}
	r = b.Post(t, "/login/mfa/sms/verify", r.Field("csrf"), url.Values{"code": {second}})
	if r.URL().Path == "/" || r.Resp.StatusCode == http.StatusOK && strings.Contains(r.Body, "Mein Konto") {
		t.Fatal("the right code worked after the challenge locked")
	}
	// A fresh code works.
	r = b.Post(t, "/login/mfa/sms", r.Field("csrf"), nil)
	r = b.Post(t, "/login/mfa/sms/verify", r.Field("csrf"), url.Values{"code": {f.smsCode(t, mfaPhone)}})
	if r.URL().Path != "/" || r.Resp.StatusCode != http.StatusOK {
		t.Fatalf("fresh code: ended at %s (%d)", r.URL(), r.Resp.StatusCode)
	}
}

// TestServiceNeedsTwoFactorsGuidesEnrolment: a user without a second
// factor entering a two-factor service is guided to enrol one and then
// continues to the service at the higher level.
func TestServiceNeedsTwoFactorsGuidesEnrolment(t *testing.T) {
	t.Parallel()
	f := newMFAFixture(t, idptest.Options{})
	f.env.CreateAccount(t, "Anna", "Muster", mfaEmail, mfaPassword)
	b := f.env.NewBrowser(t)
	v := oauth2.GenerateVerifier()
	r := b.Open(t, f.authURL("strong", v))
	id := r.URL().Query().Get("authRequestID")
	r = b.Post(t, "/login", b.CSRF(t, r.URL().String()), url.Values{"authRequestID": {id}, "email": {mfaEmail}, "password": {mfaPassword}})
	if r.URL().Path != "/security" || r.URL().Query().Get("enrol") == "" || r.URL().Query().Get("authRequestID") != id {
		t.Fatalf("ended at %s, want the security page with the enrolment hint", r.URL())
	}
	if !strings.Contains(r.Body, "verlangt eine Zwei-Faktor-Authentifizierung") {
		t.Fatalf("no enrolment hint: %.400s", r.Body)
	}
	page := r.URL().String()
	r = b.Submit(t, page, "/security/phone", url.Values{"phone": {"0791234567"}, "authRequestID": {id}})
	r = b.Post(t, "/security/phone/confirm", r.Field("csrf"), url.Values{"challenge": {r.Field("challenge")},
		"masked": {r.Field("masked")}, "code": {f.smsCode(t, mfaPhone)}, "authRequestID": {id}})
	if !strings.Contains(r.Body, "Weiter zu «Steuern»") {
		t.Fatalf("no way back to the service after enrolment (%s): %.600s", r.URL(), r.Body)
	}
	r = b.Open(t, "/login/continue?authRequestID="+url.QueryEscape(id))
	c := f.exchange(t, "strong", v, r.URL())
	if c.ACR != idp.LevelSubstantial || !slices.Contains(c.AMR, "sms") {
		t.Fatalf("after enrolment: %+v", c)
	}
}

// TestRecoveryCodes: codes are shown once, log in once each, and their use
// is announced by e-mail.
func TestRecoveryCodes(t *testing.T) {
	t.Parallel()
	f := newMFAFixture(t, idptest.Options{})
	f.env.CreateAccount(t, "Anna", "Muster", mfaEmail, mfaPassword)
	setup := f.env.NewBrowser(t)
	login(t, setup, "")
	f.enrolPhone(t, setup, mfaPhone)
	f.setRequired(t, setup)
	r := setup.Submit(t, "/security", "/security/recovery", nil)
	codes := regexpAll(r.Body, `<code>([0-9A-Z-]{24})</code>`)
	if len(codes) != 10 {
		t.Fatalf("recovery codes page shows %d codes: %.600s", len(codes), r.Body)
	}
	lastNotice(t, f.env, "recovery_new")
	if r := setup.Open(t, "/security"); strings.Contains(r.Body, codes[0]) || !strings.Contains(r.Body, "Noch unbenutzte Codes: 10") {
		t.Fatal("the security page must count the codes and never show them again")
	}

	b := f.env.NewBrowser(t)
	r = login(t, b, "")
	typed := strings.ToLower(strings.ReplaceAll(codes[3], "-", " ")) // forgiving input
	r = b.Post(t, "/login/mfa/recovery", r.Field("csrf"), url.Values{"recovery_code": {typed}})
	if r.URL().Path != "/security" || r.URL().Query().Get("recovered") == "" {
		t.Fatalf("recovery login ended at %s (%d): %.300s", r.URL(), r.Resp.StatusCode, r.Body)
	}
	lastNotice(t, f.env, "recovery_used")
	if !strings.Contains(r.Body, "Noch unbenutzte Codes: 9") {
		t.Fatal("the used code still counts")
	}

	again := f.env.NewBrowser(t)
	r = login(t, again, "")
	r = again.Post(t, "/login/mfa/recovery", r.Field("csrf"), url.Values{"recovery_code": {codes[3]}})
	if r.Resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "bereits verwendet") {
		t.Fatalf("reused recovery code: status %d", r.Resp.StatusCode)
	}
	r = again.Post(t, "/login/mfa/recovery", r.Field("csrf"), url.Values{"recovery_code": {"ABCD-EFGH-JKMN-PQRS-TVWX"}})
	if r.Resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("made-up recovery code: status %d", r.Resp.StatusCode)
	}
}

// TestPhoneChangeNeedsFreshSecondFactor: changing the number needs a
// recent login with the second factor; the old number and the e-mail
// address are told.
func TestPhoneChangeNeedsFreshSecondFactor(t *testing.T) {
	t.Parallel()
	f := newMFAFixture(t, idptest.Options{})
	f.env.CreateAccount(t, "Anna", "Muster", mfaEmail, mfaPassword)
	b := f.env.NewBrowser(t)
	login(t, b, "")
	f.enrolPhone(t, b, mfaPhone)

	// A password-only login is not enough once a factor exists.
	pw := f.env.NewBrowser(t)
	login(t, pw, "")
	if r := pw.Open(t, "/security"); !strings.Contains(r.Body, "bestätigen Sie bitte zuerst Ihre Anmeldung") || strings.Contains(r.Body, `action="/security/phone"`) {
		t.Fatal("a password-only session is offered to change the number")
	}
	r := pw.Post(t, "/security/phone", pw.CSRF(t, f.env.URL+"/security"), url.Values{"phone": {"+41781112233"}})
	if r.URL().Path != "/login" || r.URL().Query().Get("next") != "/security" {
		t.Fatalf("change without second factor ended at %s", r.URL())
	}
	// Re-authenticating asks for the code and returns to the security page.
	r = login(t, pw, "/security")
	if r.URL().Path != "/login/mfa" {
		t.Fatalf("re-authentication ended at %s, want the second factor", r.URL())
	}
	r = pw.Post(t, "/login/mfa/sms", r.Field("csrf"), nil)
	r = pw.Post(t, "/login/mfa/sms/verify", r.Field("csrf"), url.Values{"code": {f.smsCode(t, mfaPhone)}})
	if r.URL().Path != "/security" {
		t.Fatalf("re-authentication ended at %s", r.URL())
	}
	// After 16 minutes the login is no longer fresh.
	f.clock.Add(16 * time.Minute)
	r = pw.Post(t, "/security/phone", r.Field("csrf"), url.Values{"phone": {"+41781112233"}})
	if r.URL().Path != "/login" {
		t.Fatalf("stale session changed the number: %s", r.URL())
	}
	r = login(t, pw, "/security")
	r = pw.Post(t, "/login/mfa/sms", r.Field("csrf"), nil)
	r = pw.Post(t, "/login/mfa/sms/verify", r.Field("csrf"), url.Values{"code": {f.smsCode(t, mfaPhone)}})
	oldCount := len(f.env.Twilio.Messages())
	f.enrolPhone(t, pw, "+41781112233")
	lastNotice(t, f.env, "phone_changed")
	msgs := f.env.Twilio.Messages()[oldCount:]
	notified := slices.ContainsFunc(msgs, func(m twMessage) bool {
		return m.To == mfaPhone && strings.Contains(m.Body, "keine Codes mehr")
	})
	if !notified {
		t.Fatalf("old number not told: %+v", msgs)
	}
	// Codes now go to the new number only.
	v := oauth2.GenerateVerifier()
	nb := f.env.NewBrowser(t)
	r = nb.Open(t, f.authURL("strong", v))
	r = nb.Post(t, "/login", nb.CSRF(t, r.URL().String()), url.Values{"authRequestID": {r.URL().Query().Get("authRequestID")},
		"email": {mfaEmail}, "password": {mfaPassword}})
	r = nb.Post(t, "/login/mfa/sms", r.Field("csrf"), nil)
	if r.Resp.StatusCode != http.StatusOK {
		t.Fatalf("login code: status %d: %.300s", r.Resp.StatusCode, r.Body)
	}
	if last := f.env.Twilio.Messages()[len(f.env.Twilio.Messages())-1]; last.To != "+41781112233" {
		t.Fatalf("login code went to %s", last.To)
	}
}

// TestUnreachableLevel: a service asking for a level the account cannot
// reach gets a clean OIDC error, not a loop.
func TestUnreachableLevel(t *testing.T) {
	t.Parallel()
	f := newMFAFixture(t, idptest.Options{})
	f.env.CreateAccount(t, "Anna", "Muster", mfaEmail, mfaPassword)
	setup := f.env.NewBrowser(t)
	login(t, setup, "")
	f.enrolPhone(t, setup, mfaPhone)

	b := f.env.NewBrowser(t)
	v := oauth2.GenerateVerifier()
	r := b.Open(t, f.authURL("basic", v, oauth2.SetAuthURLParam("acr_values", idp.LevelHigh)))
	id := r.URL().Query().Get("authRequestID")
	r = b.Post(t, "/login", b.CSRF(t, r.URL().String()), url.Values{"authRequestID": {id}, "email": {mfaEmail}, "password": {mfaPassword}})
	if r.Resp.StatusCode != http.StatusForbidden || !strings.Contains(r.Body, "Passkey") {
		t.Fatalf("unreachable level: status %d at %s", r.Resp.StatusCode, r.URL())
	}
	r = b.Post(t, "/login/mfa/cancel", r.Field("csrf"), url.Values{"authRequestID": {id}, "reason": {"unmet"}})
	u := r.URL()
	if !strings.HasPrefix(u.String(), mfaRedirect) || u.Query().Get("error") != "unmet_authentication_requirements" || u.Query().Get("state") != "st-1" {
		t.Fatalf("cancel ended at %s", u)
	}
}

// switchable is an ephemeral store whose counters can be made to fail:
// the SMS budgets then cannot be checked.
type switchable struct {
	idp.Ephemeral
	mu   sync.Mutex
	down bool
}

func (s *switchable) fail(down bool) {
	s.mu.Lock()
	s.down = down
	s.mu.Unlock()
}

func (s *switchable) Incr(ctx context.Context, key string, window time.Duration) (int64, error) {
	s.mu.Lock()
	down := s.down
	s.mu.Unlock()
	if down {
		return 0, errors.New("connection refused")
	}
	return s.Ephemeral.Incr(ctx, key, window)
}

func (s *switchable) IncrAll(ctx context.Context, keys []string, windows []time.Duration) ([]int64, error) {
	s.mu.Lock()
	down := s.down
	s.mu.Unlock()
	if down {
		return nil, errors.New("connection refused")
	}
	return s.Ephemeral.IncrAll(ctx, keys, windows)
}

type twMessage = twiliotest.Message

func regexpAll(s, expr string) []string {
	var out []string
	for _, m := range regexp.MustCompile(expr).FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestSMSFailsClosed: without the budget counters no SMS is sent and the
// user sees a clear message.
func TestSMSFailsClosed(t *testing.T) {
	t.Parallel()
	eph := memory.New(nil)
	t.Cleanup(func() { eph.Close() })
	flaky := &switchable{Ephemeral: eph}
	f := newMFAFixture(t, idptest.Options{Eph: flaky})
	f.env.CreateAccount(t, "Anna", "Muster", mfaEmail, mfaPassword)
	b := f.env.NewBrowser(t)
	login(t, b, "")
	f.enrolPhone(t, b, mfaPhone)
	f.setRequired(t, b)
	sent := f.env.Twilio.Count()

	nb := f.env.NewBrowser(t)
	r := login(t, nb, "")
	flaky.fail(true)
	r = nb.Post(t, "/login/mfa/sms", r.Field("csrf"), nil)
	if r.Resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(r.Body, "es wurde keine SMS gesendet") {
		t.Fatalf("store down: status %d: %.300s", r.Resp.StatusCode, r.Body)
	}
	if f.env.Twilio.Count() != sent {
		t.Fatal("an SMS was sent while the budgets could not be checked")
	}
}

// TestEnrolmentRefusesForeignNumbers: only CH/LI mobiles, nothing sent otherwise.
func TestEnrolmentRefusesForeignNumbers(t *testing.T) {
	t.Parallel()
	f := newMFAFixture(t, idptest.Options{})
	f.env.CreateAccount(t, "Anna", "Muster", mfaEmail, mfaPassword)
	b := f.env.NewBrowser(t)
	login(t, b, "")
	for _, tc := range []struct{ phone, want string }{
		{"+44 7700 900123", "nur an Schweizer und Liechtensteiner"},
		{"044 123 45 67", "keine Mobilnummer"},
		{"hallo", "gültige Mobilnummer"},
		{"", "füllen Sie dieses Feld aus"},
	} {
		r := b.Submit(t, "/security", "/security/phone", url.Values{"phone": {tc.phone}})
		if r.Resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.Body, tc.want) || !strings.Contains(r.Body, `aria-invalid="true"`) {
			t.Errorf("%q: status %d, want the message %q", tc.phone, r.Resp.StatusCode, tc.want)
		}
	}
	if f.env.Twilio.Count() != 0 {
		t.Fatalf("%d SMS sent to refused numbers", f.env.Twilio.Count())
	}
	// The account budget bounds enrolment attempts (5 per hour).
	for i := range 6 {
		r := b.Submit(t, "/security", "/security/phone", url.Values{"phone": {"+4179123456" + string(rune('0'+i))}})
		if i < 5 && r.Resp.StatusCode != http.StatusOK || i == 5 && r.Resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("enrolment %d: status %d", i+1, r.Resp.StatusCode)
		}
	}
}
