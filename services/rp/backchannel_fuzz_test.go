package rp_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kanton/kundencenter/services/rp"
)

const bclEvent = "http://schemas.openid.net/event/backchannel-logout"

// FuzzBackChannelLogout posts arbitrary logout tokens to a service: raw
// strings, and arbitrary claims and typ signed with the IdP's real key. A
// token is accepted only when every rule of Back-Channel Logout §2.6
// holds for its claims (typ logout+jwt, iss, aud, fresh iat, exp, jti, no
// nonce, sid or sub, the event); a signed token with one signature byte
// changed, and any token a second time, are refused.
func FuzzBackChannelLogout(f *testing.F) {
	h := newHarness(f, nil)
	now := time.Now().Unix()
	claims := func(mod func(map[string]any)) []byte {
		c := map[string]any{"iss": h.op.Issuer, "aud": clientID, "iat": now, "exp": now + 60, "jti": "JTI",
			"sid": "sid-1", "events": map[string]any{bclEvent: map[string]any{}}}
		if mod != nil {
			mod(c)
		}
		raw, _ := json.Marshal(c)
		return raw
	}
	f.Add("", claims(nil), "logout+jwt")
	f.Add("", claims(nil), "JWT")
	f.Add("", claims(func(c map[string]any) { c["aud"] = []string{"other", clientID} }), "logout+jwt")
	f.Add("", claims(func(c map[string]any) { c["nonce"] = "n" }), "logout+jwt")
	f.Add("", claims(func(c map[string]any) { delete(c, "sid"); c["sub"] = "anna" }), "logout+jwt")
	f.Add("", claims(func(c map[string]any) { delete(c, "sid") }), "logout+jwt")
	f.Add("", claims(func(c map[string]any) { c["iat"] = now - 3600 }), "logout+jwt")
	f.Add("", claims(func(c map[string]any) { c["iat"] = "now" }), "logout+jwt")
	f.Add("", claims(func(c map[string]any) { c["events"] = map[string]any{bclEvent: nil} }), "logout+jwt")
	f.Add("", claims(func(c map[string]any) { c["iss"] = h.op.Issuer + "/" }), "logout+jwt")
	f.Add("", []byte(`{"iss":1}`), "logout+jwt")
	f.Add("", []byte(`null`), "logout+jwt")
	f.Add("eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.", []byte(nil), "")
	f.Add("a.b.c", []byte(nil), "")
	f.Add(`{"payload":"e30","signatures":[]}`, []byte(nil), "")
	jti := 0
	f.Fuzz(func(t *testing.T, raw string, payload []byte, typ string) {
		post := func(token string) int {
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodPost, rp.BackChannelLogoutPath,
				strings.NewReader(url.Values{"logout_token": {token}}.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			h.client.BackChannelLogout(w, r)
			return w.Code
		}
		if raw != "" {
			if code := post(raw); code != http.StatusBadRequest {
				t.Fatalf("an unsigned token %q: status %d, want 400", raw, code)
			}
			return
		}
		// A fresh jti per run, so that runs do not replay each other.
		var c map[string]json.RawMessage
		if json.Unmarshal(payload, &c) == nil && c != nil {
			if _, ok := c["jti"]; ok {
				jti++
				c["jti"], _ = json.Marshal("JTI-" + time.Now().Format(time.RFC3339Nano) + "-" + string(rune('a'+jti%26)))
				payload, _ = json.Marshal(c)
			}
		}
		token, err := h.op.Sign(typ, payload)
		if err != nil {
			return // typ or payload jose cannot sign
		}
		want := logoutTokenValid(h.op.Issuer, typ, payload, time.Now())
		tampered := []byte(token)
		tampered[len(tampered)-2] ^= 0x01
		if tampered[len(tampered)-2] == '-' || tampered[len(tampered)-2] == '_' || tampered[len(tampered)-2] > 'z' {
			tampered[len(tampered)-2] = 'A'
		}
		if string(tampered) != token {
			if code := post(string(tampered)); code != http.StatusBadRequest {
				t.Fatalf("a token with a changed signature: status %d, want 400 (%s)", code, payload)
			}
		}
		code := post(token)
		if (code == http.StatusOK) != want {
			t.Fatalf("typ %q claims %s: status %d, want valid=%v", typ, payload, code, want)
		}
		if code == http.StatusOK {
			if again := post(token); again != http.StatusBadRequest {
				t.Fatalf("a replayed logout token: status %d, want 400", again)
			}
		}
	})
}

// logoutTokenValid is the specification of a valid logout token (OIDC
// Back-Channel Logout 1.0 §2.4, §2.6), written independently of the code.
func logoutTokenValid(issuer, typ string, payload []byte, now time.Time) bool {
	var c struct {
		Iss    *string                    `json:"iss"`
		Sub    *string                    `json:"sub"`
		Aud    json.RawMessage            `json:"aud"`
		Iat    json.RawMessage            `json:"iat"`
		Exp    json.RawMessage            `json:"exp"`
		JTI    *string                    `json:"jti"`
		SID    *string                    `json:"sid"`
		Nonce  json.RawMessage            `json:"nonce"`
		Events map[string]json.RawMessage `json:"events"`
	}
	if typ != "logout+jwt" || json.Unmarshal(payload, &c) != nil {
		return false
	}
	aud, ok := audiences(c.Aud)
	if !ok {
		return false
	}
	var ev map[string]any
	if e, ok := c.Events[bclEvent]; !ok || json.Unmarshal(e, &ev) != nil || ev == nil {
		return false
	}
	// NumericDates as integers (seconds); a null nonce counts as absent.
	seconds := func(raw json.RawMessage) (time.Time, bool) {
		n, err := strconv.ParseInt(string(raw), 10, 64)
		return time.Unix(n, 0), err == nil
	}
	iat, iatOK := seconds(c.Iat)
	exp, expOK := seconds(c.Exp)
	skew := 10 * time.Second
	return c.Iss != nil && *c.Iss == issuer && slices.Contains(aud, clientID) &&
		iatOK && !iat.After(now.Add(skew)) && !iat.Before(now.Add(-5*time.Minute-skew)) &&
		(c.Exp == nil || string(c.Exp) == "null" || expOK && now.Before(exp.Add(skew))) &&
		c.JTI != nil && *c.JTI != "" && (c.Nonce == nil || string(c.Nonce) == "null") &&
		(c.SID != nil && *c.SID != "" || c.Sub != nil && *c.Sub != "")
}

// audiences decodes an aud claim, one string or an array of strings (RFC
// 7519 §4.1.3); false for anything else.
func audiences(raw json.RawMessage) ([]string, bool) {
	var aud []string
	if json.Unmarshal(raw, &aud) == nil {
		return aud, true
	}
	var one string
	if json.Unmarshal(raw, &one) != nil {
		return nil, false
	}
	return []string{one}, true
}
