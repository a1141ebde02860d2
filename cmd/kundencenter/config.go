package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/keyring"
	"github.com/kanton/kundencenter/mfa"
	"github.com/kanton/kundencenter/mfa/twilio"
	"github.com/kanton/kundencenter/wire"
)

// config is everything the binaries read from the environment (KC_*);
// flags override the listen addresses. Only cmd reads the environment.
type config struct {
	Issuer      string // KC_ISSUER, default http://localhost:8080
	Listen      string // KC_LISTEN, default :8080
	DataDir     string // KC_DATA_DIR (embedded mode), default ./data
	DatabaseURL string // KC_DATABASE_URL (production): postgres://…
	RedisURL    string // KC_REDIS_URL (production): redis://…
	Keyring     string // KC_KEYRING: "current=k1,index=…,k1=…" (see `admin keyring generate`)
	TokenKey    string // KC_TOKEN_KEY: 32 bytes base64url, encrypts opaque tokens
	CSRFKey     string // KC_CSRF_KEY: 32 bytes base64url
	SMTPURL     string // KC_SMTP_URL: smtp://user:pass@host:587?from=noreply@…&tls=starttls
	ClientsFile string // KC_CLIENTS_FILE: JSON list of clients upserted at start
	Proxies     string // KC_TRUSTED_PROXIES: comma-separated CIDRs whose X-Forwarded-For is trusted
	LogLevel    string // KC_LOG_LEVEL: debug, info, warn, error
	SessionIdle string // KC_SESSION_IDLE: SSO session idle timeout (Go duration), default 60m
	SessionMax  string // KC_SESSION_MAX: SSO session absolute lifetime (Go duration), default 12h

	// ConnectorsFile is KC_CONNECTORS_FILE: JSON list of upstream identity
	// providers (SwissID, AGOV); secrets from KC_CONNECTOR_<ID>_SECRET (connectors.go).
	ConnectorsFile string

	// SMS through Twilio Programmable Messaging (required by `idp`; `serve`
	// without them keeps SMS in the dev outbox).
	TwilioAccountSID string // KC_TWILIO_ACCOUNT_SID: AC…
	TwilioAuthToken  string // KC_TWILIO_AUTH_TOKEN (or an API key pair below)
	TwilioAPIKey     string // KC_TWILIO_API_KEY: SK…
	TwilioAPISecret  string // KC_TWILIO_API_SECRET
	TwilioFrom       string // KC_TWILIO_FROM: sender number or alphanumeric ID
	TwilioService    string // KC_TWILIO_MESSAGING_SERVICE_SID: MG… (instead of KC_TWILIO_FROM)
	TwilioBaseURL    string // KC_TWILIO_BASE_URL: only for tests against a Twilio stand-in
	SMSCountries     string // KC_SMS_COUNTRIES: comma-separated regions, default CH,LI
	PasskeyRPID      string // KC_PASSKEY_RP_ID: WebAuthn RP ID, default the issuer's host (must never change)

	// Relying-party services (production: one process each).
	ClientID     string // KC_CLIENT_ID
	ClientSecret string // KC_CLIENT_SECRET
	BaseURL      string // KC_BASE_URL: the service's public URL
	CookieKey    string // KC_COOKIE_KEY: 32 bytes base64url
}

func loadConfig() config {
	get := func(k, def string) string {
		if v, ok := os.LookupEnv(k); ok && v != "" {
			return v
		}
		return def
	}
	return config{
		Issuer: strings.TrimRight(get("KC_ISSUER", "http://localhost:8080"), "/"), Listen: get("KC_LISTEN", ""),
		DataDir: get("KC_DATA_DIR", "data"), DatabaseURL: get("KC_DATABASE_URL", ""), RedisURL: get("KC_REDIS_URL", ""),
		Keyring: get("KC_KEYRING", ""), TokenKey: get("KC_TOKEN_KEY", ""), CSRFKey: get("KC_CSRF_KEY", ""),
		SMTPURL: get("KC_SMTP_URL", ""), ClientsFile: get("KC_CLIENTS_FILE", ""), ConnectorsFile: get("KC_CONNECTORS_FILE", ""), Proxies: get("KC_TRUSTED_PROXIES", ""),
		LogLevel: get("KC_LOG_LEVEL", "info"), SessionIdle: get("KC_SESSION_IDLE", ""), SessionMax: get("KC_SESSION_MAX", ""),
		ClientID: get("KC_CLIENT_ID", ""), ClientSecret: get("KC_CLIENT_SECRET", ""), BaseURL: get("KC_BASE_URL", ""),
		CookieKey:        get("KC_COOKIE_KEY", ""),
		TwilioAccountSID: get("KC_TWILIO_ACCOUNT_SID", ""), TwilioAuthToken: get("KC_TWILIO_AUTH_TOKEN", ""),
		TwilioAPIKey: get("KC_TWILIO_API_KEY", ""), TwilioAPISecret: get("KC_TWILIO_API_SECRET", ""),
		TwilioFrom: get("KC_TWILIO_FROM", ""), TwilioService: get("KC_TWILIO_MESSAGING_SERVICE_SID", ""),
		TwilioBaseURL: get("KC_TWILIO_BASE_URL", ""), SMSCountries: get("KC_SMS_COUNTRIES", ""),
		PasskeyRPID: get("KC_PASSKEY_RP_ID", ""),
	}
}

