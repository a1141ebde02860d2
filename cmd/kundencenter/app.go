package main

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/kanton/kundencenter/health"
	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/web"
	"github.com/kanton/kundencenter/keyring"
	"github.com/kanton/kundencenter/mfa"
	"github.com/kanton/kundencenter/wire"
)

// idpParts are the adapters the IdP runs on, chosen by the subcommand.
type idpParts struct {
	store     wire.Store
	eph       idp.Ephemeral
	ring      *keyring.Ring
	devOutbox http.Handler  // embedded mode without SMTP or Twilio
	sms       mfa.SMSSender // Twilio, or the dev outbox in embedded mode
	services  []web.Service
	portal    *portalSetup // portal.go; nil: no portal pages beyond the footer's
}

// buildIdP wires the identity provider over the given adapters and returns
// its HTTP handler; the key cache's refresh loop runs until ctx ends.
func buildIdP(ctx context.Context, cfg config, parts idpParts, log *slog.Logger) (http.Handler, error) {
	tokenKey, err := key32(cfg.TokenKey)
	if err != nil {
		return nil, fmt.Errorf("KC_TOKEN_KEY: %w", err)
	}
	csrfKey, err := key32(cfg.CSRFKey)
	if err != nil {
		return nil, fmt.Errorf("KC_CSRF_KEY: %w", err)
	}
	proxies, err := cfg.trustedProxies()
	if err != nil {
		return nil, fmt.Errorf("KC_TRUSTED_PROXIES: %w", err)
	}
	smsCfg, err := cfg.smsConfig(deriveKey(tokenKey, "kundencenter sms code mac"))
	if err != nil {
		return nil, fmt.Errorf("SMS codes: %w", err)
	}
	fed, err := buildFederation(cfg, parts.eph)
	if err != nil {
		return nil, err
	}
	var portalCfg web.Portal
	if parts.portal != nil {
		portalCfg = parts.portal.Portal
	}
	w := wire.Web{SMS: smsCfg, SMSSender: parts.sms, Passkeys: wire.PasskeyConfig(cfg.Issuer, cfg.PasskeyRPID, parts.ring),
		Page: web.Config{Secure: strings.HasPrefix(cfg.Issuer, "https://"), CSRFKey: csrfKey, TrustedProxies: proxies,
			DevOutbox: parts.devOutbox, Services: parts.services, Federation: fed, Portal: portalCfg}}
	copy(w.CryptoKey[:], tokenKey)
	idle, absolute, err := cfg.sessionLimits()
	if err != nil {
		return nil, err
	}
	app, err := wire.New(ctx, wire.Config{Issuer: cfg.Issuer, Store: parts.store, Eph: parts.eph, Ring: parts.ring, Log: log,
		SessionIdle: idle, SessionMax: absolute}, w)
	if err != nil {
		return nil, err
	}
	go app.Keys.Run(ctx, func(err error) { log.Error("reload signing keys", "err", err) })
	mintSummaryTokens(parts.portal, app.Provider)                                             // portal.go
	return health.Wrap(app.Handler, log, idpChecks(parts.store, parts.eph, app.Keys)...), nil // health.go: /livez, /readyz
}

// deriveKey derives a purpose-bound 32-byte key from a master key (HKDF-SHA-256).
func deriveKey(master []byte, purpose string) []byte {
	k, err := hkdf.Key(sha256.New, master, nil, purpose, 32)
	if err != nil {
		panic(err) // only for lengths HKDF cannot produce
	}
	return k
}

// clientFile is one client in KC_CLIENTS_FILE (JSON array). The secret is
// given as its SHA-256 (hex) so the file holds no secret.
type clientFile struct {
	ID                     string   `json:"id"`
	Name                   string   `json:"name"`
	SecretSHA256           string   `json:"secret_sha256"`
	RedirectURIs           []string `json:"redirect_uris"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris"`
	GrantTypes             []string `json:"grant_types"`
	Public                 bool     `json:"public"`
	AccessTokenType        string   `json:"access_token_type"`
	Level                  string   `json:"level"`
	BackChannelLogoutURI   string   `json:"backchannel_logout_uri"`
	EventsURI              string   `json:"events_uri"`
	Scopes                 []string `json:"scopes"`            // what client_credentials may request
	APIScopes              []string `json:"api_scopes"`        // scopes this client serves as an API
	SubjectType            string   `json:"subject_type"`      // public (default) or pairwise
	SectorIdentifier       string   `json:"sector_identifier"` // pairwise: the sector's host (default: the redirect URIs' host)
}

