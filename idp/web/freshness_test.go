package web_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/kanton/kundencenter/idp/idptest"
)

// TestFreshLoginCannotBeBypassed: an auth request with prompt=login and
// max_age cannot be completed from an old session through any page of the
// login flow (/login/continue, /login/context, /login/profile): the
// provider itself refuses, and /login/continue asks for the password.
func TestFreshLoginCannotBeBypassed(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"/login/continue", "/login/context", "/login/profile"} {
		t.Run(path, func(t *testing.T) {
			f := newMFAFixture(t, idptest.Options{})
			f.env.CreateAccount(t, "Anna", "Muster", mfaEmail, mfaPassword)
			b := f.env.NewBrowser(t)
			v1 := oauth2.GenerateVerifier()
			f.exchange(t, "basic", v1, b.Authorize(t, f.authURL("basic", v1), mfaEmail, mfaPassword))
			f.clock.Add(20 * time.Minute)

			v2 := oauth2.GenerateVerifier()
			r := b.Open(t, f.authURL("basic", v2, oauth2.SetAuthURLParam("prompt", "login"), oauth2.SetAuthURLParam("max_age", "60")))
			if r.URL().Path != "/login" {
				t.Fatalf("prompt=login: ended at %s", r.URL())
			}
			id := r.URL().Query().Get("authRequestID")
			r = b.Open(t, path+"?authRequestID="+url.QueryEscape(id))
			if r.URL().Query().Get("code") != "" {
				t.Fatalf("%s completed prompt=login from a 20-minute-old session: %s", path, r.URL())
			}
			// The password still completes it.
			r = b.Post(t, "/login", b.CSRF(t, f.env.URL+"/login?authRequestID="+url.QueryEscape(id)),
				url.Values{"authRequestID": {id}, "email": {mfaEmail}, "password": {mfaPassword}})
			if c := f.exchange(t, "basic", v2, r.URL()); time.Unix(c.AuthTime, 0).Before(f.clock.Now().Add(-time.Minute)) {
				t.Fatalf("auth_time %v is not the new login", time.Unix(c.AuthTime, 0))
			}
		})
	}
}

// TestSMSFailuresCountPerAccount: starting new challenges does not reset
// the count of wrong codes; after ten the account's SMS codes are locked.
func TestSMSFailuresCountPerAccount(t *testing.T) {
	t.Parallel()
	f := newMFAFixture(t, idptest.Options{})
	f.env.CreateAccount(t, "Anna", "Muster", mfaEmail, mfaPassword)
	setup := f.env.NewBrowser(t)
	login(t, setup, "")
	f.enrolPhone(t, setup, "079 123 45 67")
	f.setRequired(t, setup)

	b := f.env.NewBrowser(t)
	r := login(t, b, "")
	checked := 0
	for round := 0; round < 4; round++ { // 4 new codes: within the account's SMS budget
		r = b.Post(t, "/login/mfa/sms", r.Field("csrf"), nil)
		if r.Resp.StatusCode != 200 {
			t.Fatalf("round %d: sending a code: %d", round, r.Resp.StatusCode)
		}
		for range 4 {
			r = b.Post(t, "/login/mfa/sms/verify", r.Field("csrf"), url.Values{"code": {"000000"}})
			if r.Resp.StatusCode == 429 {
				if !strings.Contains(r.Body, "bis morgen gesperrt") || checked != 10 {
					t.Fatalf("locked after %d wrong codes: %.300s", checked, r.Body)
				}
				return
			}
			if r.Resp.StatusCode != 422 {
				t.Fatalf("wrong code %d: status %d", checked+1, r.Resp.StatusCode)
			}
			checked++
		}
	}
	t.Fatalf("%d wrong codes over new challenges were all checked", checked)
}

