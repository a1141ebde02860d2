package rp

import (
	"context"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	zrp "github.com/zitadel/oidc/v3/pkg/client/rp"
	httphelper "github.com/zitadel/oidc/v3/pkg/http"
	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/kanton/kundencenter/services/page"
	"github.com/kanton/kundencenter/webkit"
)

// transactionTTL is how long a started login may take until the callback.
const transactionTTL = 10 * time.Minute

// Discovery retry delays: the first retry after minRetry, doubling up to
// maxRetry.
const (
	minRetry = 100 * time.Millisecond
	maxRetry = 5 * time.Second
)

// clockSkew is the tolerated difference between the IdP's and our clock.
const clockSkew = 10 * time.Second

// maxCookieBytes is the largest cookie (name and value) a browser is sure to
// keep (RFC 6265 §6.1).
const maxCookieBytes = 4000

// Client is the relying party of one service. It is safe for concurrent use.
type Client struct {
	cfg        Config
	rp         zrp.RelyingParty
	txnCookies *httphelper.CookieHandler
	sesCookies *httphelper.CookieHandler
	txnName    string
	sesName    string
	noNonce    string // expected nonce when none is known: never matches
	cop        *http.CrossOriginProtection
	pages      *page.Renderer
	log        *slog.Logger
	csp        string
	revoked    *revocations   // sessions ended by back-channel logout (backchannel.go)
	accounts   *accountStates // accounts the IdP disabled (disabled.go)
}

// New validates cfg, discovers the IdP's endpoints and returns the Client.
// Discovery is retried with backoff until it succeeds or ctx ends, because a
// service may start before the IdP; an issuer mismatch is a configuration
// error and fails at once. New therefore blocks while the IdP is down: start
// the IdP's listener first, or call New in its own goroutine.
func New(ctx context.Context, cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("relying party config: %w", err)
	}
	cfg = cfg.withDefaults()
	c := &Client{cfg: cfg, log: cfg.Logger, pages: cfg.Pages, revoked: newRevocations(), accounts: newAccountStates()}
	if c.pages == nil {
		p, err := page.New(page.Site{}, cfg.Logger)
		if err != nil {
			return nil, err
		}
		c.pages = p
	}
	hashKey, err := hkdf.Key(sha256.New, cfg.CookieKey, nil, "kundencenter rp cookie mac", 32)
	if err != nil {
		return nil, fmt.Errorf("derive cookie keys: %w", err)
	}
	encKey, err := hkdf.Key(sha256.New, cfg.CookieKey, nil, "kundencenter rp cookie aes-256", 32)
	if err != nil {
		return nil, fmt.Errorf("derive cookie keys: %w", err)
	}
	opts := []httphelper.CookieHandlerOpt{httphelper.WithSameSite(http.SameSiteLaxMode), httphelper.WithPath("/")}
	prefix := "__Host-"
	if cfg.Insecure {
		opts = append(opts, httphelper.WithUnsecure())
		prefix = ""
	}
	c.txnCookies = httphelper.NewCookieHandler(hashKey, encKey, append(opts, httphelper.WithMaxAge(int(transactionTTL/time.Second)))...)
	c.sesCookies = httphelper.NewCookieHandler(hashKey, encKey, opts...)
	base := "kc-" + cookieToken(cfg.ClientID)
	c.txnName = prefix + base + "-login"
	c.sesName = prefix + base + "-session"
	c.noNonce = random()
	c.cop = http.NewCrossOriginProtection()

	verifierOpts := []zrp.VerifierOption{
		zrp.WithNonce(c.expectedNonce),
		// Tolerate clock skew between the IdP and the service for iat and
		// exp (the default is one second).
		zrp.WithIssuedAtOffset(clockSkew),
		// An ID token older than the login transaction cannot belong to it.
		zrp.WithIssuedAtMaxAge(transactionTTL),
	}
	if acrs := strings.Fields(cfg.ACRValues); len(acrs) > 0 {
		verifierOpts = append(verifierOpts, zrp.WithACRVerifier(oidc.DefaultACRVerifier(acrs)))
	}
	rpOpts := []zrp.Option{
		zrp.WithHTTPClient(cfg.HTTPClient),
		zrp.WithVerifierOpts(verifierOpts...),
	}
	delay := minRetry
	for {
		c.rp, err = zrp.NewRelyingPartyOIDC(ctx, cfg.Issuer, cfg.ClientID, cfg.ClientSecret,
			cfg.BaseURL+CallbackPath, cfg.Scopes, rpOpts...)
		if err == nil {
			break
		}
		if errors.Is(err, oidc.ErrIssuerInvalid) {
			return nil, fmt.Errorf("discover %s: the IdP names a different issuer (check Issuer): %w", cfg.Issuer, err)
		}
		c.log.WarnContext(ctx, "oidc discovery failed, retrying",
			"issuer", cfg.Issuer, "client_id", cfg.ClientID, "retry_in", delay, "error", err)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("discover %s: %w (last error: %w)", cfg.Issuer, ctx.Err(), err)
		case <-t.C:
		}
		delay = min(2*delay, maxRetry)
	}
	if c.rp.GetEndSessionEndpoint() == "" {
		c.log.WarnContext(ctx, "the IdP publishes no end_session_endpoint; logout ends the service session only",
			"issuer", cfg.Issuer)
	}
	formAction := "'self'"
	if u, err := url.Parse(cfg.Issuer); err == nil {
		formAction += " " + u.Scheme + "://" + u.Host
	}
	c.csp = "default-src 'none'; style-src 'self'; img-src 'self'; form-action " + formAction +
		"; frame-ancestors 'none'; base-uri 'none'"
	return c, nil
}

