package rp

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// BackChannelLogoutPath receives the IdP's logout tokens (OpenID Connect
// Back-Channel Logout 1.0); register BaseURL+BackChannelLogoutPath as the
// client's back-channel logout URI.
const BackChannelLogoutPath = "/backchannel-logout"

// backChannelLogoutEvent is the logout token's event (§2.4).
const backChannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// logoutTokenMaxAge bounds how old (by iat) a logout token may be.
const logoutTokenMaxAge = 5 * time.Minute

// maxRevocations bounds the revocation set; only tokens signed by the IdP
// add to it, so reaching it means something is wrong: new entries are then
// refused (the IdP retries) rather than old ones forgotten.
const maxRevocations = 200_000

// revocations remembers the sessions the IdP ended, because the service
// session is a sealed cookie the service cannot delete from the browser:
// ended sids, subjects logged out as a whole (with the time: sessions
// started before it are over), and the jti of every logout token (replay).
// Entries live as long as a service session can (SessionTTL).
//
// The set is in memory: with several instances of a service behind a load
// balancer, a logout token reaches one of them, and the others keep the
// session until it expires. Run one instance, or keep sessions short, or
// share the set (e.g. in Redis) before scaling out.
type revocations struct {
	mu   sync.Mutex
	sids map[string]time.Time // sid → expiry of the entry
	subs map[string]subRevocation
	jtis map[string]time.Time // jti → expiry of the entry
}

type subRevocation struct{ at, until time.Time }

func newRevocations() *revocations {
	return &revocations{sids: map[string]time.Time{}, subs: map[string]subRevocation{}, jtis: map[string]time.Time{}}
}

// revoked reports whether a session (its sid, subject and start) has been
// ended by a logout token.
func (r *revocations) revoked(sid, sub string, started, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if until, ok := r.sids[sid]; ok && sid != "" && now.Before(until) {
		return true
	}
	if s, ok := r.subs[sub]; ok && now.Before(s.until) && !started.After(s.at) {
		return true
	}
	return false
}

var errRevocationsFull = errors.New("revocation set full")

// add records a verified logout token; false if its jti was seen already.
func (r *revocations) add(jti, sid, sub string, iat, now time.Time, keep time.Duration) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.prune(now)
	if until, ok := r.jtis[jti]; ok && now.Before(until) {
		return false, nil
	}
	if len(r.jtis)+len(r.sids)+len(r.subs) >= maxRevocations {
		return false, errRevocationsFull
	}
	until := now.Add(keep)
	r.jtis[jti] = now.Add(logoutTokenMaxAge + 2*clockSkew)
	if sid != "" {
		r.sids[sid] = until
	} else {
		r.subs[sub] = subRevocation{at: iat, until: until}
	}
	return true, nil
}

func (r *revocations) prune(now time.Time) {
	for k, v := range r.jtis {
		if !now.Before(v) {
			delete(r.jtis, k)
		}
	}
	for k, v := range r.sids {
		if !now.Before(v) {
			delete(r.sids, k)
		}
	}
	for k, v := range r.subs {
		if !now.Before(v.until) {
			delete(r.subs, k)
		}
	}
}

// logoutClaims are the members of a logout token the service checks.
type logoutClaims struct {
	Issuer   string                     `json:"iss"`
	Subject  string                     `json:"sub"`
	Audience oidc.Audience              `json:"aud"`
	IssuedAt *int64                     `json:"iat"`
	Expiry   *int64                     `json:"exp"`
	JTI      string                     `json:"jti"`
	SID      string                     `json:"sid"`
	Events   map[string]json.RawMessage `json:"events"`
	Nonce    *json.RawMessage           `json:"nonce"`
}

