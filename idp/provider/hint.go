package provider

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	jose "github.com/go-jose/go-jose/v4"
)

// The id_token_hint of /authorize and /end_session is checked here before
// zitadel sees it. zitadel decodes the hint's claims before it checks the
// signature, and a hint whose claims were JSON null left it with nil
// claims it then dereferenced (a panic per request). And the IdP signs
// logout tokens and Security Event Tokens with the same keys as ID tokens,
// so zitadel's signature check alone accepted those as hints: only the
// IdP's own ID tokens may be hints.

// maxHintLen bounds an id_token_hint; our ID tokens are below 2 KiB.
const maxHintLen = 8 << 10

// hintGuard refuses a request to authorize or endSession (relative paths)
// whose id_token_hint is not an ID token of this IdP (checkHint); other
// requests and those without a hint pass to next unchanged.
func (p *Provider) hintGuard(authorize, endSession string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != authorize && r.URL.Path != endSession {
			next.ServeHTTP(w, r)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			p.refuseHint(w, r, r.URL.Path == authorize, fmt.Errorf("form: %w", err))
			return
		}
		hints := r.Form["id_token_hint"]
		if len(hints) == 0 || (len(hints) == 1 && hints[0] == "") {
			next.ServeHTTP(w, r)
			return
		}
		if len(hints) > 1 {
			p.refuseHint(w, r, r.URL.Path == authorize, errors.New("more than one id_token_hint"))
			return
		}
		if err := p.checkHint(r, hints[0]); err != nil {
			p.refuseHint(w, r, r.URL.Path == authorize, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// checkHint accepts an ID token this IdP signed, expired or not: a
// compact JWS with one ES256 signature by a key of the IdP's key set,
// header typ "JWT" (what zitadel writes into ID tokens; logout tokens are
// logout+jwt, SETs secevent+jwt), and claims that are a JSON object with
// iss (this issuer), a non-empty sub, aud (a string or strings), exp and
// iat (numbers), nonce and sid (strings) if present, and neither "events"
// nor "sub_id" (the members of logout tokens and SETs).
func (p *Provider) checkHint(r *http.Request, hint string) error {
	if len(hint) > maxHintLen {
		return fmt.Errorf("%d bytes", len(hint))
	}
	jws, err := jose.ParseSigned(hint, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return fmt.Errorf("parse: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return errors.New("not exactly one signature")
	}
	if typ, _ := jws.Signatures[0].Protected.ExtraHeaders[jose.HeaderType].(string); typ != "JWT" {
		return fmt.Errorf("typ %q is not an ID token's", typ)
	}
	payload, err := p.op.IDTokenHintVerifier(r.Context()).KeySet.VerifySignature(r.Context(), jws)
	if err != nil {
		return fmt.Errorf("signature: %w", err)
	}
	var c map[string]json.RawMessage
	if err := json.Unmarshal(payload, &c); err != nil || c == nil {
		return errors.New("claims are not a JSON object")
	}
	var (
		iss, sub string
		aud      any
		exp, iat float64
	)
	switch {
	case json.Unmarshal(c["iss"], &iss) != nil || iss != p.cfg.Issuer:
		return errors.New("iss is not this IdP")
	case json.Unmarshal(c["sub"], &sub) != nil || sub == "":
		return errors.New("sub missing or not a string")
	case json.Unmarshal(c["aud"], &aud) != nil || !isAudience(aud):
		return errors.New("aud is neither a string nor strings")
	case json.Unmarshal(c["exp"], &exp) != nil, json.Unmarshal(c["iat"], &iat) != nil:
		return errors.New("exp or iat missing or not a number")
	case !optionalString(c["nonce"]), !optionalString(c["sid"]):
		return errors.New("nonce or sid not a string")
	case c["events"] != nil, c["sub_id"] != nil:
		return errors.New("a security event or logout token is no ID token")
	}
	return nil
}

// isAudience reports whether aud is a non-empty string or a non-empty
// array of strings.
func isAudience(aud any) bool {
	switch a := aud.(type) {
	case string:
		return a != ""
	case []any:
		for _, x := range a {
			if s, ok := x.(string); !ok || s == "" {
				return false
			}
		}
		return len(a) > 0
	}
	return false
}

// optionalString reports whether raw is absent or a JSON string.
func optionalString(raw json.RawMessage) bool {
	if raw == nil {
		return true
	}
	var s string
	return json.Unmarshal(raw, &s) == nil
}

// refuseHint answers a request with an unacceptable hint: /authorize with
// the login's error page (the hint came from a broken or hostile client,
// so its redirect URI is not used), /end_session with 400 invalid_request.
func (p *Provider) refuseHint(w http.ResponseWriter, r *http.Request, authorize bool, err error) {
	p.log.WarnContext(r.Context(), "id_token_hint refused", "path", r.URL.Path, "reason", err)
	if authorize {
		http.Redirect(w, r, p.cfg.LoginPath+"/error?reason=request", http.StatusSeeOther)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = w.Write([]byte(`{"error":"invalid_request","error_description":"id_token_hint is not an ID token of this issuer"}`))
}
