package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/client/rp"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/oauth2"

	"github.com/kanton/kundencenter/connectors"
	"github.com/kanton/kundencenter/idp"
)

// Verification limits.
const (
	// clockSkew is the tolerance for iat in the future (and the margin
	// before exp).
	clockSkew = 10 * time.Second
	// maxTokenAge refuses ID tokens issued longer ago than this.
	maxTokenAge = 10 * time.Minute
	// maxUserinfo bounds the userinfo response body.
	maxUserinfo = 64 << 10
	// defaultTimeout bounds each call to the provider.
	defaultTimeout = 10 * time.Second
)

// idTokenAlgs are the ID-token signature algorithms accepted: asymmetric
// only, so "none" and HS* (a token signed with the client secret) fail.
var idTokenAlgs = []string{string(jose.RS256), string(jose.PS256), string(jose.ES256)}

// userinfoAlgs are accepted for JWT userinfo: HS256 with the client
// secret (SwissID) or the ID-token algorithms with the provider's JWKS.
var userinfoAlgs = []jose.SignatureAlgorithm{jose.HS256, jose.RS256, jose.PS256, jose.ES256}

// Options are what a Config does not carry.
type Options struct {
	// HTTPClient calls the provider; nil means a client with a 10 s timeout.
	HTTPClient *http.Client
	// DefaultDisplayName is used when the Config has no DisplayName.
	DefaultDisplayName string
	// DefaultScopes are requested when the Config has none; nil means
	// openid, profile, email.
	DefaultScopes []string
	// RequireJWTUserinfo refuses a userinfo answer in plain JSON.
	RequireJWTUserinfo bool
	// Adjust, if set, refines the identity from the verified, merged
	// claims (ID token overlaid by userinfo) after the generic mapping.
	Adjust func(id *connectors.Identity, claims map[string]any)
}

// Connector is a generic OIDC connector. It discovers the provider on
// first use (and again after a failed discovery), so the IdP starts while
// a provider is down.
type Connector struct {
	cfg  connectors.Config
	opts Options
	hc   *http.Client

	mu    sync.Mutex
	party rp.RelyingParty
}

var _ connectors.Connector = (*Connector)(nil)

type nonceKey struct{}

// New returns a connector for cfg, which must be valid.
func New(cfg connectors.Config, opts Options) (*Connector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.DisplayName == "" {
		cfg.DisplayName = opts.DefaultDisplayName
	}
	if cfg.DisplayName == "" {
		cfg.DisplayName = cfg.ID
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = opts.DefaultScopes
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{zoidc.ScopeOpenID, zoidc.ScopeProfile, zoidc.ScopeEmail}
	}
	if cfg.AuthMethod == "" {
		cfg.AuthMethod = connectors.AuthMethodBasic
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: defaultTimeout}
	}
	return &Connector{cfg: cfg, opts: opts, hc: hc}, nil
}

// ID returns the configured ID.
func (c *Connector) ID() string { return c.cfg.ID }

// DisplayName returns the name for the login button.
func (c *Connector) DisplayName() string { return c.cfg.DisplayName }

// Config returns the effective configuration (defaults applied).
func (c *Connector) Config() connectors.Config { return c.cfg }

// relyingParty discovers the provider once (OIDC Discovery 1.0 §4; the
// discovered issuer must equal the configured one exactly).
func (c *Connector) relyingParty(ctx context.Context) (rp.RelyingParty, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.party != nil {
		return c.party, nil
	}
	style := oauth2.AuthStyleInHeader
	if c.cfg.AuthMethod == connectors.AuthMethodPost {
		style = oauth2.AuthStyleInParams
	}
	party, err := rp.NewRelyingPartyOIDC(ctx, c.cfg.Issuer, c.cfg.ClientID, c.cfg.ClientSecret, c.cfg.RedirectURL, c.cfg.Scopes,
		rp.WithHTTPClient(c.hc),
		rp.WithAuthStyle(style),
		rp.WithVerifierOpts(
			rp.WithSupportedSigningAlgorithms(idTokenAlgs...),
			rp.WithIssuedAtOffset(clockSkew),
			rp.WithIssuedAtMaxAge(maxTokenAge),
			rp.WithNonce(func(ctx context.Context) string {
				n, _ := ctx.Value(nonceKey{}).(string)
				return n
			}),
		))
	if err != nil {
		return nil, fmt.Errorf("discover %s: %w", c.cfg.Issuer, err)
	}
	c.party = party
	return party, nil
}