// problems collects every configuration error so that one start reports them all.
type problems []string

func (p *problems) add(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return errors.New("configuration problems:\n  - " + strings.Join(p, "\n  - "))
}

func (c config) validateIssuer(p *problems) {
	u, err := url.Parse(c.Issuer)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		p.add("KC_ISSUER: %q is not an http(s) URL", c.Issuer)
	case u.Scheme == "http" && !isLocalHost(u.Hostname()):
		p.add("KC_ISSUER: %q must use https (plain http is only allowed for localhost)", c.Issuer)
	case u.RawQuery != "" || u.Fragment != "":
		p.add("KC_ISSUER: %q must not have a query or fragment", c.Issuer)
	}
}

// sessionLimits returns KC_SESSION_IDLE and KC_SESSION_MAX (idp's defaults
// when unset), checked by idp.ValidateSessionLimits.
func (c config) sessionLimits() (idle, absolute time.Duration, err error) {
	idle, absolute = idp.DefaultSessionIdle, idp.DefaultSessionMax
	if c.SessionIdle != "" {
		if idle, err = time.ParseDuration(c.SessionIdle); err != nil {
			return 0, 0, fmt.Errorf("KC_SESSION_IDLE: %q is not a duration (e.g. 30m)", c.SessionIdle)
		}
	}
	if c.SessionMax != "" {
		if absolute, err = time.ParseDuration(c.SessionMax); err != nil {
			return 0, 0, fmt.Errorf("KC_SESSION_MAX: %q is not a duration (e.g. 8h)", c.SessionMax)
		}
	}
	if err := idp.ValidateSessionLimits(idle, absolute); err != nil {
		return 0, 0, fmt.Errorf("KC_SESSION_IDLE=%s, KC_SESSION_MAX=%s: %w", idle, absolute, err)
	}
	return idle, absolute, nil
}

// validateSessions adds the problem of KC_SESSION_IDLE/KC_SESSION_MAX, if any.
func (c config) validateSessions(p *problems) {
	if _, _, err := c.sessionLimits(); err != nil {
		p.add("%v", err)
	}
}