// TestIntrospectionOnlyForTheTokensClient: another client learns nothing
// about a token that was not issued to it or for it.
func TestIntrospectionOnlyForTheTokensClient(t *testing.T) {
	t.Parallel()
	f := newMFAFixture(t, idptest.Options{})
	f.env.CreateAccount(t, "Anna", "Muster", mfaEmail, mfaPassword)
	b := f.env.NewBrowser(t)
	v := oauth2.GenerateVerifier()
	u := b.Authorize(t, f.authURL("basic", v), mfaEmail, mfaPassword)
	tok, err := f.oauth("basic").Exchange(t.Context(), u.Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	if in := introspectAs(t, f.env, "strong", tok.AccessToken); in["active"] != false || in["sub"] != nil {
		t.Fatalf("another client introspected the token: %v", in)
	}
	if in := introspectAs(t, f.env, "basic", tok.AccessToken); in["active"] != true {
		t.Fatalf("the token's own client: %v", in)
	}
}

// TestFreshLoginAfterEnrolment: with prompt=login or max_age, the
// password typed before enrolling a first factor counts: "continue" goes
// to the service without asking again.
func TestFreshLoginAfterEnrolment(t *testing.T) {
	t.Parallel()
	for _, opt := range []struct{ k, v string }{{"prompt", "login"}, {"max_age", "0"}, {"max_age", "600"}} {
		t.Run(opt.k+"="+opt.v, func(t *testing.T) {
			f := newMFAFixture(t, idptest.Options{})
			f.env.CreateAccount(t, "Anna", "Muster", mfaEmail, mfaPassword)
			b := f.env.NewBrowser(t)
			v := oauth2.GenerateVerifier()
			r := b.Open(t, f.authURL("strong", v, oauth2.SetAuthURLParam(opt.k, opt.v)))
			id := r.URL().Query().Get("authRequestID")
			r = b.Post(t, "/login", b.CSRF(t, r.URL().String()), url.Values{"authRequestID": {id}, "email": {mfaEmail}, "password": {mfaPassword}})
			if r.URL().Path != "/security" {
				t.Fatalf("ended at %s", r.URL())
			}
			r = b.Submit(t, r.URL().String(), "/security/phone", url.Values{"phone": {"0791234567"}, "authRequestID": {id}})
			r = b.Post(t, "/security/phone/confirm", r.Field("csrf"), url.Values{"challenge": {r.Field("challenge")},
				"masked": {r.Field("masked")}, "code": {f.smsCode(t, mfaPhone)}, "authRequestID": {id}})
			r = b.Open(t, "/login/continue?authRequestID="+url.QueryEscape(id))
			if !strings.HasPrefix(r.URL().String(), mfaRedirect) {
				t.Fatalf("freshly logged-in user sent to %s (status %d)", r.URL(), r.Resp.StatusCode)
			}
			f.exchange(t, "strong", v, r.URL())
		})
	}
}

// TestFederatedMaxAgeZero: max_age=0 is passed upstream as prompt=login
// (a provider never sees max_age=0), and the fresh upstream login
// completes the request.
func TestFederatedMaxAgeZero(t *testing.T) {
	t.Parallel()
	f := newFedFixture(t, idptest.Options{})
	b := f.env.NewBrowser(t)
	v := oauth2.GenerateVerifier()
	_, id := f.start(t, b, "basic", v)
	f.exchangeSub(t, "basic", v, f.create(t, b, f.upstream(t, b, f.up, "swissid", id)).URL())

	b2 := f.env.NewBrowser(t)
	v2 := oauth2.GenerateVerifier()
	_, id2 := f.start(t, b2, "basic", v2, oauth2.SetAuthURLParam("max_age", "0"))
	r := f.upstream(t, b2, f.up, "swissid", id2)
	auths := f.up.Authorizations()
	if last := auths[len(auths)-1]; last.Get("prompt") != "login" {
		t.Fatalf("max_age=0 was not passed upstream as prompt=login: %v", last)
	}
	if !strings.HasPrefix(r.URL().String(), mfaRedirect) {
		t.Fatalf("max_age=0 federated login ended at %s (%d)", r.URL(), r.Resp.StatusCode)
	}
}