// UpstreamACR returns the provider's acr value to request for our level:
// the lowest mapped value that reaches it. ok is false when none does;
// "" with ok true means nothing needs to be requested.
func (c *Connector) UpstreamACR(level string) (acr string, ok bool) {
	want := idp.LevelRank(level)
	if level == "" {
		return "", true
	}
	best, bestRank := "", -1
	for up, ours := range c.cfg.LevelMap {
		r := idp.LevelRank(ours)
		if r < want {
			continue
		}
		if bestRank < 0 || r < bestRank || (r == bestRank && up < best) {
			best, bestRank = up, r
		}
	}
	if bestRank >= 0 {
		return best, true
	}
	// An unmapped login counts as low, so low needs no acr_values.
	return "", want <= idp.LevelRank(idp.LevelLow)
}

// AuthURL returns the authorization URL (OIDC Core 1.0 §3.1.2.1, RFC 7636
// §4.3).
func (c *Connector) AuthURL(ctx context.Context, st connectors.LoginState) (string, error) {
	acr, ok := c.UpstreamACR(st.ACR)
	if !ok {
		return "", connectors.ErrLevelUnsupported
	}
	party, err := c.relyingParty(ctx)
	if err != nil {
		return "", err
	}
	opts := []oauth2.AuthCodeOption{
		oauth2.S256ChallengeOption(st.Verifier),
		oauth2.SetAuthURLParam("nonce", st.Nonce),
	}
	set := func(k, v string) {
		if v != "" {
			opts = append(opts, oauth2.SetAuthURLParam(k, v))
		}
	}
	set("acr_values", acr)
	set("ui_locales", st.Locale)
	set("login_hint", st.LoginHint)
	set("prompt", st.Prompt)
	if st.MaxAge > 0 {
		set("max_age", strconv.Itoa(st.MaxAge))
	}
	return party.OAuthConfig().AuthCodeURL(st.State, opts...), nil
}

// HandleCallback redeems the code and verifies the ID token and userinfo
// (OIDC Core 1.0 §3.1.3.5–3.1.3.7, §5.3.2).
func (c *Connector) HandleCallback(ctx context.Context, st connectors.LoginState, query url.Values) (connectors.Identity, error) {
	code := query.Get("code")
	if code == "" {
		return connectors.Identity{}, connectors.Refuse("callback", errors.New("no code in the callback"))
	}
	party, err := c.relyingParty(ctx)
	if err != nil {
		return connectors.Identity{}, err
	}
	ctx = context.WithValue(ctx, nonceKey{}, st.Nonce)
	tokens, err := exchange(ctx, code, party, st.Verifier)
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return connectors.Identity{}, connectors.Refuse("token", fmt.Errorf("token endpoint answered %d %s", re.Response.StatusCode, re.ErrorCode))
		}
		return connectors.Identity{}, connectors.Refuse("id_token", err)
	}
	claims := map[string]any{}
	if _, err := zoidc.ParseToken(tokens.IDToken, &claims); err != nil {
		return connectors.Identity{}, connectors.Refuse("id_token", err)
	}
	sub := tokens.IDTokenClaims.GetSubject()
	if ep := party.UserinfoEndpoint(); ep != "" {
		info, err := c.userinfo(ctx, party, ep, tokens.AccessToken, sub)
		if err != nil {
			return connectors.Identity{}, connectors.Refuse("userinfo", err)
		}
		for k, v := range info {
			switch k {
			case "iss", "aud", "azp", "exp", "iat", "nbf", "nonce", "at_hash", "c_hash", "auth_time", "amr", "jti", "sub", "acr":
				// Protocol claims, and the authentication level, come only
				// from the signed ID token (userinfo may be plain JSON).
				continue
			}
			claims[k] = v
		}
	} else if c.opts.RequireJWTUserinfo {
		return connectors.Identity{}, connectors.Refuse("userinfo", errors.New("the provider publishes no userinfo endpoint"))
	}
	id := c.identity(tokens.IDTokenClaims, claims)
	if c.opts.Adjust != nil {
		c.opts.Adjust(&id, claims)
	}
	return id, nil
}

