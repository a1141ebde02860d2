package provider_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kanton/kundencenter/idp/idptest"
)

// hintRequest sends hint as id_token_hint to /end_session or /authorize
// (the rp client's code flow) straight into the IdP's handler, so that a
// panic fails the test instead of ending a connection.
func hintRequest(t testing.TB, env *idptest.Env, endpoint, hint string) *httptest.ResponseRecorder {
	t.Helper()
	q := url.Values{"id_token_hint": {hint}}
	if endpoint == "/authorize" {
		q.Set("client_id", "rp")
		q.Set("redirect_uri", redirect)
		q.Set("response_type", "code")
		q.Set("scope", "openid")
		q.Set("state", "s")
		q.Set("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
		q.Set("code_challenge_method", "S256")
	}
	req := httptest.NewRequest(http.MethodGet, env.URL+endpoint+"?"+q.Encode(), nil)
	rec := httptest.NewRecorder()
	env.Server.Handler.ServeHTTP(rec, req)
	return rec
}

// sign signs a raw JSON payload with the IdP's active key and typ.
func sign(t testing.TB, env *idptest.Env, typ, payload string) string {
	t.Helper()
	tok, err := env.Keys.SignJWT(typ, json.RawMessage(payload))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestIDTokenHintGuard: only the IdP's own ID tokens are id_token_hints.
// A validly signed hint whose claims are JSON null (zitadel dereferenced
// the nil claims before checking the signature) or of odd types, a logout
// token and a Security Event Token (signed with the same keys) are
// refused at /end_session and /authorize without reaching zitadel; a real
// ID token, even expired, still is a hint.
func TestIDTokenHintGuard(t *testing.T) {
	f := newFixture(t)
	env := f.env
	now := time.Now().Unix()
	claims := func(extra string) string {
		return `{"iss":"` + env.URL + `","sub":"acc-1","aud":["rp"],"iat":` + itoa(now) + `,"exp":` + itoa(now+300) + extra + `}`
	}
	bad := []struct{ name, hint string }{
		{"null claims", sign(t, env, "JWT", `null`)},
		{"array claims", sign(t, env, "JWT", `[1,2]`)},
		{"string claims", sign(t, env, "JWT", `"x"`)},
		{"null iss", sign(t, env, "JWT", `{"iss":null,"sub":"acc-1","aud":"rp"}`)},
		{"numeric sub", sign(t, env, "JWT", `{"iss":"`+env.URL+`","sub":5,"aud":"rp","exp":1,"iat":1}`)},
		{"aud object", sign(t, env, "JWT", `{"iss":"`+env.URL+`","sub":"a","aud":{"x":1},"exp":1,"iat":1}`)},
		{"exp string", sign(t, env, "JWT", `{"iss":"`+env.URL+`","sub":"a","aud":"rp","exp":"soon","iat":1}`)},
		{"logout token", sign(t, env, "logout+jwt", claims(`,"jti":"j1","events":{"http://schemas.openid.net/event/backchannel-logout":{}}`))},
		{"logout token typed JWT", sign(t, env, "JWT", claims(`,"jti":"j1","events":{"http://schemas.openid.net/event/backchannel-logout":{}}`))},
		{"security event token", sign(t, env, "secevent+jwt", `{"iss":"`+env.URL+`","aud":"rp","iat":1,"jti":"j2","sub_id":{"format":"iss_sub","iss":"`+env.URL+`","sub":"acc-1"},"events":{"https://schemas.openid.net/secevent/risc/event-type/account-disabled":{}}}`)},
		{"unsigned", strings.Join(strings.Split(sign(t, env, "JWT", claims("")), ".")[:2], ".") + "."},
		{"garbage", "not a token"},
		{"huge", strings.Repeat("A", 20000)},
	}
	for _, endpoint := range []string{"/end_session", "/authorize"} {
		for _, tc := range bad {
			t.Run(strings.TrimPrefix(endpoint, "/")+"/"+tc.name, func(t *testing.T) {
				rec := hintRequest(t, env, endpoint, tc.hint)
				loc := rec.Header().Get("Location")
				if rec.Code == http.StatusOK || rec.Code >= 500 || strings.Contains(loc, "logoutID=") || strings.Contains(loc, "authRequestID=") {
					t.Errorf("%s accepted the hint: %d %s %.200s", endpoint, rec.Code, loc, rec.Body.String())
				}
			})
		}
	}

	// A real ID token, also an expired one, is a hint.
	tok := f.tokens(t, env.NewBrowser(t))
	idt, _ := tok.Extra("id_token").(string)
	for _, endpoint := range []string{"/end_session", "/authorize"} {
		rec := hintRequest(t, env, endpoint, idt)
		loc := rec.Header().Get("Location")
		if !strings.Contains(loc, "logoutID=") && !strings.Contains(loc, "authRequestID=") {
			t.Errorf("%s refused the ID token as a hint: %d %s %.300s", endpoint, rec.Code, loc, rec.Body.String())
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
