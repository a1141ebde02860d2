package api

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kanton/kundencenter/webkit"
)

// Caller is the client behind a request's bearer token, as the IdP's
// introspection describes it.
type Caller struct {
	ClientID string   // the client the token was issued to
	Scopes   []string // granted scopes
	Subject  string   // the token's sub (the client itself for client_credentials)
}

// Has reports whether the caller was granted scope.
func (c Caller) Has(scope string) bool { return slices.Contains(c.Scopes, scope) }

type callerKey struct{}

// WithCaller returns ctx carrying c, as Authenticator.Require passes it on.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the Caller that Authenticator.Require put into ctx.
func CallerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}

// AuthConfig configures an Authenticator: the service's own client
// registration, with which it asks the IdP about tokens.
type AuthConfig struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	HTTPClient   *http.Client     // nil: a client with a 10 s timeout
	CacheTTL     time.Duration    // how long an answer is reused (at most until the token expires); 0: 30 s
	Now          func() time.Time // nil: time.Now
}

// Authenticator checks bearer tokens (RFC 6750) by introspection at the IdP
// (RFC 7662), caching answers briefly so that an API call costs no IdP round
// trip in the common case. A revoked token may thus be accepted for up to
// CacheTTL. It is safe for concurrent use.
type Authenticator struct {
	cfg  AuthConfig
	disc *discovery

	mu    sync.Mutex
	cache map[[32]byte]cached
}

type cached struct {
	caller Caller
	active bool
	until  time.Time
}

// maxCached bounds the answer cache.
const maxCached = 10000

// NewAuthenticator returns an Authenticator; the IdP's discovery document is
// read on first use.
func NewAuthenticator(cfg AuthConfig) *Authenticator {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Authenticator{cfg: cfg, disc: newDiscovery(cfg.Issuer, cfg.HTTPClient), cache: map[[32]byte]cached{}}
}

// ErrUnavailable reports that the IdP could not be asked; it is a transient
// failure, answered 503, never a reason to refuse the token for good.
var ErrUnavailable = errors.New("identity provider unavailable")

// Require wraps h so that it runs only for a request with an active bearer
// token granted scope ("" for any scope); h finds the caller with
// CallerFrom. Without a token or with an inactive one the answer is 401 with
// WWW-Authenticate: Bearer (RFC 6750 §3), without the scope 403
// insufficient_scope, with the IdP unreachable 503.
func (a *Authenticator) Require(scope string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearer(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="kundencenter"`)
			webkit.WriteProblem(w, r, webkit.Problem{Title: "Unauthorized", Status: http.StatusUnauthorized, Detail: "a bearer access token is required"})
			return
		}
		c, err := a.Check(r.Context(), token)
		switch {
		case errors.Is(err, ErrUnavailable):
			w.Header().Set("Retry-After", "5")
			webkit.WriteProblem(w, r, webkit.Unavailable.With("the identity provider cannot be reached; try again"))
			return
		case err != nil:
			w.Header().Set("WWW-Authenticate", `Bearer realm="kundencenter", error="invalid_token"`)
			webkit.WriteProblem(w, r, webkit.Problem{Title: "Unauthorized", Status: http.StatusUnauthorized, Detail: "the access token is not active"})
			return
		}
		if scope != "" && !c.Has(scope) {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="kundencenter", error="insufficient_scope", scope=%q`, scope))
			webkit.WriteProblem(w, r, webkit.Forbidden.With("the access token lacks the scope "+scope))
			return
		}
		h.ServeHTTP(w, r.WithContext(WithCaller(r.Context(), c)))
	})
}

// ErrInactive reports a token the IdP does not know as active.
var ErrInactive = errors.New("token is not active")

// Check returns the caller of an active token, ErrInactive for any other
// token, ErrUnavailable when the IdP cannot be asked.
func (a *Authenticator) Check(ctx context.Context, token string) (Caller, error) {
	key := sha256.Sum256([]byte(token))
	now := a.cfg.Now()
	a.mu.Lock()
	e, ok := a.cache[key]
	a.mu.Unlock()
	if ok && now.Before(e.until) {
		if !e.active {
			return Caller{}, ErrInactive
		}
		return e.caller, nil
	}
	c, exp, err := a.introspect(ctx, token)
	if errors.Is(err, ErrUnavailable) {
		return Caller{}, err
	}
	e = cached{caller: c, active: err == nil, until: now.Add(a.cfg.CacheTTL)}
	if err != nil {
		e.until = now.Add(min(a.cfg.CacheTTL, 5*time.Second)) // refusals are remembered briefly
	} else if !exp.IsZero() && exp.Before(e.until) {
		e.until = exp
	}
	a.mu.Lock()
	if len(a.cache) >= maxCached {
		for k, v := range a.cache {
			if !now.Before(v.until) {
				delete(a.cache, k)
			}
		}
		if len(a.cache) >= maxCached {
			clear(a.cache)
		}
	}
	a.cache[key] = e
	a.mu.Unlock()
	if err != nil {
		return Caller{}, err
	}
	return c, nil
}

