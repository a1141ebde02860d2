package connectors

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/kanton/kundencenter/idp"
)

// DefaultStateTTL is how long a redirect to an upstream provider may take.
const DefaultStateTTL = 10 * time.Minute

// Flow runs the redirect half of upstream logins: Begin stores a
// LoginState in the ephemeral store under the hash of a fresh random
// cookie value and returns the provider's URL; Finish takes it back
// (single use), checks it belongs to this browser and hands the callback
// to the connector.
//
// The web layer sets the cookie value Begin returns (HttpOnly, Secure,
// SameSite=Lax so that it survives the provider's top-level redirect back)
// and passes it to Finish on the callback.
type Flow struct {
	Connectors *Registry
	Ephemeral  idp.Ephemeral
	// TTL bounds a pending login; zero means DefaultStateTTL.
	TTL time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (f *Flow) ttl() time.Duration {
	if f.TTL > 0 {
		return f.TTL
	}
	return DefaultStateTTL
}

func (f *Flow) now() time.Time {
	if f.Now != nil {
		return f.Now().UTC()
	}
	return time.Now().UTC()
}

// stateKey is the ephemeral-store key of the login bound to a cookie value;
// only the cookie's hash is stored.
func stateKey(cookieValue string) string {
	h := sha256.Sum256([]byte(cookieValue))
	return "connector:login:" + hex.EncodeToString(h[:])
}

// random returns 32 random bytes, base64url without padding (43
// characters, which is also a valid PKCE verifier, RFC 7636 §4.1).
func random() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Begin starts a login at the connector: it creates state, nonce, PKCE
// verifier and a cookie value, stores the LoginState for TTL and returns
// the URL to redirect the browser to and the value of the cookie that
// binds the login to this browser. ErrUnknownConnector,
// ErrLevelUnsupported or a discovery error if the provider cannot be
// reached.
func (f *Flow) Begin(ctx context.Context, connectorID string, req Request) (redirectURL, cookieValue string, err error) {
	c, ok := f.Connectors.Get(connectorID)
	if !ok {
		return "", "", fmt.Errorf("begin login at %q: %w", connectorID, ErrUnknownConnector)
	}
	st := LoginState{Request: req, Connector: c.ID(), CreatedAt: f.now()}
	for _, p := range []*string{&st.State, &st.Nonce, &st.Verifier, &cookieValue} {
		if *p, err = random(); err != nil {
			return "", "", err
		}
	}
	redirectURL, err = c.AuthURL(ctx, st)
	if err != nil {
		return "", "", fmt.Errorf("begin login at %q: %w", connectorID, err)
	}
	raw, err := json.Marshal(st)
	if err != nil {
		return "", "", fmt.Errorf("begin login: %w", err)
	}
	if err := f.Ephemeral.Set(ctx, stateKey(cookieValue), raw, f.ttl()); err != nil {
		return "", "", fmt.Errorf("begin login: store state: %w", err)
	}
	return redirectURL, cookieValue, nil
}

// Finish completes the login the browser's cookie value belongs to with the
// callback's query. It takes the stored state (so a second call with the
// same cookie fails with ErrUnknownState), compares the query's state in
// constant time (ErrStateMismatch), turns an error redirect into an
// *UpstreamError and lets the connector verify the answer
// (*VerificationError). The LoginState is returned whenever it was found,
// also with an error, so that the caller can send the user back to the
// auth request it belongs to.
func (f *Flow) Finish(ctx context.Context, cookieValue string, query url.Values) (Identity, LoginState, error) {
	if cookieValue == "" {
		return Identity{}, LoginState{}, ErrUnknownState
	}
	raw, err := f.Ephemeral.Take(ctx, stateKey(cookieValue))
	if errors.Is(err, idp.ErrNotFound) {
		return Identity{}, LoginState{}, ErrUnknownState
	}
	if err != nil {
		return Identity{}, LoginState{}, fmt.Errorf("finish login: load state: %w", err)
	}
	var st LoginState
	if err := json.Unmarshal(raw, &st); err != nil {
		return Identity{}, LoginState{}, fmt.Errorf("finish login: decode state: %w", err)
	}
	if !f.now().Before(st.CreatedAt.Add(f.ttl())) {
		return Identity{}, st, ErrUnknownState
	}
	got := query.Get("state")
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(st.State)) != 1 {
		return Identity{}, st, ErrStateMismatch
	}
	if code := query.Get("error"); code != "" {
		return Identity{}, st, NewUpstreamError(code, query.Get("error_description"))
	}
	c, ok := f.Connectors.Get(st.Connector)
	if !ok {
		return Identity{}, st, fmt.Errorf("finish login at %q: %w", st.Connector, ErrUnknownConnector)
	}
	id, err := c.HandleCallback(ctx, st, query)
	if err != nil {
		return Identity{}, st, fmt.Errorf("finish login at %q: %w", st.Connector, err)
	}
	if id.Connector != st.Connector || id.Issuer == "" || id.Subject == "" {
		return Identity{}, st, fmt.Errorf("finish login at %q: %w", st.Connector,
			Refuse("claims", errors.New("the connector returned an incomplete identity")))
	}
	return id, st, nil
}
