package provider

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/kanton/kundencenter/idp"
)

// Config configures the OpenID provider.
type Config struct {
	// Issuer is the exact issuer URL (https in production).
	Issuer string
	// CryptoKey encrypts opaque access tokens and codes; 32 random bytes,
	// identical on every instance.
	CryptoKey [32]byte
	// AccessTokenTTL, IDTokenTTL, RefreshTokenTTL (absolute, per family),
	// CodeTTL and AuthRequestTTL bound the lifetimes; zero takes defaults.
	AccessTokenTTL, IDTokenTTL, RefreshTokenTTL, CodeTTL, AuthRequestTTL time.Duration
	// ExchangeTTL is the lifetime of a token obtained by token exchange
	// (short: it cannot be refreshed).
	ExchangeTTL time.Duration
	// Levels are the acr values, weakest first.
	Levels Levels
	// Acting decides whom a login may act for (organisations,
	// representations); nil: everyone acts for themself only.
	Acting idp.ActingResolver
	// LoginPath and LogoutPath are the login UI's pages.
	LoginPath, LogoutPath string
	// SessionCookie is the name of the SSO session cookie set by the login UI.
	SessionCookie string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (c *Config) defaults() {
	set := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	set(&c.AccessTokenTTL, 10*time.Minute)
	set(&c.ExchangeTTL, 5*time.Minute)
	set(&c.IDTokenTTL, 10*time.Minute)
	set(&c.RefreshTokenTTL, 12*time.Hour)
	set(&c.CodeTTL, time.Minute)
	set(&c.AuthRequestTTL, 30*time.Minute)
	if len(c.Levels) == 0 {
		c.Levels = DefaultLevels
	}
	if c.LoginPath == "" {
		c.LoginPath = "/login"
	}
	if c.LogoutPath == "" {
		c.LogoutPath = "/logout"
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Provider is the OpenID provider: the protocol endpoints plus the API the
// login UI uses to complete auth requests.
type Provider struct {
	cfg     Config
	idp     *idp.Service
	store   idp.Store
	eph     idp.Ephemeral
	keys    *KeyCache
	clients *ClientCache
	log     *slog.Logger
	op      *op.Provider
	server  *server
	handler http.Handler
	// holdSSO, when set, sends an SSO login to the login UI instead of
	// completing it (see SetSSOHold in mint.go).
	holdSSO func(ctx context.Context, accountID, clientID string) bool
}

// New builds the provider. keys and clients must be loaded (Load) by the caller.
func New(cfg Config, svc *idp.Service, keys *KeyCache, clients *ClientCache, log *slog.Logger) (*Provider, error) {
	cfg.defaults()
	if log == nil {
		log = slog.Default()
	}
	p := &Provider{cfg: cfg, idp: svc, store: svc.Store(), eph: svc.Ephemeral(), keys: keys, clients: clients, log: log}
	opCfg := &op.Config{
		CryptoKey:             cfg.CryptoKey,
		CryptoKeyId:           "k1",
		CodeMethodS256:        true,
		AuthMethodPost:        true,
		GrantTypeRefreshToken: true,
		SupportedUILocales:    []language.Tag{language.German, language.French, language.Italian, language.English},
		SupportedScopes: []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail, oidc.ScopeAddress, oidc.ScopePhone,
			oidc.ScopeOfflineAccess, ScopeProofing},
		SupportedClaims: []string{"sub", "aud", "exp", "iat", "iss", "auth_time", "nonce", "acr", "amr", "azp",
			"at_hash", "name", "given_name", "family_name", "locale", "email", "email_verified", "birthdate", ClaimProofing,
			"address", "phone_number", "phone_number_verified", idp.ClaimProfile, "sid", "represents"},
	}
	var opts []op.Option
	if strings.HasPrefix(cfg.Issuer, "http://") {
		opts = append(opts, op.WithAllowInsecure())
	}
	o, err := op.NewProvider(opCfg, storage{p}, op.StaticIssuer(cfg.Issuer), opts...)
	if err != nil {
		return nil, fmt.Errorf("oidc provider: %w", err)
	}
	p.op = o
	endpoints := op.Endpoints{
		Authorization: op.NewEndpoint("/authorize"),
		Token:         op.NewEndpoint("/oauth/token"),
		Introspection: op.NewEndpoint("/oauth/introspect"),
		Userinfo:      op.NewEndpoint("/userinfo"),
		Revocation:    op.NewEndpoint("/oauth/revoke"),
		EndSession:    op.NewEndpoint("/end_session"),
		JwksURI:       op.NewEndpoint("/keys"),
	}
	p.server = &server{LegacyServer: op.NewLegacyServer(o, endpoints), p: p}
	p.handler = p.hintGuard(endpoints.Authorization.Relative(), endpoints.EndSession.Relative(), // hint.go
		p.clientAuthErrors([]string{endpoints.Token.Relative(), endpoints.Introspection.Relative(),
			endpoints.Revocation.Relative(), endpoints.Userinfo.Relative()},
			op.RegisterLegacyServer(p.server, p.callback, op.WithServerCORSOptions(nil))))
	return p, nil
}

// Handler serves the protocol endpoints (discovery, JWKS, authorize and its
// callback, token, userinfo, introspection, revocation, end_session).
func (p *Provider) Handler() http.Handler { return p.handler }

// Issuer returns the issuer URL.
func (p *Provider) Issuer() string { return p.cfg.Issuer }

// Levels returns the configured acr values.
func (p *Provider) Levels() Levels { return p.cfg.Levels }

func (p *Provider) now() time.Time { return p.cfg.Now().UTC() }

func newRefreshValue() (string, []byte) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	v := base64.RawURLEncoding.EncodeToString(b)
	return v, idp.HashToken(v)
}

// AuthRequest returns a pending auth request for the login UI.
func (p *Provider) AuthRequest(ctx context.Context, id string) (*AuthRequest, error) {
	return p.getAuthRequest(ctx, id)
}

// ClientName returns a client's display name ("" if unknown).
func (p *Provider) ClientName(ctx context.Context, id string) string {
	c, err := p.clients.Get(ctx, id)
	if err != nil {
		return ""
	}
	return c.c.Name
}

// Complete marks an auth request as authenticated by the given session and
// returns the URL the browser continues to (the authorize callback).
func (p *Provider) Complete(ctx context.Context, id string, sess idp.Session) (string, error) {
	a, err := p.getAuthRequest(ctx, id)
	if err != nil {
		return "", err
	}
	return p.complete(ctx, a, sess) // authrequest.go
}

// authTimeSkew tolerates clocks of upstream providers (an upstream
// login's auth_time) when checking prompt=login and max_age.
const authTimeSkew = time.Minute

// FreshFor reports whether a login at authTime satisfies the request's
// prompt=login (a login after the request) and max_age (OIDC Core
// §3.1.2.1). A login made after the request was created answers max_age
// whatever its value: max_age=0 (which the library also makes of
// prompt=login) asks for exactly that, and comparing the login's age with
// the clock at completion would refuse every login that took any time at
// all. An older login (an SSO session) must be at most max_age old now.
// upstream allows authTimeSkew for the clock of an upstream provider's
// auth_time.
func (p *Provider) FreshFor(a *AuthRequest, authTime time.Time, upstream bool) bool {
	var skew time.Duration
	if upstream {
		skew = authTimeSkew
	}
	afterRequest := !authTime.Before(a.CreatedAt.Add(-skew))
	if a.HasPrompt(oidc.PromptLogin) && !afterRequest {
		return false
	}
	if a.MaxAge != nil && !afterRequest && p.now().Sub(authTime) > time.Duration(*a.MaxAge)*time.Second+skew {
		return false
	}
	return true
}

// admits checks, whatever page completes the request, that the session
// may answer it (OIDC Core §3.1.2.1): the required level, a login after
// the request for prompt=login, max_age, the id_token_hint's subject, and
// an active account. The login UI enforces the same before; this is the
// last line, so no page can hand out a weaker or staler login.
func (p *Provider) admits(ctx context.Context, a *AuthRequest, sess idp.Session) error {
	if l := p.cfg.Levels; !l.Meets(sess.ACR, []string{a.RequiredLevel(l)}) {
		return fmt.Errorf("complete auth request: session level %q does not reach %q", sess.ACR, a.RequiredLevel(l))
	}
	if !p.FreshFor(a, sess.AuthTime, slices.Contains(sess.AMR, idp.AMRFed)) {
		return errors.New("complete auth request: prompt=login or max_age needs a newer login")
	}
	if a.HintSubject != "" && a.HintSubject != sess.AccountID {
		return errors.New("complete auth request: the session belongs to another account than id_token_hint")
	}
	acct, err := p.store.GetAccount(ctx, sess.AccountID)
	if err != nil || acct.Status != idp.StatusActive {
		return errors.New("complete auth request: the account is not active")
	}
	return nil
}

func (p *Provider) callbackURL(id string) string {
	return p.cfg.Issuer + "/authorize/callback?id=" + id
}

// HasActingChoices reports whether the account may act for someone else
// at the client, so that the login asks "Für wen handeln Sie?".
func (p *Provider) HasActingChoices(ctx context.Context, accountID, clientID string) bool {
	if p.cfg.Acting == nil {
		return false
	}
	cs, err := p.cfg.Acting.ActingChoices(ctx, accountID, clientID)
	if err != nil {
		p.log.WarnContext(ctx, "acting choices unavailable", "err", err)
		return false
	}
	return len(cs) > 0
}

// represents checks an acting context again and returns its claim as
// the client clientID receives it (a represented person's "sub" is their
// subject at that client, subjects.go); nil for the person themself.
func (p *Provider) represents(ctx context.Context, accountID, clientID string, a idp.Acting) (map[string]any, error) {
	claim, err := p.actingClaim(ctx, accountID, clientID, a)
	if err != nil || claim == nil {
		return claim, err
	}
	return p.representsFor(ctx, clientID, claim)
}

// actingClaim checks an acting context again and returns the acting
// resolver's claim, naming a represented person by account ID: for the
// provider's own decisions (token exchange), never for a client.
func (p *Provider) actingClaim(ctx context.Context, accountID, clientID string, a idp.Acting) (map[string]any, error) {
	if a.IsZero() {
		return nil, nil
	}
	if p.cfg.Acting == nil {
		return nil, oidc.ErrInvalidGrant().WithDescription("acting for someone else is not enabled")
	}
	claim, err := p.cfg.Acting.Represents(ctx, accountID, clientID, a)
	if err != nil {
		p.log.InfoContext(ctx, "acting context refused", "kind", a.Kind, "client_id", clientID, "err", err)
		return nil, oidc.ErrInvalidGrant().WithDescription("the organisation or representation no longer allows acting for it at this service")
	}
	return claim, nil
}

// ErrorRedirect ends an auth request with an OAuth error sent to the
// client's (validated) redirect URI, e.g. access_denied when the user
// cancels or login_required for prompt=none.
func (p *Provider) ErrorRedirect(ctx context.Context, id string, e *oidc.Error) (string, error) {
	a, err := p.getAuthRequest(ctx, id)
	if err != nil {
		return "", err
	}
	_ = p.eph.Delete(ctx, authRequestKey(id))
	e.State = a.State
	u, err := op.AuthResponseURL(a.RedirectURI, a.GetResponseType(), a.GetResponseMode(), e, p.op.Encoder())
	return p.withIss(u), err
}

// callback wraps the library's authorize callback: the request must be
// completed by the session whose cookie this browser carries, so an auth
// request ID that leaked cannot be redeemed from another browser.
func (p *Provider) callback(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	a, err := p.getAuthRequest(r.Context(), id)
	if err != nil || !a.Completed {
		p.failPage(w, r, "unknown or unfinished authorization request")
		return
	}
	c, err := r.Cookie(p.cfg.SessionCookie)
	if err != nil || c.Value != a.SessionID {
		p.failPage(w, r, "authorization request is bound to another browser")
		return
	}
	op.AuthorizeCallback(issWriter{w, p}, r, p.op)
}

func (p *Provider) failPage(w http.ResponseWriter, r *http.Request, reason string) {
	p.log.WarnContext(r.Context(), "authorize callback refused", "reason", reason)
	http.Redirect(w, r, p.cfg.LoginPath+"/error?reason=request", http.StatusSeeOther)
}

// Logout is a pending RP-initiated logout handed to the UI.
type Logout struct {
	ID          string `json:"id"`
	AccountID   string `json:"acct,omitempty"` // from a verified id_token_hint
	ClientID    string `json:"client,omitempty"`
	RedirectURI string `json:"redirect,omitempty"` // validated post_logout_redirect_uri (with state)
}

func logoutKey(id string) string { return "logout:" + id }

func (p *Provider) startLogout(ctx context.Context, r *op.EndSessionRequest) (string, error) {
	l := Logout{ID: idp.NewID(), ClientID: r.ClientID, RedirectURI: r.RedirectURI}
	if r.ClientID == "" {
		l.AccountID = r.UserID
	} else if r.UserID != "" {
		// The hint's subject as its client knows the person (the library
		// took the client from the hint's azp). One that maps to no
		// account leaves the logout to the person's confirmation.
		account, err := p.AccountForSubject(ctx, r.ClientID, r.UserID)
		if err != nil && !errors.Is(err, idp.ErrNotFound) {
			return "", err
		}
		l.AccountID = account
	}
	raw, err := json.Marshal(l)
	if err != nil {
		return "", err
	}
	if err := p.eph.Set(ctx, logoutKey(l.ID), raw, 10*time.Minute); err != nil {
		return "", err
	}
	return p.cfg.Issuer + p.cfg.LogoutPath + "?logoutID=" + l.ID, nil
}

// TakeLogout returns and consumes a pending logout.
func (p *Provider) TakeLogout(ctx context.Context, id string) (Logout, error) {
	var l Logout
	raw, err := p.eph.Take(ctx, logoutKey(id))
	if err != nil {
		return l, err
	}
	err = json.Unmarshal(raw, &l)
	return l, err
}

// PeekLogout returns a pending logout without consuming it.
func (p *Provider) PeekLogout(ctx context.Context, id string) (Logout, error) {
	var l Logout
	raw, err := p.eph.Get(ctx, logoutKey(id))
	if err != nil {
		return l, err
	}
	err = json.Unmarshal(raw, &l)
	return l, err
}

var errNoSession = errors.New("no session")
