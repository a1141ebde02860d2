package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
)

// TestExampleLogin drives the example once against a real IdP: "/" sends
// the browser to the login, the callback verifies the ID token, and the
// page greets the person.
func TestExampleLogin(t *testing.T) {
	env := idptest.Start(t, idptest.Options{})
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	const secret = "example-secret-example-secret-0001"
	env.AddClient(t, idp.Client{ID: "example", Name: "Beispiel", RedirectURIs: []string{base + "/callback"}}, secret)
	env.CreateAccount(t, "Erika", "Beispiel", "erika@example.ch", "Sonnenblume-Aare-77")
	h, err := New(t.Context(), Config{Issuer: env.URL, ClientID: "example", ClientSecret: secret, BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h
	srv.Start()
	defer srv.Close()

	b := env.NewBrowser(t)
	b.CheckRedirect = nil // follow every redirect, as a browser does
	resp, err := b.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/login" || !strings.HasPrefix(resp.Request.URL.String(), env.URL) {
		t.Fatalf("not sent to the IdP's login: %s", resp.Request.URL)
	}
	id := resp.Request.URL.Query().Get("authRequestID")
	csrf := b.CSRF(t, resp.Request.URL.String())
	req, _ := http.NewRequest(http.MethodPost, env.URL+"/login", strings.NewReader(url.Values{"csrf": {csrf}, "authRequestID": {id},
		"email": {"erika@example.ch"}, "password": {"Sonnenblume-Aare-77"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", env.URL)
	resp, err = b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body := string(raw)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Grüezi Erika Beispiel") || !strings.Contains(body, "sich selbst") {
		t.Fatalf("after login: status %d %s", resp.StatusCode, body)
	}
}
