package rp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// EventsPath receives the IdP's Security Event Tokens (RFC 8417) pushed
// over HTTP (RFC 8935) when Config.OnSecurityEvent is set; register
// BaseURL+EventsPath as the client's events URI.
const EventsPath = "/security-events"

// SecurityEvent is a verified Security Event Token's event.
type SecurityEvent struct {
	JTI     string          // the token's jti: the same on every delivery attempt
	Type    string          // the event type URI, e.g. EventAccountPurged
	Subject string          // sub of the sub_id (format iss_sub, iss the IdP)
	At      time.Time       // toe: when the event happened; zero if the token names no time
	Payload json.RawMessage // the event's members
}

// EventAccountPurged is the RISC event of an account's deletion.
const EventAccountPurged = "https://schemas.openid.net/secevent/risc/event-type/account-purged"

// setClaims are the members of a SET the service checks (SSF 1.0 profile).
type setClaims struct {
	Issuer   string                     `json:"iss"`
	Audience oidc.Audience              `json:"aud"`
	IssuedAt *int64                     `json:"iat"`
	JTI      string                     `json:"jti"`
	Subject  *string                    `json:"sub"`
	Expiry   *int64                     `json:"exp"`
	TOE      *float64                   `json:"toe"` // NumericDate: seconds, maybe with a fraction
	SubID    *subjectID                 `json:"sub_id"`
	Events   map[string]json.RawMessage `json:"events"`
}

type subjectID struct {
	Format string `json:"format"`
	Iss    string `json:"iss"`
	Sub    string `json:"sub"`
}

// SecurityEvents receives one pushed SET (RFC 8935 §2): it verifies the
// signature with the IdP's keys (ES256), typ secevent+jwt, iss, aud, iat
// (not in the future), the absence of sub and exp, a jti, exactly one
// event and an iss_sub subject of this IdP (SSF 1.0 §4, RISC 1.0 §2), then
// applies account-disabled and account-enabled (disabled.go) and hands
// the event to Config.OnSecurityEvent, if set. It answers 202, 400 with an
// error object (§2.3) for a token it will never accept, and 503 when the
// handler failed (the IdP retries; handlers must be idempotent, as a
// delivery may repeat).
func (c *Client) SecurityEvents(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 16<<10))
	if err != nil {
		c.setError(w, r, "invalid_request", err)
		return
	}
	ev, reason, err := c.verifySET(r.Context(), string(raw))
	if err != nil {
		c.setError(w, r, reason, err)
		return
	}
	err = c.applyAccountEvent(r.Context(), ev)
	if err == nil && c.cfg.OnSecurityEvent != nil {
		err = c.cfg.OnSecurityEvent(r.Context(), ev)
	}
	if err != nil {
		c.log.ErrorContext(r.Context(), "security event not applied", "event", ev.Type, "jti", ev.JTI, "error", err)
		http.Error(w, "", http.StatusServiceUnavailable)
		return
	}
	c.log.InfoContext(r.Context(), "security event applied", "event", ev.Type, "jti", ev.JTI)
	w.WriteHeader(http.StatusAccepted)
}

func (c *Client) verifySET(ctx context.Context, raw string) (SecurityEvent, string, error) {
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return SecurityEvent{}, "invalid_request", fmt.Errorf("parse: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return SecurityEvent{}, "invalid_request", errors.New("not exactly one signature")
	}
	if typ, _ := jws.Signatures[0].Protected.ExtraHeaders[jose.HeaderType].(string); typ != "secevent+jwt" {
		return SecurityEvent{}, "invalid_request", fmt.Errorf("typ %q is not secevent+jwt", typ)
	}
	payload, err := c.rp.IDTokenVerifier().KeySet.VerifySignature(ctx, jws)
	if err != nil {
		return SecurityEvent{}, "invalid_key", fmt.Errorf("signature: %w", err)
	}
	var cl setClaims
	if err := json.Unmarshal(payload, &cl); err != nil {
		return SecurityEvent{}, "invalid_request", fmt.Errorf("claims: %w", err)
	}
	switch {
	case cl.Issuer != c.cfg.Issuer:
		return SecurityEvent{}, "invalid_issuer", fmt.Errorf("iss %q is not the IdP", cl.Issuer)
	case !slices.Contains(cl.Audience, c.cfg.ClientID):
		return SecurityEvent{}, "invalid_audience", errors.New("aud does not name this service")
	case cl.IssuedAt == nil || time.Unix(*cl.IssuedAt, 0).After(c.cfg.Now().Add(clockSkew)):
		return SecurityEvent{}, "invalid_request", errors.New("iat missing or in the future")
	case cl.Subject != nil || cl.Expiry != nil:
		return SecurityEvent{}, "invalid_request", errors.New("a SET must carry neither sub nor exp")
	case cl.JTI == "":
		return SecurityEvent{}, "invalid_request", errors.New("jti missing")
	case len(cl.Events) != 1:
		return SecurityEvent{}, "invalid_request", errors.New("not exactly one event")
	case cl.SubID == nil || cl.SubID.Format != "iss_sub" || cl.SubID.Iss != c.cfg.Issuer || cl.SubID.Sub == "":
		return SecurityEvent{}, "invalid_request", errors.New("sub_id is not an iss_sub subject of this IdP")
	}
	ev := SecurityEvent{JTI: cl.JTI, Subject: cl.SubID.Sub}
	if cl.TOE != nil {
		ev.At = time.Unix(int64(*cl.TOE), 0)
	}
	for typ, p := range cl.Events {
		ev.Type, ev.Payload = typ, p
	}
	return ev, "", nil
}

// setError answers 400 with an RFC 8935 §2.3 error object and logs why.
func (c *Client) setError(w http.ResponseWriter, r *http.Request, code string, err error) {
	c.log.WarnContext(r.Context(), "security event refused", "reason", code, "error", err)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"err": code, "description": "security event token refused"})
}