// Mount registers the login routes on mux: GET /login, GET /auth/callback,
// POST /logout, GET /logged-out, POST /backchannel-logout and POST
// /security-events.
func (c *Client) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET "+LoginPath, c.Login)
	mux.HandleFunc("GET "+CallbackPath, c.Callback)
	mux.HandleFunc("POST "+LogoutPath, c.Logout)
	mux.HandleFunc("GET "+LoggedOutPath, c.LoggedOut)
	mux.HandleFunc("POST "+BackChannelLogoutPath, c.BackChannelLogout)
	mux.HandleFunc("POST "+EventsPath, c.SecurityEvents)
}

// SecureHeaders wraps next so that every response carries the security
// headers (webkit.Headers): a CSP without inline script or style that
// forbids framing and allows form posts to the IdP, nosniff, no referrer,
// no caching (pages show personal data; the static handler allows caching
// for itself), unless Insecure HSTS, and a request ID (webkit.RequestID).
func (c *Client) SecureHeaders(next http.Handler) http.Handler {
	return webkit.Headers{CSP: c.csp, HSTS: !c.cfg.Insecure}.Wrap(next)
}

// Logger returns the client's logger.
func (c *Client) Logger() *slog.Logger { return c.log }

// nonceKey is the context key of the nonce the callback expects.
type nonceKey struct{}

// expectedNonce is the verifier's nonce source (zrp.WithNonce): the nonce of
// the login transaction the callback put into ctx, or a value no ID token
// carries, so a missing transaction never accepts a token without a nonce.
func (c *Client) expectedNonce(ctx context.Context) string {
	if n, ok := ctx.Value(nonceKey{}).(string); ok && n != "" {
		return n
	}
	return c.noNonce
}

// random returns 256 random bits, base64url-encoded (43 characters).
func random() string {
	return base64.RawURLEncoding.EncodeToString(randomBytes(32))
}

// requestID is the request's ID from SecureHeaders; it links an error page
// to its log entry.
func requestID(r *http.Request) string { return webkit.LogID(r.Context()) }

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return b
}

// cookieToken maps s to the characters allowed in a cookie name.
func cookieToken(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, s)
}
