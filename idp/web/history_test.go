package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/kanton/kundencenter/idp/idptest"
)

// TestSecurityHistory: the owner sees their own sign-ins, the failed
// attempts typed for their address (with the /24 network, never the full
// address) and a reset, in their language; nobody else's events; and the
// page needs a login.
func TestSecurityHistory(t *testing.T) {
	env := idptest.Start(t, idptest.Options{})
	env.CreateAccount(t, "Anna", "Muster", email, password)
	env.CreateAccount(t, "Beat", "Other", "beat@example.ch", password)

	anon := env.NewBrowser(t)
	if res := anon.Open(t, "/security/history"); res.URL().Path != "/login" || res.URL().Query().Get("next") != "/security/history" {
		t.Fatalf("without a session: at %s, want the login page coming back here", res.URL())
	}

	attacker := env.NewBrowser(t)
	for _, pw := range []string{"Falsch-Eins-1", "Falsch-Zwei-2"} {
		attacker.Submit(t, "/login", "/login", url.Values{"email": {email}, "password": {pw}})
	}
	attacker.Submit(t, "/login", "/login", url.Values{"email": {"beat@example.ch"}, "password": {"Falsch-Drei-3"}})
	if err := env.Service.RequestReset(t.Context(), email, "de", "203.0.113.45"); err != nil {
		t.Fatal(err)
	}

	b := consoleLogin(t, env, email, password)
	res := b.Open(t, "/security/history")
	if res.Resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", res.Resp.StatusCode)
	}
	body := res.Body
	for _, want := range []string{"<h1", "Anmeldeverlauf", "Anmeldung mit falschem Passwort: <strong>fehlgeschlagen</strong>",
		"Zurücksetzen des Passworts angefordert: erfolgreich (Netz 203.0.113.0/24)", "Anmeldung: erfolgreich"} {
		if !strings.Contains(body, want) {
			t.Errorf("history lacks %q:\n%s", want, body)
		}
	}
	if n := strings.Count(body, "Anmeldung mit falschem Passwort"); n != 2 {
		t.Errorf("%d failed logins shown, want Anna's 2 (not Beat's)", n)
	}
	if strings.Contains(body, "203.0.113.45") {
		t.Error("the full IP address is shown")
	}
	for lang, want := range map[string]string{"fr": "Historique des connexions", "it": "Cronologia degli accessi", "en": "Sign-in with a wrong password"} {
		if res := b.Open(t, "/security/history?lang="+lang); !strings.Contains(res.Body, want) {
			t.Errorf("%s: no %q", lang, want)
		}
	}
	if res := b.Open(t, "/security?lang=de"); !strings.Contains(res.Body, `href="/security/history"`) {
		t.Error("the security page does not link the history")
	}
}
