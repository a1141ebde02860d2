package provider_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
)

const (
	taxSector  = "steuern.example.ch"
	postLogout = "http://localhost:9999/logged-out"
)

// addPairwise registers the clients of the pairwise tests beside the
// fixture's public "rp": tax and tax2 share the sector steuern.example.ch
// (tax with JWT access tokens), dogs has the sector of its redirect URI's
// host (localhost).
func addPairwise(t *testing.T, f *fixture) {
	t.Helper()
	grants := []string{idp.GrantAuthorizationCode, idp.GrantRefreshToken}
	for _, c := range []idp.Client{
		{ID: "tax", SubjectType: idp.SubjectPairwise, SectorIdentifier: taxSector, AccessTokenType: "jwt"},
		{ID: "tax2", SubjectType: idp.SubjectPairwise, SectorIdentifier: taxSector},
		{ID: "dogs", SubjectType: idp.SubjectPairwise},
	} {
		c.RedirectURIs, c.PostLogoutRedirectURIs, c.GrantTypes = []string{redirect}, []string{postLogout}, grants
		f.env.AddClient(t, c, secret)
	}
}

// oauthFor is the fixture's OAuth configuration for another client.
func (f *fixture) oauthFor(clientID string) *oauth2.Config {
	c := *f.oauth
	c.ClientID = clientID
	return &c
}

// loginAt runs the code flow for clientID in browser b and returns the tokens.
func (f *fixture) loginAt(t *testing.T, b *idptest.Browser, clientID string, opts ...oauth2.AuthCodeOption) *oauth2.Token {
	t.Helper()
	oc := f.oauthFor(clientID)
	v := oauth2.GenerateVerifier()
	opts = append(opts, oauth2.S256ChallengeOption(v), oidc.Nonce("n"))
	u := b.Authorize(t, oc.AuthCodeURL("st", opts...), email, password)
	if u.Query().Get("code") == "" {
		t.Fatalf("%s: no code: %s", clientID, u)
	}
	tok, err := oc.Exchange(t.Context(), u.Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatalf("%s: exchange: %v", clientID, err)
	}
	return tok
}

// subjectsOf returns the sub of every place the client sees it for the
// tokens tok: ID token, userinfo, introspection by the client, a JWT
// access token's claims (if it is one), and the ID token after a refresh.
func (f *fixture) subjectsOf(t *testing.T, clientID string, tok *oauth2.Token) []string {
	t.Helper()
	ctx := t.Context()
	verifier := f.provider.Verifier(&oidc.Config{ClientID: clientID})
	idTok, err := verifier.Verify(ctx, tok.Extra("id_token").(string))
	if err != nil {
		t.Fatalf("%s: ID token: %v", clientID, err)
	}
	subs := []string{idTok.Subject}
	info, err := f.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("%s: userinfo: %v", clientID, err)
	}
	subs = append(subs, info.Subject)
	_, _, in := postClient(t, f.env, "/oauth/introspect", clientID, secret, url.Values{"token": {tok.AccessToken}})
	if in["active"] != true {
		t.Fatalf("%s: introspection: %v", clientID, in)
	}
	sub, _ := in["sub"].(string)
	subs = append(subs, sub)
	if strings.Count(tok.AccessToken, ".") == 2 {
		at, err := f.provider.VerifierContext(ctx, &oidc.Config{SkipClientIDCheck: true}).Verify(ctx, tok.AccessToken)
		if err != nil {
			t.Fatalf("%s: JWT access token: %v", clientID, err)
		}
		subs = append(subs, at.Subject)
	}
	refreshed, err := f.oauthFor(clientID).TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken,
		Expiry: time.Now().Add(-time.Hour)}).Token()
	if err != nil {
		t.Fatalf("%s: refresh: %v", clientID, err)
	}
	again, err := verifier.Verify(ctx, refreshed.Extra("id_token").(string))
	if err != nil {
		t.Fatalf("%s: refreshed ID token: %v", clientID, err)
	}
	info, err = f.provider.UserInfo(ctx, oauth2.StaticTokenSource(refreshed))
	if err != nil {
		t.Fatalf("%s: userinfo after refresh: %v", clientID, err)
	}
	return append(subs, again.Subject, info.Subject)
}

// TestPairwiseSubjects: a pairwise client sees its own sub (HMAC of its
// sector and the account), the same in the ID token, userinfo,
// introspection, the JWT access token and after a refresh, and the same at
// the next login; clients of one sector agree, clients of two sectors
// differ, and a public client keeps seeing the account ID.
func TestPairwiseSubjects(t *testing.T) { backends(t, testPairwiseSubjects) }

