package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
)

// exchange posts an RFC 8693 token-exchange request as client and returns
// the status and the JSON answer.
func exchange(t *testing.T, env *idptest.Env, client, secret string, form url.Values) (int, map[string]any) {
	t.Helper()
	form.Set("grant_type", idp.GrantTokenExchange)
	if form.Get("subject_token_type") == "" {
		form.Set("subject_token_type", "urn:ietf:params:oauth:token-type:access_token")
	}
	req, _ := http.NewRequest(http.MethodPost, env.URL+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if secret == "" {
		form.Set("client_id", client)
		req, _ = http.NewRequest(http.MethodPost, env.URL+"/oauth/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req.SetBasicAuth(client, secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestTokenExchange: a service holding R's access token (acting for P)
// exchanges it for a token for exactly one other covered audience with
// sub = P and act = R; everything else is refused with the right OAuth
// error, and ending the representation deactivates the token at once.
func TestTokenExchange(t *testing.T) {
	t.Parallel()
	env := idptest.Start(t, idptest.Options{})
	grants := []string{idp.GrantAuthorizationCode, idp.GrantTokenExchange}
	env.AddClient(t, idp.Client{ID: "svc", Name: "Baugesuche", RedirectURIs: []string{mfaRedirect}, GrantTypes: grants}, mfaSecret)
	env.AddClient(t, idp.Client{ID: "svc2", Name: "Zweiter Dienst", RedirectURIs: []string{mfaRedirect}, GrantTypes: grants}, mfaSecret)
	env.AddClient(t, idp.Client{ID: "api", Name: "Baugesuche-API", RedirectURIs: []string{mfaRedirect}}, mfaSecret)
	env.AddClient(t, idp.Client{ID: "other", Name: "Steuern", RedirectURIs: []string{mfaRedirect}}, mfaSecret)
	env.AddClient(t, idp.Client{ID: "pub", Name: "App", RedirectURIs: []string{mfaRedirect}, GrantTypes: grants}, "")
	env.AddClient(t, idp.Client{ID: "nogrant", Name: "Ohne", RedirectURIs: []string{mfaRedirect}}, mfaSecret)
	f := newRepFixture(t, env, "svc", "api")
	pAcct, rAcct, rep, p, ctx := f.p, f.r, f.rep, f.oidcIssuer, t.Context()
	forP, forSelf := f.login(t, "svc", "person:"+rep.ID), f.login(t, "svc", "self")

	status, out := exchange(t, env, "svc", mfaSecret, url.Values{"subject_token": {forP.AccessToken}, "audience": {"api"}})
	if status != http.StatusOK || out["issued_token_type"] != "urn:ietf:params:oauth:token-type:access_token" ||
		out["refresh_token"] != nil || out["access_token"] == nil {
		t.Fatalf("good exchange: %d %v", status, out)
	}
	exchanged, _ := out["access_token"].(string)
	in := introspectAs(t, env, "api", exchanged)
	act, _ := in["act"].(map[string]any)
	if in["active"] != true || in["sub"] != pAcct.ID || act["sub"] != rAcct.ID || toJSON(in["aud"]) != `["api"]` ||
		!strings.Contains(toJSON(in["represents"]), rep.ID) {
		t.Fatalf("introspection of the exchanged token: %v", in)
	}
	// It is a token for an API, not for userinfo.
	if _, err := p.UserInfo(ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: exchanged, TokenType: "Bearer"})); err == nil {
		t.Fatal("userinfo accepted an exchanged token")
	}

	// The represented person's "log out everywhere" ends tokens issued for
	// them by exchange too (the representative's own token lives on).
	_, out2 := exchange(t, env, "svc", mfaSecret, url.Values{"subject_token": {forP.AccessToken}, "audience": {"api"}})
	second, _ := out2["access_token"].(string)
	if err := env.Service.EndAllSessions(ctx, pAcct.ID); err != nil {
		t.Fatal(err)
	}
	if in := introspectAs(t, env, "api", second); in["active"] != false {
		t.Fatalf("exchanged token after P logged out everywhere: %v", in)
	}
	if in := introspectAs(t, env, "svc", forP.AccessToken); in["active"] != true {
		t.Fatalf("R's own token after P logged out everywhere: %v", in)
	}

	refusals := []struct {
		name, client, secret string
		form                 url.Values
		want                 string
	}{
		{"two audiences", "svc", mfaSecret, url.Values{"subject_token": {forP.AccessToken}, "audience": {"api", "other"}}, "invalid_target"},
		{"audience and resource differ", "svc", mfaSecret, url.Values{"subject_token": {forP.AccessToken}, "audience": {"api"}, "resource": {"https://other.example"}}, "invalid_target"},
		{"no audience", "svc", mfaSecret, url.Values{"subject_token": {forP.AccessToken}}, "invalid_target"},
		{"unknown audience", "svc", mfaSecret, url.Values{"subject_token": {forP.AccessToken}, "audience": {"nobody"}}, "invalid_target"},
		{"uncovered service", "svc", mfaSecret, url.Values{"subject_token": {forP.AccessToken}, "audience": {"other"}}, "invalid_grant"},
		{"public client", "pub", "", url.Values{"subject_token": {forP.AccessToken}, "audience": {"api"}}, "unauthorized_client"},
		{"client without the grant", "nogrant", mfaSecret, url.Values{"subject_token": {forP.AccessToken}, "audience": {"api"}}, "unauthorized_client"},
		{"token of another client", "svc2", mfaSecret, url.Values{"subject_token": {forP.AccessToken}, "audience": {"api"}}, "invalid_grant"},
		{"acting for oneself", "svc", mfaSecret, url.Values{"subject_token": {forSelf.AccessToken}, "audience": {"api"}}, "invalid_grant"},
		{"refresh token asked", "svc", mfaSecret, url.Values{"subject_token": {forP.AccessToken}, "audience": {"api"},
			"requested_token_type": {"urn:ietf:params:oauth:token-type:refresh_token"}}, "invalid_request"},
		{"actor token", "svc", mfaSecret, url.Values{"subject_token": {forP.AccessToken}, "audience": {"api"},
			"actor_token": {forSelf.AccessToken}, "actor_token_type": {"urn:ietf:params:oauth:token-type:access_token"}}, "invalid_request"},
		{"made-up token", "svc", mfaSecret, url.Values{"subject_token": {"not-a-token"}, "audience": {"api"}}, "invalid_grant"},
		{"exchanged token again", "svc", mfaSecret, url.Values{"subject_token": {exchanged}, "audience": {"api"}}, "invalid_grant"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			status, out := exchange(t, env, tc.client, tc.secret, tc.form)
			if status < 400 || out["error"] != tc.want || out["access_token"] != nil {
				t.Fatalf("status %d %v, want error %s", status, out, tc.want)
			}
		})
	}

	// P ends the representation: the exchanged token goes inactive and no
	// new exchange succeeds.
	if err := env.Orgs.EndRepresentation(ctx, pAcct.ID, rep.ID); err != nil {
		t.Fatal(err)
	}
	if in := introspectAs(t, env, "api", exchanged); in["active"] != false {
		t.Fatalf("exchanged token after the end: %v", in)
	}
	if status, out := exchange(t, env, "svc", mfaSecret, url.Values{"subject_token": {forP.AccessToken}, "audience": {"api"}}); out["error"] != "invalid_grant" {
		t.Fatalf("exchange after the end: %d %v", status, out)
	}
}
