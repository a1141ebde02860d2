package rp_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kanton/kundencenter/services/rp"
)

// FuzzSecurityEvents posts arbitrary Security Event Tokens to a service's
// SET receiver: raw strings, and arbitrary claims and typ signed with the
// IdP's real key. A token is accepted (202) only when every rule of the
// receiver holds for its claims (setValid: typ secevent+jwt, iss, aud,
// iat not in the future, no sub or exp, a jti, exactly one event, an
// iss_sub subject of this IdP), else refused with 400; a changed signature
// is always refused. Account-disabled and account-enabled events go through
// the package's own handling without failing.
func FuzzSecurityEvents(f *testing.F) {
	h := newHarness(f, func(c *rp.Config) {
		c.OnSecurityEvent = func(context.Context, rp.SecurityEvent) error { return nil }
	})
	now := time.Now().Unix()
	claims := func(typ string, mod func(map[string]any)) []byte {
		c := map[string]any{"iss": h.op.Issuer, "aud": clientID, "iat": now, "jti": "JTI", "toe": now,
			"sub_id": map[string]any{"format": "iss_sub", "iss": h.op.Issuer, "sub": "anna"},
			"events": map[string]any{typ: map[string]any{}}}
		if mod != nil {
			mod(c)
		}
		raw, _ := json.Marshal(c)
		return raw
	}
	f.Add("", claims(rp.EventAccountPurged, nil), "secevent+jwt")
	f.Add("", claims(rp.EventAccountDisabled, func(c map[string]any) {
		c["events"] = map[string]any{rp.EventAccountDisabled: map[string]any{"reason": "hijacking"}}
	}), "secevent+jwt")
	f.Add("", claims(rp.EventAccountEnabled, nil), "secevent+jwt")
	f.Add("", claims(rp.EventAccountDisabled, func(c map[string]any) { c["toe"] = 1.5 }), "secevent+jwt")
	f.Add("", claims(rp.EventAccountDisabled, func(c map[string]any) { c["toe"] = "now" }), "secevent+jwt")
	f.Add("", claims(rp.EventAccountDisabled, func(c map[string]any) { c["events"] = map[string]any{rp.EventAccountDisabled: nil} }), "secevent+jwt")
	f.Add("", claims(rp.EventAccountPurged, nil), "logout+jwt")
	f.Add("", claims(rp.EventAccountPurged, nil), "JWT")
	f.Add("", claims(rp.EventAccountPurged, func(c map[string]any) { c["sub"] = "anna" }), "secevent+jwt")
	f.Add("", claims(rp.EventAccountPurged, func(c map[string]any) { c["exp"] = now + 60 }), "secevent+jwt")
	f.Add("", claims(rp.EventAccountPurged, func(c map[string]any) { c["iat"] = now + 3600 }), "secevent+jwt")
	f.Add("", claims(rp.EventAccountPurged, func(c map[string]any) { c["aud"] = []any{"x", clientID} }), "secevent+jwt")
	f.Add("", claims(rp.EventAccountPurged, func(c map[string]any) { c["sub_id"] = nil }), "secevent+jwt")
	f.Add("", claims(rp.EventAccountPurged, func(c map[string]any) {
		c["events"] = map[string]any{rp.EventAccountDisabled: map[string]any{}, rp.EventAccountEnabled: map[string]any{}}
	}), "secevent+jwt")
	f.Add("", []byte(`null`), "secevent+jwt")
	f.Add("", []byte(`{"events":null}`), "secevent+jwt")
	f.Add("a.b.c", []byte(nil), "")
	f.Add("eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.", []byte(nil), "")
	f.Fuzz(func(t *testing.T, raw string, payload []byte, typ string) {
		post := func(token string) int {
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodPost, rp.EventsPath, strings.NewReader(token))
			r.Header.Set("Content-Type", "application/secevent+jwt")
			h.client.SecurityEvents(w, r)
			return w.Code
		}
		if raw != "" {
			if code := post(raw); code != http.StatusBadRequest {
				t.Fatalf("an unsigned token %q: status %d, want 400", raw, code)
			}
			return
		}
		token, err := h.op.Sign(typ, payload)
		if err != nil {
			return // typ or payload jose cannot sign
		}
		tampered := []byte(token)
		tampered[len(tampered)-2] ^= 0x01
		if c := tampered[len(tampered)-2]; c == '-' || c == '_' || c > 'z' {
			tampered[len(tampered)-2] = 'A'
		}
		if string(tampered) != token {
			if code := post(string(tampered)); code != http.StatusBadRequest {
				t.Fatalf("a SET with a changed signature: status %d, want 400 (%s)", code, payload)
			}
		}
		want := setValid(h.op.Issuer, typ, payload, time.Now())
		code := post(token)
		if code != http.StatusAccepted && code != http.StatusBadRequest {
			t.Fatalf("typ %q claims %s: status %d, want 202 or 400", typ, payload, code)
		}
		if (code == http.StatusAccepted) != want {
			t.Fatalf("typ %q claims %s: status %d, want valid=%v", typ, payload, code, want)
		}
	})
}

// setValid is the specification of a SET the receiver accepts (RFC 8417,
// SSF 1.0, RISC 1.0 as the package profiles them), written independently
// of the code.
func setValid(issuer, typ string, payload []byte, now time.Time) bool {
	var c struct {
		Iss    *string                            `json:"iss"`
		Sub    json.RawMessage                    `json:"sub"`
		Aud    json.RawMessage                    `json:"aud"`
		Iat    *int64                             `json:"iat"`
		Exp    json.RawMessage                    `json:"exp"`
		TOE    *float64                           `json:"toe"`
		JTI    *string                            `json:"jti"`
		SubID  *struct{ Format, Iss, Sub string } `json:"sub_id"`
		Events map[string]json.RawMessage         `json:"events"`
	}
	if typ != "secevent+jwt" || json.Unmarshal(payload, &c) != nil {
		return false
	}
	aud, ok := audiences(c.Aud)
	if !ok {
		return false
	}
	absent := func(raw json.RawMessage) bool { return raw == nil || string(raw) == "null" }
	// sub and exp must be absent, but present ones of a wrong type make
	// the whole claim set undecodable for the receiver.
	var s string
	var n int64
	if !absent(c.Sub) && json.Unmarshal(c.Sub, &s) != nil || !absent(c.Exp) && json.Unmarshal(c.Exp, &n) != nil {
		return false
	}
	return c.Iss != nil && *c.Iss == issuer && slices.Contains(aud, clientID) &&
		c.Iat != nil && !time.Unix(*c.Iat, 0).After(now.Add(10*time.Second)) &&
		absent(c.Sub) && absent(c.Exp) && c.JTI != nil && *c.JTI != "" && len(c.Events) == 1 &&
		c.SubID != nil && c.SubID.Format == "iss_sub" && c.SubID.Iss == issuer && c.SubID.Sub != ""
}