func testPairwiseSubjects(t *testing.T, f *fixture) {
	ctx := t.Context()
	addPairwise(t, f)
	acct, err := f.env.Store.GetAccountByEmailIndex(ctx, f.env.Service.EmailIndex(email))
	if err != nil {
		t.Fatal(err)
	}
	derive := idp.NewSubjects(f.env.Ring)
	want := map[string]string{"rp": acct.ID, "tax": derive.Pairwise(taxSector, acct.ID),
		"tax2": derive.Pairwise(taxSector, acct.ID), "dogs": derive.Pairwise("localhost", acct.ID)}
	for _, client := range []string{"rp", "tax", "tax2", "dogs"} {
		// Two logins in two browsers: the subject is stable.
		for i := range 2 {
			subs := f.subjectsOf(t, client, f.loginAt(t, f.env.NewBrowser(t), client))
			for _, s := range subs {
				if s != want[client] {
					t.Fatalf("%s login %d: subjects %q, want %q everywhere", client, i+1, subs, want[client])
				}
			}
		}
	}
	if len(want["tax"]) != 43 || want["tax"] == acct.ID || want["tax"] == want["dogs"] {
		t.Fatalf("pairwise values: tax %q dogs %q account %q", want["tax"], want["dogs"], acct.ID)
	}
	// The mapping back was written when the subject was first issued.
	for sector, sub := range map[string]string{taxSector: want["tax"], "localhost": want["dogs"]} {
		if got, err := f.env.Store.PairwiseAccount(ctx, sector, sub); err != nil || got != acct.ID {
			t.Fatalf("mapping of %s in %s: %q %v", sub, sector, got, err)
		}
	}
	// The IdP's own tokens for a service's summary API name the person
	// as that service knows them.
	minted, err := f.env.Provider.MintAccessToken(ctx, acct.ID, "tax", []string{"summary:read"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, in := postClient(t, f.env, "/oauth/introspect", "tax", secret, url.Values{"token": {minted}}); in["active"] != true || in["sub"] != want["tax"] {
		t.Fatalf("introspection of a minted token: %v, want sub %q", in, want["tax"])
	}
	var d struct {
		SubjectTypes []string `json:"subject_types_supported"`
	}
	if err := f.provider.Claims(&d); err != nil || !slices.Equal(d.SubjectTypes, []string{"public", "pairwise"}) {
		t.Fatalf("discovery subject_types_supported: %v %v", d.SubjectTypes, err)
	}
}

// TestPairwiseIDTokenHint: an id_token_hint carrying a pairwise sub is
// mapped back to the account at /authorize (prompt=none gets a code from
// the SSO session) and at /end_session (the session ends without asking);
// a hint with another sector's subject is refused.
func TestPairwiseIDTokenHint(t *testing.T) { backends(t, testPairwiseIDTokenHint) }

func testPairwiseIDTokenHint(t *testing.T, f *fixture) {
	addPairwise(t, f)
	b := f.env.NewBrowser(t)
	taxTok := f.loginAt(t, b, "tax")
	dogsTok := f.loginAt(t, b, "dogs") // SSO
	taxHint, dogsHint := taxTok.Extra("id_token").(string), dogsTok.Extra("id_token").(string)

	u := b.Authorize(t, f.oauthFor("tax").AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()),
		oauth2.SetAuthURLParam("prompt", "none"), oauth2.SetAuthURLParam("id_token_hint", taxHint)), "", "")
	if u.Query().Get("code") == "" {
		t.Fatalf("prompt=none with the client's own pairwise hint: %s", u)
	}
	u = b.Authorize(t, f.oauthFor("tax").AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()),
		oauth2.SetAuthURLParam("prompt", "none"), oauth2.SetAuthURLParam("id_token_hint", dogsHint)), "", "")
	if u.Query().Get("code") != "" || u.Query().Get("error") == "" {
		t.Fatalf("prompt=none with another sector's hint: %s", u)
	}

	resp, err := b.Get(f.env.URL + "/end_session?" + url.Values{"id_token_hint": {taxHint},
		"post_logout_redirect_uri": {postLogout}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != postLogout {
		t.Fatalf("end_session with a pairwise hint asked instead of ending the session: %d %s %s",
			resp.StatusCode, resp.Request.URL, resp.Header.Get("Location"))
	}
	_, _, in := postClient(t, f.env, "/oauth/introspect", "tax", secret, url.Values{"token": {taxTok.AccessToken}})
	if in["active"] != false {
		t.Fatalf("access token active after the logout: %v", in)
	}
}