// introspection is the part of an RFC 7662 §2.2 answer the services use.
type introspection struct {
	Active   bool            `json:"active"`
	Scope    string          `json:"scope"`
	ClientID string          `json:"client_id"`
	Subject  string          `json:"sub"`
	Exp      int64           `json:"exp"`
	Aud      json.RawMessage `json:"aud"`
}

func (a *Authenticator) introspect(ctx context.Context, token string) (Caller, time.Time, error) {
	d, err := a.disc.get(ctx)
	if err != nil {
		return Caller{}, time.Time{}, err
	}
	if d.Introspection == "" {
		return Caller{}, time.Time{}, fmt.Errorf("%w: no introspection_endpoint in discovery", ErrUnavailable)
	}
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.Introspection, strings.NewReader(form.Encode()))
	if err != nil {
		return Caller{}, time.Time{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	// RFC 6749 §2.3.1: the credentials are form-encoded before Basic.
	req.SetBasicAuth(url.QueryEscape(a.cfg.ClientID), url.QueryEscape(a.cfg.ClientSecret))
	resp, err := a.cfg.HTTPClient.Do(req)
	if err != nil {
		return Caller{}, time.Time{}, fmt.Errorf("%w: introspect: %v", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Caller{}, time.Time{}, fmt.Errorf("%w: introspect: %v", ErrUnavailable, err)
	}
	if resp.StatusCode != http.StatusOK {
		// Our own client registration is wrong or the IdP is failing: not
		// the caller's fault, so not an inactive token.
		return Caller{}, time.Time{}, fmt.Errorf("%w: introspection answered %d", ErrUnavailable, resp.StatusCode)
	}
	var in introspection
	if err := json.Unmarshal(body, &in); err != nil {
		return Caller{}, time.Time{}, fmt.Errorf("%w: introspection answer: %v", ErrUnavailable, err)
	}
	if !in.Active || !audienceHas(in.Aud, a.cfg.ClientID) {
		return Caller{}, time.Time{}, ErrInactive
	}
	var exp time.Time
	if in.Exp > 0 {
		exp = time.Unix(in.Exp, 0)
		if !a.cfg.Now().Before(exp) {
			return Caller{}, time.Time{}, ErrInactive
		}
	}
	return Caller{ClientID: in.ClientID, Scopes: strings.Fields(in.Scope), Subject: in.Subject}, exp, nil
}

// audienceHas reports whether the aud member (a string or an array of
// strings, RFC 7519 §4.1.3) names id. A token not meant for this service
// is not accepted by it, even if the IdP would tell it about the token.
func audienceHas(raw json.RawMessage, id string) bool {
	if len(raw) == 0 {
		return false
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one == id
	}
	var many []string
	return json.Unmarshal(raw, &many) == nil && slices.Contains(many, id)
}

// bearer returns the token of an "Authorization: Bearer" header.
func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != "" && len(token) <= 4096
}

// discovery holds the endpoints of the IdP's discovery document (OIDC
// Discovery 1.0 §3), fetched once and then kept.
type discovery struct {
	issuer string
	client *http.Client
	mu     sync.Mutex
	doc    *discoveryDoc
}

type discoveryDoc struct {
	Issuer        string `json:"issuer"`
	Token         string `json:"token_endpoint"`
	Introspection string `json:"introspection_endpoint"`
}

func newDiscovery(issuer string, client *http.Client) *discovery {
	return &discovery{issuer: strings.TrimSuffix(issuer, "/"), client: client}
}

func (d *discovery) get(ctx context.Context) (*discoveryDoc, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.doc != nil {
		return d.doc, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.issuer+"/.well-known/openid-configuration", nil)
	if err != nil {
		return nil, err
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: discovery: %v", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: discovery answered %d", ErrUnavailable, resp.StatusCode)
	}
	var doc discoveryDoc
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: discovery: %v", ErrUnavailable, err)
	}
	if doc.Issuer != d.issuer {
		return nil, fmt.Errorf("%w: discovery names issuer %q, not %q", ErrUnavailable, doc.Issuer, d.issuer)
	}
	d.doc = &doc
	return d.doc, nil
}
