package web_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/kanton/kundencenter/delegation"
	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
	"github.com/kanton/kundencenter/services/api"
)

// TestActForOrganisation: a member assigned a service chooses at login to
// act for the organisation; that service alone gets the "represents" claim
// (ID token, userinfo, introspection, refresh); a service not assigned
// never asks; after the assignment ends, refresh and introspection refuse.
func TestActForOrganisation(t *testing.T) {
	t.Parallel()
	env := idptest.Start(t, idptest.Options{})
	env.AddClient(t, idp.Client{ID: "svc", Name: "Baugesuche", RedirectURIs: []string{mfaRedirect},
		GrantTypes: []string{idp.GrantAuthorizationCode, idp.GrantRefreshToken}}, mfaSecret)
	env.AddClient(t, idp.Client{ID: "other", Name: "Steuern", RedirectURIs: []string{mfaRedirect}}, mfaSecret)
	anna := env.CreateAccount(t, "Anna", "Muster", mfaEmail, mfaPassword)
	ctx := t.Context()
	org, err := env.Orgs.CreateOrg(ctx, anna.ID, delegation.OrgInput{Name: "Muster AG", UID: "CHE-116.281.710",
		Addresses: []delegation.Address{{Street: "Bahnhofstrasse 1", PostalCode: "5000", Town: "Aarau", Country: "CH"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Orgs.SetServices(ctx, anna.ID, org.ID, anna.ID, []string{"svc"}); err != nil {
		t.Fatal(err)
	}
	p, err := oidc.NewProvider(ctx, env.URL)
	if err != nil {
		t.Fatal(err)
	}
	oc := func(client string, scopes ...string) *oauth2.Config {
		return &oauth2.Config{ClientID: client, ClientSecret: mfaSecret, Endpoint: p.Endpoint(), RedirectURL: mfaRedirect,
			Scopes: append([]string{oidc.ScopeOpenID, "profile"}, scopes...)}
	}
	idToken := func(client string, tok *oauth2.Token) map[string]any {
		t.Helper()
		idt, err := p.Verifier(&oidc.Config{ClientID: client}).Verify(ctx, tok.Extra("id_token").(string))
		if err != nil {
			t.Fatal(err)
		}
		var c map[string]any
		idt.Claims(&c)
		return c
	}

	b := env.NewBrowser(t)
	svc := oc("svc", oidc.ScopeOfflineAccess)
	v := oauth2.GenerateVerifier()
	r := b.Open(t, svc.AuthCodeURL("st", oauth2.S256ChallengeOption(v), oidc.Nonce("n")))
	id := r.URL().Query().Get("authRequestID")
	r = b.Post(t, "/login", b.CSRF(t, r.URL().String()), url.Values{"authRequestID": {id}, "email": {mfaEmail}, "password": {mfaPassword}})
	if r.URL().Path != "/login/context" || !strings.Contains(r.Body, "für die Organisation «Muster AG»") ||
		!strings.Contains(r.Body, "für mich selbst (Anna Muster)") {
		t.Fatalf("after the password: %s\n%.600s", r.URL(), r.Body)
	}
	// A made-up or foreign choice is refused; nothing is issued.
	bad := b.Post(t, "/login/context", r.Field("csrf"), url.Values{"authRequestID": {id}, "acting": {"organisation:not-mine"}})
	if bad.Resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("forged choice: status %d at %s", bad.Resp.StatusCode, bad.URL())
	}
	r = b.Post(t, "/login/context", bad.Field("csrf"), url.Values{"authRequestID": {id}, "acting": {"organisation:" + org.ID}})
	tok, err := svc.Exchange(ctx, r.URL().Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatalf("exchange (ended at %s): %v", r.URL(), err)
	}
	claims := idToken("svc", tok)
	rep, _ := claims["represents"].(map[string]any)
	if claims["sub"] != anna.ID || rep["kind"] != "organisation" || rep["id"] != org.ID || rep["name"] != "Muster AG" ||
		rep["uid"] != "CHE-116.281.710" || !strings.Contains(toJSON(rep["roles"]), "admin") {
		t.Fatalf("ID token: %v", claims)
	}
	ui, err := p.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatal(err)
	}
	var uiClaims map[string]any
	ui.Claims(&uiClaims)
	if r, _ := uiClaims["represents"].(map[string]any); r["id"] != org.ID {
		t.Fatalf("userinfo: %v", uiClaims)
	}
	if in := introspectAs(t, env, "svc", tok.AccessToken); in["active"] != true || !strings.Contains(toJSON(in["represents"]), org.ID) {
		t.Fatalf("introspection: %v", in)
	}

	// Another service, not assigned: no question, no claim (SSO).
	other := oc("other")
	v2 := oauth2.GenerateVerifier()
	r = b.Open(t, other.AuthCodeURL("st", oauth2.S256ChallengeOption(v2), oidc.Nonce("n")))
	tok2, err := other.Exchange(ctx, r.URL().Query().Get("code"), oauth2.VerifierOption(v2))
	if err != nil {
		t.Fatalf("other service (ended at %s): %v", r.URL(), err)
	}
	if c := idToken("other", tok2); c["represents"] != nil {
		t.Fatalf("an unassigned service learnt of the organisation: %v", c)
	}

	// The same service again with SSO: the question comes again, "self" gives no claim.
	v3 := oauth2.GenerateVerifier()
	r = b.Open(t, svc.AuthCodeURL("st", oauth2.S256ChallengeOption(v3), oidc.Nonce("n")))
	if r.URL().Path != "/login/context" {
		t.Fatalf("SSO to an assigned service skipped the question: %s", r.URL())
	}
	r = b.Post(t, "/login/context", r.Field("csrf"), url.Values{"authRequestID": {r.URL().Query().Get("authRequestID")}, "acting": {"self"}})
	tok3, err := svc.Exchange(ctx, r.URL().Query().Get("code"), oauth2.VerifierOption(v3))
	if err != nil {
		t.Fatal(err)
	}
	if c := idToken("svc", tok3); c["represents"] != nil {
		t.Fatalf("acting for oneself carries a claim: %v", c)
	}

	// The assignment ends: refresh and introspection of the organisation grant fail.
	if err := env.Orgs.SetServices(ctx, anna.ID, org.ID, anna.ID, nil); err != nil {
		t.Fatal(err)
	}
	if in := introspectAs(t, env, "svc", tok.AccessToken); in["active"] != false {
		t.Fatalf("introspection after the assignment ended: %v", in)
	}
	_, err = svc.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Hour)}).Token()
	var re *oauth2.RetrieveError
	if err == nil || !asRetrieve(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Fatalf("refresh after the assignment ended: %v", err)
	}
	// The grant for oneself still refreshes.
	if tok3.RefreshToken == "" {
		t.Fatal("no refresh token for the own grant despite offline_access")
	}
	if _, err := svc.TokenSource(ctx, &oauth2.Token{RefreshToken: tok3.RefreshToken, Expiry: time.Now().Add(-time.Hour)}).Token(); err != nil {
		t.Fatalf("refresh of the own grant: %v", err)
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func asRetrieve(err error, re **oauth2.RetrieveError) bool {
	e, ok := err.(*oauth2.RetrieveError)
	if ok {
		*re = e
	}
	return ok
}

// introspectAs calls the introspection endpoint as client.
func introspectAs(t *testing.T, env *idptest.Env, client, token string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, env.URL+"/oauth/introspect", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(client, mfaSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestActForRepresentedPerson: R, representing P for one service, chooses
// at login to act for P; that service gets "represents" with P's subject,
// P's timeline shows the use, a service not covered never asks, and when
// P ends the representation the token goes inactive at introspection.
func TestActForRepresentedPerson(t *testing.T) {
	t.Parallel()
	env := idptest.Start(t, idptest.Options{})
	env.AddClient(t, idp.Client{ID: "svc", Name: "Baugesuche", RedirectURIs: []string{mfaRedirect}}, mfaSecret)
	env.AddClient(t, idp.Client{ID: "other", Name: "Steuern", RedirectURIs: []string{mfaRedirect}}, mfaSecret)
	f := newRepFixture(t, env, "svc")
	pAcct, rAcct, rep, p, ctx := f.p, f.r, f.rep, f.oidcIssuer, t.Context()
	oc := func(client string) *oauth2.Config {
		return &oauth2.Config{ClientID: client, ClientSecret: mfaSecret, Endpoint: p.Endpoint(), RedirectURL: mfaRedirect,
			Scopes: []string{oidc.ScopeOpenID}}
	}

	b := env.NewBrowser(t)
	svc := oc("svc")
	v := oauth2.GenerateVerifier()
	r := b.Open(t, svc.AuthCodeURL("st", oauth2.S256ChallengeOption(v), oidc.Nonce("n")))
	id := r.URL().Query().Get("authRequestID")
	r = b.Post(t, "/login", b.CSRF(t, r.URL().String()), url.Values{"authRequestID": {id}, "email": {mfaEmail}, "password": {mfaPassword}})
	if r.URL().Path != "/login/context" || !strings.Contains(r.Body, "als Vertretung für Paula Prinzipal") {
		t.Fatalf("after the password: %s\n%.600s", r.URL(), r.Body)
	}
	r = b.Post(t, "/login/context", r.Field("csrf"), url.Values{"authRequestID": {id}, "acting": {"person:" + rep.ID}})
	tok, err := svc.Exchange(ctx, r.URL().Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatalf("exchange (ended at %s): %v", r.URL(), err)
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: "svc"}).Verify(ctx, tok.Extra("id_token").(string))
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	idt.Claims(&claims)
	repClaim, _ := claims["represents"].(map[string]any)
	if claims["sub"] != rAcct.ID || repClaim["kind"] != "person" || repClaim["sub"] != pAcct.ID ||
		repClaim["name"] != "Paula Prinzipal" || repClaim["representation"] != rep.ID {
		t.Fatalf("ID token: %v", claims)
	}
	events, err := env.Orgs.Timeline(ctx, pAcct.ID, rep.ID)
	if err != nil {
		t.Fatal(err)
	}
	used := false
	for _, e := range events {
		used = used || (e.Action == delegation.RepEventUsed && e.ClientID == "svc")
	}
	if !used {
		t.Fatalf("P's timeline does not show the use: %+v", events)
	}

	// A service the representation does not cover: no question.
	other := oc("other")
	v2 := oauth2.GenerateVerifier()
	r = b.Open(t, other.AuthCodeURL("st", oauth2.S256ChallengeOption(v2), oidc.Nonce("n")))
	if r.URL().Query().Get("code") == "" {
		t.Fatalf("uncovered service: ended at %s", r.URL())
	}

	// P ends it: R's token for P goes inactive at once.
	if in := introspectAs(t, env, "svc", tok.AccessToken); in["active"] != true {
		t.Fatalf("introspection while active: %v", in)
	}
	if err := env.Orgs.EndRepresentation(ctx, pAcct.ID, rep.ID); err != nil {
		t.Fatal(err)
	}
	if in := introspectAs(t, env, "svc", tok.AccessToken); in["active"] != false {
		t.Fatalf("introspection after the end: %v", in)
	}
	// And the next login to the service no longer asks.
	v3 := oauth2.GenerateVerifier()
	r = b.Open(t, svc.AuthCodeURL("st", oauth2.S256ChallengeOption(v3), oidc.Nonce("n")))
	if r.URL().Query().Get("code") == "" {
		t.Fatalf("after the end: ended at %s", r.URL())
	}
}

// repFixture is an IdP where Anna (R) represents Paula (P), confirmed, for
// the given services.
type repFixture struct {
	env        *idptest.Env
	p, r       idp.Account
	rep        delegation.Representation
	oidcIssuer *oidc.Provider
}

func newRepFixture(t *testing.T, env *idptest.Env, services ...string) *repFixture {
	t.Helper()
	f := &repFixture{env: env}
	f.p = env.CreateAccount(t, "Paula", "Prinzipal", "paula@example.ch", mfaPassword)
	f.r = env.CreateAccount(t, "Anna", "Muster", mfaEmail, mfaPassword)
	ctx := t.Context()
	rep, code, err := env.Orgs.CreateRepresentation(ctx, f.p.ID, delegation.RepInput{Services: services})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Orgs.Accept(ctx, f.r.ID, code, "203.0.113.9"); err != nil {
		t.Fatal(err)
	}
	if f.rep, err = env.Orgs.Confirm(ctx, f.p.ID, rep.ID); err != nil {
		t.Fatal(err)
	}
	if f.oidcIssuer, err = oidc.NewProvider(ctx, env.URL); err != nil {
		t.Fatal(err)
	}
	return f
}

// login logs R in to client with a fresh browser, choosing acting
// ("self" or "person:<id>"), and returns the tokens.
func (f *repFixture) login(t *testing.T, client, acting string) *oauth2.Token {
	t.Helper()
	oc := &oauth2.Config{ClientID: client, ClientSecret: mfaSecret, Endpoint: f.oidcIssuer.Endpoint(), RedirectURL: mfaRedirect,
		Scopes: []string{oidc.ScopeOpenID, "profile"}}
	b := f.env.NewBrowser(t)
	v := oauth2.GenerateVerifier()
	r := b.Open(t, oc.AuthCodeURL("st", oauth2.S256ChallengeOption(v), oidc.Nonce("n")))
	id := r.URL().Query().Get("authRequestID")
	r = b.Post(t, "/login", b.CSRF(t, r.URL().String()), url.Values{"authRequestID": {id}, "email": {mfaEmail}, "password": {mfaPassword}})
	r = b.Post(t, "/login/context", r.Field("csrf"), url.Values{"authRequestID": {id}, "acting": {acting}})
	tok, err := oc.Exchange(t.Context(), r.URL().Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatalf("login acting %s (ended at %s): %v", acting, r.URL(), err)
	}
	return tok
}

// postAction reports an action through the action-receipt API.
func postAction(t *testing.T, env *idptest.Env, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, env.URL+"/api/representation-actions", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
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

// TestActionReceipts: a service reports what it did for P with R's token
// acting for P; P's timeline shows it; other tokens and bodies are refused
// with an OAuth error, and after the end of the representation too.
func TestActionReceipts(t *testing.T) {
	t.Parallel()
	env := idptest.Start(t, idptest.Options{})
	env.AddClient(t, idp.Client{ID: "svc", Name: "Baugesuche", RedirectURIs: []string{mfaRedirect},
		GrantTypes: []string{idp.GrantAuthorizationCode, idp.GrantClientCredentials}, Scopes: []string{idp.ScopeActionReceipts}}, mfaSecret)
	env.AddClient(t, idp.Client{ID: "uncovered", Name: "Steuern", RedirectURIs: []string{mfaRedirect},
		GrantTypes: []string{idp.GrantClientCredentials}, Scopes: []string{idp.ScopeActionReceipts}}, mfaSecret)
	f := newRepFixture(t, env, "svc")
	forP, forSelf := f.login(t, "svc", "person:"+f.rep.ID), f.login(t, "svc", "self")

	if status, out := postAction(t, env, forP.AccessToken, `{"action": "Baugesuch 2026-117 eingereicht"}`); status != http.StatusAccepted {
		t.Fatalf("good receipt: %d %v", status, out)
	}
	events, err := env.Orgs.Timeline(t.Context(), f.p.ID, f.rep.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(events, func(e delegation.RepEvent) bool {
		return e.Action == delegation.RepEventAction && e.ClientID == "svc" && e.Detail == "Baugesuch 2026-117 eingereicht"
	}) {
		t.Fatalf("timeline lacks the action: %+v", events)
	}
	stored, err := env.Store.(delegation.Store).ListRepEvents(t.Context(), f.rep.ID, 50)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range stored {
		if strings.Contains(e.Detail, "Baugesuch") {
			t.Fatalf("the action text is stored in clear: %q", e.Detail)
		}
	}
	for _, tc := range []struct {
		name, token, body string
		status            int
		code              string
	}{
		{"no token", "", `{"action": "x"}`, http.StatusUnauthorized, "invalid_token"},
		{"made-up token", "abc", `{"action": "x"}`, http.StatusUnauthorized, "invalid_token"},
		{"token for oneself", forSelf.AccessToken, `{"action": "x"}`, http.StatusForbidden, "insufficient_scope"},
		{"not JSON", forP.AccessToken, `action=x`, http.StatusBadRequest, "invalid_request"},
		{"unknown field", forP.AccessToken, `{"action": "x", "principal": "someone"}`, http.StatusBadRequest, "invalid_request"},
		{"empty action", forP.AccessToken, `{"action": " "}`, http.StatusBadRequest, "invalid_request"},
		{"markup", forP.AccessToken, `{"action": "<script>"}`, http.StatusBadRequest, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, out := postAction(t, env, tc.token, tc.body)
			if status != tc.status || out["error"] != tc.code {
				t.Fatalf("%d %v, want %d %s", status, out, tc.status, tc.code)
			}
		})
	}
	// A service reports with its own client-credentials token, naming the
	// representation and the representative from the login's claim.
	svc := api.NewActionReceipts(api.ClientConfig{Issuer: env.URL, ClientID: "svc", ClientSecret: mfaSecret})
	if err := svc.Record(t.Context(), f.rep.ID, f.r.ID, "Hund anmelden gesendet (2026-000123-4)"); err != nil {
		t.Fatalf("service receipt: %v", err)
	}
	if events, err = env.Orgs.Timeline(t.Context(), f.p.ID, f.rep.ID); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(events, func(e delegation.RepEvent) bool { return e.Detail == "Hund anmelden gesendet (2026-000123-4)" }) {
		t.Fatalf("timeline lacks the service's receipt: %+v", events)
	}
	statusOf := func(err error) int {
		var se *api.StatusError
		if errors.As(err, &se) {
			return se.Status
		}
		return 0
	}
	if err := svc.Record(t.Context(), f.rep.ID, f.p.ID, "x"); statusOf(err) != http.StatusUnauthorized {
		t.Errorf("the principal named as actor: %v, want 401", err)
	}
	uncovered := api.NewActionReceipts(api.ClientConfig{Issuer: env.URL, ClientID: "uncovered", ClientSecret: mfaSecret})
	if err := uncovered.Record(t.Context(), f.rep.ID, f.r.ID, "x"); statusOf(err) != http.StatusUnauthorized {
		t.Errorf("a service the representation does not cover: %v, want 401", err)
	}
	if status, out := postAction(t, env, forP.AccessToken, `{"action": "x", "representation": "`+f.rep.ID+`", "actor": "`+f.r.ID+`"}`); status != http.StatusBadRequest {
		t.Errorf("a person's token naming representation and actor: %d %v, want 400", status, out)
	}

	if err := env.Orgs.EndRepresentation(t.Context(), f.p.ID, f.rep.ID); err != nil {
		t.Fatal(err)
	}
	if err := svc.Record(t.Context(), f.rep.ID, f.r.ID, "late"); statusOf(err) != http.StatusUnauthorized {
		t.Errorf("service receipt after the end: %v, want 401", err)
	}
	if status, out := postAction(t, env, forP.AccessToken, `{"action": "late"}`); status != http.StatusUnauthorized {
		t.Fatalf("after the end: %d %v", status, out)
	}
}

// TestSecondRepresentationKeepsFirst: a second representation between the
// same two people (to add a service) does not end the first one's grants.
func TestSecondRepresentationKeepsFirst(t *testing.T) {
	t.Parallel()
	env := idptest.Start(t, idptest.Options{})
	env.AddClient(t, idp.Client{ID: "svc", Name: "Baugesuche", RedirectURIs: []string{mfaRedirect}}, mfaSecret)
	env.AddClient(t, idp.Client{ID: "other", Name: "Steuern", RedirectURIs: []string{mfaRedirect}}, mfaSecret)
	f := newRepFixture(t, env, "svc")
	tok := f.login(t, "svc", "person:"+f.rep.ID)
	ctx := t.Context()
	second, code, err := env.Orgs.CreateRepresentation(ctx, f.p.ID, delegation.RepInput{Services: []string{"svc", "other"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Orgs.Accept(ctx, f.r.ID, code, "203.0.113.9"); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Orgs.Confirm(ctx, f.p.ID, second.ID); err != nil {
		t.Fatal(err)
	}
	if in := introspectAs(t, env, "svc", tok.AccessToken); in["active"] != true || !strings.Contains(toJSON(in["represents"]), f.rep.ID) {
		t.Fatalf("the first representation's token after a second one: %v", in)
	}
}