// loadClientsFile upserts the clients of a JSON file.
func loadClientsFile(ctx context.Context, store idp.ClientStore, path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("KC_CLIENTS_FILE: %w", err)
	}
	var list []clientFile
	if err := json.Unmarshal(raw, &list); err != nil {
		return fmt.Errorf("KC_CLIENTS_FILE %s: %w", path, err)
	}
	var errs []error
	for i, f := range list {
		hash, herr := hex.DecodeString(f.SecretSHA256)
		c := idp.Client{ID: f.ID, Name: f.Name, SecretHash: hash, RedirectURIs: f.RedirectURIs,
			PostLogoutRedirectURIs: f.PostLogoutRedirectURIs, GrantTypes: f.GrantTypes, Public: f.Public,
			AccessTokenType: f.AccessTokenType, Level: f.Level, BackChannelLogoutURI: f.BackChannelLogoutURI, EventsURI: f.EventsURI,
			Scopes: f.Scopes, APIScopes: f.APIScopes, SubjectType: f.SubjectType, SectorIdentifier: f.SectorIdentifier}
		if herr != nil || (!f.Public && len(hash) != sha256.Size) {
			errs = append(errs, fmt.Errorf("client %d (%q): secret_sha256 must be 64 hex digits", i, f.ID))
			continue
		}
		if err := validateClient(c); err != nil {
			errs = append(errs, fmt.Errorf("client %d (%q): %w", i, f.ID, err))
			continue
		}
		if err := putClient(ctx, store, c); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func putClient(ctx context.Context, store idp.ClientStore, c idp.Client) error {
	now := time.Now().UTC()
	if old, err := store.GetClient(ctx, c.ID); err == nil {
		c.CreatedAt = old.CreatedAt
	} else {
		c.CreatedAt = now
	}
	c.UpdatedAt = now
	return store.PutClient(ctx, c)
}

// scopeToken is RFC 6749 §3.3 scope-token.
var scopeToken = regexp.MustCompile(`^[\x21\x23-\x5b\x5d-\x7e]+$`)

// validateClient checks a client registration: absolute redirect URIs
// without fragments, https except on localhost, known grant types.
func validateClient(c idp.Client) error {
	var errs []string
	if c.ID == "" || strings.ContainsAny(c.ID, ": \t") {
		errs = append(errs, "id: empty or contains ':' or spaces")
	}
	if len(c.RedirectURIs) == 0 && slices.Contains(c.GrantTypes, idp.GrantAuthorizationCode) {
		errs = append(errs, "redirect_uris: at least one needed for authorization_code")
	}
	for _, sc := range slices.Concat(c.Scopes, c.APIScopes) {
		if !scopeToken.MatchString(sc) || sc == "openid" || sc == "offline_access" {
			errs = append(errs, fmt.Sprintf("scope %q: not an API scope (RFC 6749 §3.3 scope-token)", sc))
		}
	}
	for _, list := range [][]string{c.RedirectURIs, c.PostLogoutRedirectURIs} {
		for _, u := range list {
			if err := checkRedirect(u); err != nil {
				errs = append(errs, err.Error())
			}
		}
	}
	for _, g := range c.GrantTypes {
		switch g {
		case idp.GrantAuthorizationCode, idp.GrantRefreshToken, idp.GrantClientCredentials, idp.GrantTokenExchange:
		default:
			errs = append(errs, fmt.Sprintf("grant type %q not supported", g))
		}
	}
	for _, u := range []string{c.BackChannelLogoutURI, c.EventsURI} {
		if u == "" {
			continue
		}
		if err := checkRedirect(u); err != nil {
			errs = append(errs, "back-channel logout or events URI: "+err.Error())
		}
	}
	if c.Level != "" && idp.LevelRank(c.Level) < 0 {
		errs = append(errs, fmt.Sprintf("level %q unknown (use one of %s)", c.Level, strings.Join(idp.Levels, ", ")))
	}
	if c.Public && len(c.SecretHash) > 0 {
		errs = append(errs, "a public client has no secret")
	}
	if err := idp.CheckSubjectType(c); err != nil { // OIDC Core §8.1
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

func checkRedirect(s string) error {
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%q: not an absolute URL without fragment and user info", s)
	}
	if u.Scheme == "https" {
		return nil
	}
	if u.Scheme == "http" && isLocalHost(u.Hostname()) {
		return nil
	}
	return fmt.Errorf("%q: must be https (http only for localhost)", s)
}