// BackChannelLogout receives a logout token (OpenID Connect Back-Channel
// Logout 1.0 §2.5, §2.6): it verifies the signature with the IdP's keys
// (ES256 only), typ logout+jwt, iss, aud, iat (not older than five minutes
// and not in the future), exp if present, the back-channel logout event,
// the absence of a nonce, a sid or sub, and a fresh jti; then the session
// with that sid (or every session of that sub started before the token)
// is over. It answers 200, or 400 with an OAuth error object.
func (c *Client) BackChannelLogout(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		c.logoutError(w, r, "form", err)
		return
	}
	raw := r.PostForm.Get("logout_token")
	if raw == "" {
		c.logoutError(w, r, "no_token", errors.New("logout_token missing"))
		return
	}
	claims, err := c.verifyLogoutToken(r, raw)
	if err != nil {
		c.logoutError(w, r, "invalid_token", err)
		return
	}
	now := c.cfg.Now()
	fresh, err := c.revoked.add(claims.JTI, claims.SID, claims.Subject, time.Unix(*claims.IssuedAt, 0), now, c.cfg.SessionTTL)
	if err != nil {
		c.log.ErrorContext(r.Context(), "back-channel logout not recorded", "error", err)
		http.Error(w, "", http.StatusServiceUnavailable)
		return
	}
	if !fresh {
		c.logoutError(w, r, "replay", errors.New("logout token replayed"))
		return
	}
	c.log.InfoContext(r.Context(), "back-channel logout", "client_id", c.cfg.ClientID, "by_sid", claims.SID != "")
	w.WriteHeader(http.StatusOK)
}

func (c *Client) verifyLogoutToken(r *http.Request, raw string) (*logoutClaims, error) {
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("not exactly one signature")
	}
	if typ, _ := jws.Signatures[0].Protected.ExtraHeaders[jose.HeaderType].(string); typ != "logout+jwt" {
		return nil, fmt.Errorf("typ %q is not logout+jwt", typ)
	}
	payload, err := c.rp.IDTokenVerifier().KeySet.VerifySignature(r.Context(), jws)
	if err != nil {
		return nil, fmt.Errorf("signature: %w", err)
	}
	var cl logoutClaims
	if err := json.Unmarshal(payload, &cl); err != nil {
		return nil, fmt.Errorf("claims: %w", err)
	}
	now := c.cfg.Now()
	switch {
	case cl.Issuer != c.cfg.Issuer:
		return nil, fmt.Errorf("iss %q is not the IdP", cl.Issuer)
	case !slices.Contains(cl.Audience, c.cfg.ClientID):
		return nil, errors.New("aud does not name this service")
	case cl.IssuedAt == nil:
		return nil, errors.New("iat missing")
	case time.Unix(*cl.IssuedAt, 0).After(now.Add(clockSkew)):
		return nil, errors.New("iat in the future")
	case time.Unix(*cl.IssuedAt, 0).Before(now.Add(-logoutTokenMaxAge - clockSkew)):
		return nil, errors.New("iat too old")
	case cl.Expiry != nil && !now.Before(time.Unix(*cl.Expiry, 0).Add(clockSkew)):
		return nil, errors.New("expired")
	case cl.JTI == "":
		return nil, errors.New("jti missing")
	case cl.Nonce != nil:
		return nil, errors.New("a logout token must not carry a nonce")
	case cl.SID == "" && cl.Subject == "":
		return nil, errors.New("neither sid nor sub")
	}
	ev, ok := cl.Events[backChannelLogoutEvent]
	var obj map[string]any
	if !ok || json.Unmarshal(ev, &obj) != nil || obj == nil {
		return nil, errors.New("events claim lacks the back-channel logout event")
	}
	return &cl, nil
}

// logoutError answers 400 with an OAuth error object (§2.8) and logs why.
func (c *Client) logoutError(w http.ResponseWriter, r *http.Request, reason string, err error) {
	c.log.WarnContext(r.Context(), "back-channel logout refused", "reason", reason, "error", err)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_request", "error_description": "logout token refused"})
}

// claimString returns a string claim of the ID token, or "".
func claimString(claims map[string]any, name string) string {
	s, _ := claims[name].(string)
	return s
}
