package web_test

import (
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
)

// TestServiceNamesTranslated: the bundled services are registered with
// their German names ("Formulare"); the IdP's pages show them in the
// page's language from the catalogues (issue 14: "Formulare" on French
// pages). A service without a translation keeps its registered name.
func TestServiceNamesTranslated(t *testing.T) {
	t.Parallel()
	env := idptest.Start(t, idptest.Options{})
	const redirect, secret = "http://forms.example/auth/callback", "forms-secret-0123456789"
	const email, password = "lea.langue@example.ch", "Sonnenblume-Aare-42"
	env.AddClient(t, idp.Client{ID: "forms", Name: "Formulare", RedirectURIs: []string{redirect}}, secret)
	env.AddClient(t, idp.Client{ID: "tax", Name: "Steuern online", RedirectURIs: []string{"http://tax.example/cb"}}, secret)
	env.CreateAccount(t, "Lea", "Langue", email, password)
	conf := &oauth2.Config{ClientID: "forms", ClientSecret: secret, RedirectURL: redirect, Scopes: []string{"openid"},
		Endpoint: oauth2.Endpoint{AuthURL: env.URL + "/authorize", TokenURL: env.URL + "/oauth/token"}}
	b := env.NewBrowser(t)
	res := b.Open(t, conf.AuthCodeURL("st-names", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("nonce", "n-names")))
	id := res.Resp.Request.URL.Query().Get("authRequestID")
	if res.Resp.Request.URL.Path != "/login" || id == "" {
		t.Fatalf("authorize ended on %s", res.Resp.Request.URL)
	}
	for lang, want := range map[string]string{"de": "«Formulare»", "fr": "\u202fFormulaires\u202f", "it": "«Moduli»", "en": "“Forms”"} {
		res := b.Open(t, "/login?authRequestID="+url.QueryEscape(id)+"&lang="+lang)
		if !strings.Contains(res.Body, want) {
			t.Errorf("login page in %s lacks %s:\n%.600s", lang, want, res.Body)
		}
	}
	b.Login(t, id, email, password)
	for lang, want := range map[string][]string{"fr": {">Formulaires<", ">Steuern online<"}, "en": {">Forms<"}, "it": {">Moduli<"}} {
		res := b.Open(t, "/representations/new?lang="+lang)
		for _, w := range want {
			if !strings.Contains(res.Body, w) {
				t.Errorf("representation form in %s lacks %s:\n%.2000s", lang, w, res.Body)
			}
		}
		if lang != "de" && strings.Contains(res.Body, ">Formulare<") {
			t.Errorf("representation form in %s names the service in German", lang)
		}
	}
}