// validateProduction checks the settings the `idp` subcommand needs.
func (c config) validateProduction() error {
	var p problems
	c.validateIssuer(&p)
	c.validateSessions(&p)
	if u, err := url.Parse(c.DatabaseURL); c.DatabaseURL == "" {
		p.add("KC_DATABASE_URL: missing (postgres://user:password@host:5432/db)")
	} else if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		p.add("KC_DATABASE_URL: not a postgres URL (postgres://user:password@host:5432/db)")
	}
	if u, err := url.Parse(c.RedisURL); c.RedisURL == "" {
		p.add("KC_REDIS_URL: missing (redis://host:6379/0)")
	} else if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
		p.add("KC_REDIS_URL: not a redis:// or rediss:// URL")
	}
	if c.Keyring == "" {
		p.add("KC_KEYRING: missing (generate one with `kundencenter admin keyring generate`)")
	} else if _, err := keyring.Parse(c.Keyring); err != nil {
		p.add("KC_KEYRING: %v", err)
	}
	if _, err := key32(c.TokenKey); err != nil {
		p.add("KC_TOKEN_KEY: %v (generate with `kundencenter admin keyring generate`)", err)
	}
	if _, err := key32(c.CSRFKey); err != nil {
		p.add("KC_CSRF_KEY: %v", err)
	}
	if c.SMTPURL == "" {
		p.add("KC_SMTP_URL: missing (smtp://user:password@host:587?from=noreply@example.ch&tls=starttls)")
	} else if _, err := parseSMTPURL(c.SMTPURL); err != nil {
		p.add("KC_SMTP_URL: %v", err)
	}
	if _, err := c.trustedProxies(); err != nil {
		p.add("KC_TRUSTED_PROXIES: %v", err)
	}
	if !c.twilioConfigured() {
		p.add("KC_TWILIO_ACCOUNT_SID: missing (SMS codes are sent through Twilio; also set KC_TWILIO_AUTH_TOKEN and KC_TWILIO_FROM)")
	} else if err := c.twilio().Validate(); err != nil {
		p.add("KC_TWILIO_*: %v", err)
	}
	if _, err := c.smsConfig(make([]byte, 32)); err != nil {
		p.add("KC_SMS_COUNTRIES: %v", err)
	}
	if ring, err := keyring.Parse(keyring.Generate()); err == nil {
		if err := wire.PasskeyConfig(c.Issuer, c.PasskeyRPID, ring).Validate(); err != nil {
			p.add("KC_PASSKEY_RP_ID / KC_ISSUER: %v", err)
		}
	}
	if _, _, err := c.connectorConfigs(); err != nil {
		p.add("KC_CONNECTORS_FILE: %v", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return p.err()
}

// twilioConfigured reports whether any Twilio setting is present.
func (c config) twilioConfigured() bool { return c.TwilioAccountSID != "" }

// twilio is the Twilio client configuration.
func (c config) twilio() twilio.Config {
	return twilio.Config{AccountSID: c.TwilioAccountSID, AuthToken: c.TwilioAuthToken, APIKey: c.TwilioAPIKey,
		APISecret: c.TwilioAPISecret, From: c.TwilioFrom, MessagingServiceSID: c.TwilioService, BaseURL: c.TwilioBaseURL}
}

// smsConfig is the SMS code configuration over key (derived from KC_TOKEN_KEY).
func (c config) smsConfig(key []byte) (mfa.Config, error) {
	cfg := mfa.Config{Key: key}
	if u, err := url.Parse(c.Issuer); err == nil && u.Scheme == "https" {
		cfg.WebOTPHost = u.Hostname()
	}
	for _, r := range strings.Split(c.SMSCountries, ",") {
		if r = strings.TrimSpace(r); r != "" {
			cfg.Countries = append(cfg.Countries, r)
		}
	}
	return cfg, cfg.Validate()
}

func (c config) trustedProxies() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range strings.Split(c.Proxies, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR prefix", s)
		}
		out = append(out, p)
	}
	return out, nil
}

func key32(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("missing (32 random bytes, base64url)")
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return nil, fmt.Errorf("not base64url: %w", err)
	}
	if len(b) != 32 {
		return nil, fmt.Errorf("has %d bytes, want 32", len(b))
	}
	return b, nil
}

// random32 returns 32 random bytes, base64url-encoded.
func random32() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// embeddedSecrets loads (or creates on first start) the keys of the
// embedded mode from the data directory, so that restarts keep sessions,
// tokens and sealed data readable. Environment values win.
func (c *config) embeddedSecrets() error {
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return fmt.Errorf("KC_DATA_DIR %q: %w", c.DataDir, err)
	}
	load := func(name string, val *string, gen func() string) error {
		if *val != "" {
			return nil
		}
		path := filepath.Join(c.DataDir, name)
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			v := gen()
			if err := os.WriteFile(path, []byte(v+"\n"), 0o600); err != nil {
				return fmt.Errorf("write %s: %w", path, err)
			}
			*val = v
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
		*val = strings.TrimSpace(string(b))
		return nil
	}
	if err := load("keyring.txt", &c.Keyring, keyring.Generate); err != nil {
		return err
	}
	if err := load("token.key", &c.TokenKey, random32); err != nil {
		return err
	}
	if err := load("csrf.key", &c.CSRFKey, random32); err != nil {
		return err
	}
	return load("cookie.key", &c.CookieKey, random32)
}

// isLocalHost reports whether h is a loopback name (localhost, *.localhost,
// 127.0.0.1, ::1), where plain http is acceptable for a local trial.
func isLocalHost(h string) bool {
	return h == "localhost" || strings.HasSuffix(h, ".localhost") || h == "127.0.0.1" || h == "::1"
}
