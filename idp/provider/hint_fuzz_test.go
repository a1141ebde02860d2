package provider_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
)

// FuzzEndSessionHint sends arbitrary id_token_hints to /end_session and
// /authorize: raw strings, and arbitrary payloads signed with the IdP's
// real key under an arbitrary typ. No hint may crash the IdP or answer
// 5xx, and a signed logout token or Security Event Token (anything with
// "events" or "sub_id", or a typ other than JWT) is never taken as a hint.
// testdata/fuzz/FuzzEndSessionHint keeps the inputs that found the bugs
// hint.go fixes.
func FuzzEndSessionHint(f *testing.F) {
	env := idptest.Start(f, idptest.Options{})
	env.AddClient(f, idp.Client{ID: "rp", RedirectURIs: []string{redirect},
		GrantTypes: []string{idp.GrantAuthorizationCode}}, secret)
	now := time.Now().Unix()
	idClaims := `{"iss":"` + env.URL + `","sub":"acc-1","aud":["rp"],"azp":"rp","iat":` + itoa(now) + `,"exp":` + itoa(now+300) + `}`
	f.Add("", "JWT", []byte(idClaims))
	f.Add("", "JWT", []byte(`null`))
	f.Add("", "JWT", []byte(`{"iss":null}`))
	f.Add("", "JWT", []byte(`{"iss":"`+env.URL+`","sub":"a","aud":null,"exp":1,"iat":1}`))
	f.Add("", "logout+jwt", []byte(`{"iss":"`+env.URL+`","sub":"a","aud":"rp","iat":1,"jti":"j","events":{"http://schemas.openid.net/event/backchannel-logout":{}}}`))
	f.Add("", "secevent+jwt", []byte(`{"iss":"`+env.URL+`","aud":"rp","iat":1,"jti":"j","sub_id":{"format":"iss_sub","iss":"`+env.URL+`","sub":"a"},"events":{"x":{}}}`))
	f.Add("", "", []byte(idClaims))
	f.Add("", "JWT", []byte(`{"iss":"`+env.URL+`","sub":"a","aud":"rp","exp":1e400,"iat":1}`))
	f.Add("x", "", []byte(nil))
	f.Add("a.b.c", "", []byte(nil))
	f.Add("eyJhbGciOiJub25lIn0.bnVsbA.", "", []byte(nil))
	k := env.Keys.SigningKey()
	f.Fuzz(func(t *testing.T, raw, typ string, payload []byte) {
		// "$ISS" in a payload stands for the issuer, which differs per run
		// (the seed corpus in testdata uses it).
		payload = bytes.ReplaceAll(payload, []byte("$ISS"), []byte(env.URL))
		hint := raw
		if raw == "" {
			signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: k.Key(), KeyID: k.ID()}},
				(&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
			if err != nil {
				return
			}
			jws, err := signer.Sign(payload)
			if err != nil {
				return
			}
			if hint, err = jws.CompactSerialize(); err != nil {
				return
			}
		}
		var c map[string]json.RawMessage
		notID := raw == "" && (typ != "JWT" || json.Unmarshal(payload, &c) != nil || c == nil || c["events"] != nil || c["sub_id"] != nil)
		for _, endpoint := range []string{"/end_session", "/authorize"} {
			rec := hintRequest(t, env, endpoint, hint) // a panic fails the run
			if rec.Code >= 500 {
				t.Fatalf("%s with hint %q: status %d", endpoint, hint, rec.Code)
			}
			loc := rec.Header().Get("Location")
			if accepted := strings.Contains(loc, "logoutID=") || strings.Contains(loc, "authRequestID="); accepted && notID {
				t.Fatalf("%s took typ %q claims %s as an ID token hint", endpoint, typ, payload)
			}
		}
	})
}