// exchange redeems the code and verifies the ID token. zitadel/oidc
// v3.49.4 panics while decoding some malformed "aud" values
// (oidc.Audience.UnmarshalJSON on a nested array); an upstream must not be
// able to crash a request that way, so a panic becomes an error.
func exchange(ctx context.Context, code string, party rp.RelyingParty, verifier string) (tokens *zoidc.Tokens[*zoidc.IDTokenClaims], err error) {
	defer func() {
		if r := recover(); r != nil {
			tokens, err = nil, fmt.Errorf("malformed ID token (decoder panicked: %v)", r)
		}
	}()
	return rp.CodeExchange[*zoidc.IDTokenClaims](ctx, code, party, rp.WithCodeVerifier(verifier))
}

// userinfo calls the userinfo endpoint and verifies a JWT answer; the
// answer's sub must equal the ID token's (OIDC Core 1.0 §5.3.4).
func (c *Connector) userinfo(ctx context.Context, party rp.RelyingParty, endpoint, accessToken, sub string) (map[string]any, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/jwt, application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("call userinfo: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxUserinfo+1))
	if err != nil {
		return nil, fmt.Errorf("read userinfo: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("userinfo answered %d", resp.StatusCode)
	}
	if len(body) > maxUserinfo {
		return nil, errors.New("userinfo answer too large")
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	var info map[string]any
	switch mt {
	case "application/jwt":
		info, err = c.verifyUserinfoJWT(ctx, party, strings.TrimSpace(string(body)))
		if err != nil {
			return nil, err
		}
	case "application/json":
		if c.opts.RequireJWTUserinfo {
			return nil, errors.New("userinfo answered unsigned JSON; a signed JWT is required")
		}
		if err := json.Unmarshal(body, &info); err != nil {
			return nil, fmt.Errorf("decode userinfo: %w", err)
		}
	default:
		return nil, fmt.Errorf("userinfo answered content type %q", mt)
	}
	if s, _ := info["sub"].(string); s != sub {
		return nil, zoidc.ErrSubjectMissing // sub missing or not the ID token's
	}
	return info, nil
}

// verifyUserinfoJWT checks a signed userinfo answer: HS256 with the client
// secret, or an asymmetric signature with a key from the provider's JWKS;
// iss and aud, when present, must be the provider and us, and exp, when
// present, in the future.
func (c *Connector) verifyUserinfoJWT(ctx context.Context, party rp.RelyingParty, raw string) (map[string]any, error) {
	jws, err := jose.ParseSigned(raw, userinfoAlgs)
	if err != nil {
		return nil, fmt.Errorf("parse userinfo JWT: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("userinfo JWT must carry exactly one signature")
	}
	var payload []byte
	if jose.SignatureAlgorithm(jws.Signatures[0].Header.Algorithm) == jose.HS256 {
		payload, err = jws.Verify([]byte(c.cfg.ClientSecret))
	} else {
		payload, err = party.IDTokenVerifier().KeySet.VerifySignature(ctx, jws)
	}
	if err != nil {
		return nil, fmt.Errorf("userinfo JWT signature: %w", err)
	}
	var info map[string]any
	if err := json.Unmarshal(payload, &info); err != nil {
		return nil, fmt.Errorf("decode userinfo JWT: %w", err)
	}
	if iss, ok := info["iss"]; ok && iss != c.cfg.Issuer {
		return nil, errors.New("userinfo JWT: iss is not the provider")
	}
	if aud, ok := info["aud"]; ok && !audienceHas(aud, c.cfg.ClientID) {
		return nil, errors.New("userinfo JWT: aud does not name us")
	}
	if exp, ok := info["exp"].(float64); ok && !time.Now().Before(time.Unix(int64(exp), 0)) {
		return nil, errors.New("userinfo JWT: expired")
	}
	return info, nil
}

func audienceHas(aud any, clientID string) bool {
	switch a := aud.(type) {
	case string:
		return a == clientID
	case []any:
		return slices.ContainsFunc(a, func(v any) bool { return v == clientID })
	}
	return false
}
