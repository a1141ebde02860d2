package rp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/kanton/kundencenter/services/page"
)

// Paths the package serves below Config.BaseURL. The IdP must know the
// client's redirect URI BaseURL+CallbackPath and post-logout redirect URI
// BaseURL+LoggedOutPath.
const (
	LoginPath     = "/login"
	CallbackPath  = "/auth/callback"
	LogoutPath    = "/logout"
	LoggedOutPath = "/logged-out"
)

// DefaultScopes are the scopes requested when Config.Scopes is empty.
var DefaultScopes = []string{"openid", "profile", "email"}

// DefaultSessionTTL is the absolute lifetime of a service session when
// Config.SessionTTL is zero (NIST SP 800-63B-4 asks AAL2 reauthentication
// at least every 24 hours; a working day is enough for a portal visit).
const DefaultSessionTTL = 8 * time.Hour

// Config configures a relying party.
type Config struct {
	Issuer       string   // the IdP's issuer, e.g. "http://localhost:8080"
	ClientID     string   // the client ID registered at the IdP
	ClientSecret string   // the client secret; "" for a public client (PKCE is used either way)
	BaseURL      string   // the service's own origin, e.g. "http://localhost:8082"; no path
	Scopes       []string // requested scopes; DefaultScopes when empty
	// CookieKey seals (MAC + AES-256) the login-transaction and session
	// cookies: 32 bytes, the same on every instance of the service.
	CookieKey []byte
	// Insecure allows http URLs and cookies without Secure for local
	// development; when false, cookies are Secure with the __Host- prefix and
	// responses carry HSTS.
	Insecure bool
	// ACRValues lists, space-separated, the authentication levels the
	// service accepts: sent as acr_values and required of the ID token's
	// acr, so list every acceptable level (e.g. "substantial high"); "" = any.
	ACRValues  string
	HTTPClient *http.Client  // client for the IdP's endpoints; nil = 10 s timeout
	SessionTTL time.Duration // absolute session lifetime; 0 = DefaultSessionTTL
	// Pages draws the error and logged-out pages; nil = pages without
	// navigation.
	Pages *page.Renderer
	// OnSecurityEvent, if set, receives the IdP's verified Security Event
	// Tokens at EventsPath (events.go) after the package applied
	// account-disabled and account-enabled itself; it must be idempotent.
	OnSecurityEvent func(context.Context, SecurityEvent) error
	Logger          *slog.Logger     // nil = slog.Default()
	Now             func() time.Time // nil = time.Now; used for the session lifetime
}

// Validate reports every problem of the configuration at once.
func (c Config) Validate() error {
	var errs []error
	if err := checkURL(c.Issuer, c.Insecure, true); err != nil {
		errs = append(errs, fmt.Errorf("Issuer: %w", err))
	}
	if c.ClientID == "" {
		errs = append(errs, errors.New("ClientID: empty; use the client ID registered at the IdP"))
	}
	if err := checkURL(c.BaseURL, c.Insecure, false); err != nil {
		errs = append(errs, fmt.Errorf("BaseURL: %w", err))
	}
	if len(c.CookieKey) != 32 {
		errs = append(errs, fmt.Errorf("CookieKey: %d bytes, want 32 random bytes (the same on every instance)", len(c.CookieKey)))
	}
	if len(c.Scopes) > 0 && !slices.Contains(c.Scopes, "openid") {
		errs = append(errs, fmt.Errorf("Scopes: %q lacks \"openid\"", c.Scopes))
	}
	if c.SessionTTL < 0 {
		errs = append(errs, fmt.Errorf("SessionTTL: negative (%s)", c.SessionTTL))
	}
	return errors.Join(errs...)
}

// checkURL checks an absolute http(s) URL without query or fragment; https
// unless insecure; with a path only if allowPath.
func checkURL(raw string, insecure, allowPath bool) error {
	if raw == "" {
		return errors.New("empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("not a URL: %w", err)
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http", u.Host == "":
		return fmt.Errorf("not an absolute http(s) URL: %q", raw)
	case u.Scheme == "http" && !insecure:
		return fmt.Errorf("%q uses http; use https, or set Insecure for local development", raw)
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return fmt.Errorf("%q must not have credentials, a query or a fragment", raw)
	case !allowPath && strings.TrimSuffix(u.Path, "/") != "":
		return fmt.Errorf("%q has a path; the service must be served at the root of its origin", raw)
	}
	return nil
}

// withDefaults returns c with the defaults filled in.
func (c Config) withDefaults() Config {
	c.BaseURL = strings.TrimSuffix(c.BaseURL, "/")
	if len(c.Scopes) == 0 {
		c.Scopes = DefaultScopes
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if c.SessionTTL == 0 {
		c.SessionTTL = DefaultSessionTTL
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}
