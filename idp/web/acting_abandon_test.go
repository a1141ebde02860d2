package web_test

import (
	"net/url"
	"testing"

	"golang.org/x/oauth2"

	"github.com/kanton/kundencenter/delegation"
	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
)

// TestActingRecordedOnlyWhenLoginCompletes: R chooses to act for P, then
// reaches the profile choice (R has two profiles) and leaves. P's timeline
// must not show a login that never happened; once R chooses a profile and
// the login completes, it does.
func TestActingRecordedOnlyWhenLoginCompletes(t *testing.T) {
	t.Parallel()
	env := idptest.Start(t, idptest.Options{})
	env.AddClient(t, idp.Client{ID: "svc", Name: "Baugesuche", RedirectURIs: []string{mfaRedirect}}, mfaSecret)
	f := newRepFixture(t, env, "svc")
	ctx := t.Context()
	biz, err := env.Service.CreateProfile(ctx, f.r.ID, idp.ProfileInput{Name: "Geschäftlich", GivenName: "Anna",
		FamilyName: "Muster-Keller", Country: "CH"})
	if err != nil {
		t.Fatal(err)
	}
	used := func() bool {
		t.Helper()
		events, err := env.Orgs.Timeline(ctx, f.p.ID, f.rep.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			if e.Action == delegation.RepEventUsed && e.ClientID == "svc" {
				return true
			}
		}
		return false
	}

	oc := &oauth2.Config{ClientID: "svc", ClientSecret: mfaSecret, RedirectURL: mfaRedirect, Scopes: []string{"openid"},
		Endpoint: oauth2.Endpoint{AuthURL: env.URL + "/authorize", TokenURL: env.URL + "/oauth/token"}}
	b := env.NewBrowser(t)
	r := b.Open(t, oc.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	id := r.URL().Query().Get("authRequestID")
	r = b.Post(t, "/login", b.CSRF(t, r.URL().String()), url.Values{"authRequestID": {id}, "email": {mfaEmail}, "password": {mfaPassword}})
	if r.URL().Path != "/login/context" {
		t.Fatalf("after the password: %s", r.URL())
	}
	r = b.Post(t, "/login/context", r.Field("csrf"), url.Values{"authRequestID": {id}, "acting": {"person:" + f.rep.ID}})
	if r.URL().Path != "/login/profile" {
		t.Fatalf("after the acting choice: %s", r.URL())
	}
	if used() {
		t.Fatal("P's timeline shows a use although the login stopped at the profile choice")
	}
	r = b.Post(t, "/login/profile", r.Field("csrf"), url.Values{"authRequestID": {id}, "profile": {biz.ID}})
	if r.URL().Query().Get("code") == "" {
		t.Fatalf("after the profile choice: %s", r.URL())
	}
	if !used() {
		t.Fatal("P's timeline lacks the completed login")
	}
}
