package provider_test

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
	"github.com/kanton/kundencenter/keyring"
	"github.com/kanton/kundencenter/mfa/twilio/twiliotest"
)

// TestMultiInstance runs three IdP instances on one PostgreSQL and one
// Redis behind a non-sticky round-robin proxy: every request of a login,
// code exchange, refresh, introspection and logout may land on another
// instance, so nothing may live in one instance's memory.
func TestMultiInstance(t *testing.T) {
	store, eph := idptest.Postgres(t), idptest.Redis(t)
	ring, err := keyring.Parse(keyring.Generate())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + ln.Addr().String()
	var backends []*url.URL
	var envs []*idptest.Env
	tw := twiliotest.New()
	t.Cleanup(tw.Close)
	for range 3 {
		e := idptest.Start(t, idptest.Options{Store: store, Eph: eph, Ring: ring, Issuer: issuer, Twilio: tw})
		u, _ := url.Parse(e.Addr)
		backends = append(backends, u)
		envs = append(envs, e)
	}
	var next atomic.Uint64
	hits := make([]atomic.Int64, len(backends))
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		i := next.Add(1) % uint64(len(backends))
		hits[i].Add(1)
		r.SetURL(backends[i])
		r.Out.Host = r.In.Host
	}}
	srv := &http.Server{Handler: proxy, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	envs[0].AddClient(t, idp.Client{ID: "rp", RedirectURIs: []string{redirect}}, secret)
	envs[0].AddClient(t, idp.Client{ID: "strong", RedirectURIs: []string{redirect}, Level: idp.LevelSubstantial}, secret)
	for _, e := range envs[1:] {
		if err := e.Clients.Load(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	envs[1].CreateAccount(t, "Anna", "Muster", email, password)
	// All instances must sign with the same key set: reload after the
	// first instance created it.
	for _, e := range envs {
		if err := e.Keys.Load(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	ctx := t.Context()
	p, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{env: &idptest.Env{URL: issuer, Store: store}, provider: p,
		oauth: &oauth2.Config{ClientID: "rp", ClientSecret: secret, Endpoint: p.Endpoint(), RedirectURL: redirect,
			Scopes: []string{oidc.ScopeOpenID, "profile", oidc.ScopeOfflineAccess}},
		verifier: p.Verifier(&oidc.Config{ClientID: "rp"})}
	b := envs[0].NewBrowser(t)
	b.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Host != ln.Addr().String() {
			return http.ErrUseLastResponse
		}
		return nil
	}
	for round := range 3 {
		v := oauth2.GenerateVerifier()
		resp, err := b.Get(f.oauth.AuthCodeURL("s", oauth2.S256ChallengeOption(v), oidc.Nonce("n")))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		var code string
		if loc, _ := url.Parse(resp.Header.Get("Location")); loc != nil && loc.Query().Get("code") != "" {
			code = loc.Query().Get("code") // SSO from round 2 on
		} else {
			id := resp.Request.URL.Query().Get("authRequestID")
			csrf := b.CSRF(t, issuer+"/login?authRequestID="+id)
			form := url.Values{"csrf": {csrf}, "authRequestID": {id}, "email": {email}, "password": {password}}
			resp, err := b.PostForm(issuer+"/login", form)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			loc, _ := url.Parse(resp.Header.Get("Location"))
			if loc == nil || loc.Query().Get("code") == "" {
				t.Fatalf("round %d: login did not return a code (status %d)", round, resp.StatusCode)
			}
			code = loc.Query().Get("code")
		}
		tok, err := f.oauth.Exchange(ctx, code, oauth2.VerifierOption(v))
		if err != nil {
			t.Fatalf("round %d: exchange: %v", round, err)
		}
		if _, err := f.verifier.Verify(ctx, tok.Extra("id_token").(string)); err != nil {
			t.Fatalf("round %d: id token: %v", round, err)
		}
		for range 3 {
			if introspect(t, f, tok.AccessToken)["active"] != true {
				t.Fatalf("round %d: token inactive on some instance", round)
			}
		}
		if _, err := f.oauth.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Hour)}).Token(); err != nil {
			t.Fatalf("round %d: refresh: %v", round, err)
		}
	}

	// Second factor across instances: enrol a number (the login
	// transaction, SMS challenge and session all live in Redis), then a
	// fresh browser logs in to a two-factor service with the SMS code.
	r := b.Submit(t, issuer+"/security", "/security/phone", url.Values{"phone": {"079 123 45 67"}})
	code, _ := tw.LastCode("+41791234567")
	r = b.Post(t, "/security/phone/confirm", r.Field("csrf"), url.Values{"challenge": {r.Field("challenge")}, "code": {code}})
	if r.URL().Query().Get("done") != "phone_added" {
		t.Fatalf("enrolment across instances ended at %s", r.URL())
	}
	b2 := envs[0].NewBrowser(t)
	b2.CheckRedirect = b.CheckRedirect
	strong := *f.oauth
	strong.ClientID = "strong"
	v := oauth2.GenerateVerifier()
	r = b2.Open(t, strong.AuthCodeURL("s", oauth2.S256ChallengeOption(v), oidc.Nonce("n")))
	id := r.URL().Query().Get("authRequestID")
	r = b2.Post(t, "/login", b2.CSRF(t, r.URL().String()), url.Values{"authRequestID": {id}, "email": {email}, "password": {password}})
	if r.URL().Path != "/login/mfa" {
		t.Fatalf("two-factor service: ended at %s", r.URL())
	}
	r = b2.Post(t, "/login/mfa/sms", r.Field("csrf"), nil)
	code, _ = tw.LastCode("+41791234567")
	r = b2.Post(t, "/login/mfa/sms/verify", r.Field("csrf"), url.Values{"code": {code}})
	tok, err := strong.Exchange(ctx, r.URL().Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatalf("exchange after SMS across instances (ended at %s): %v", r.URL(), err)
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: "strong"}).Verify(ctx, tok.Extra("id_token").(string))
	if err != nil {
		t.Fatal(err)
	}
	var claims struct{ ACR string }
	idt.Claims(&claims)
	if claims.ACR != idp.LevelSubstantial {
		t.Fatalf("acr after SMS across instances: %q", claims.ACR)
	}
	for i := range hits {
		if hits[i].Load() == 0 {
			t.Fatalf("instance %d got no request: %v", i, hits)
		}
	}
}
