// Package wire assembles the identity provider from its parts, once for
// every process that runs it: `kundencenter serve` and `kundencenter idp`
// (cmd/kundencenter), the job workers (the account lifecycle) and the test
// harness (idp/idptest). The callers choose the adapters (SQLite or
// PostgreSQL, in-process or Redis, SMTP, Twilio or the dev outbox) and the
// settings; this package connects the services over them the same way
// everywhere.
package wire

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"time"

	"github.com/kanton/kundencenter/delegation"
	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/provider"
	"github.com/kanton/kundencenter/idp/web"
	"github.com/kanton/kundencenter/keyring"
	"github.com/kanton/kundencenter/mfa"
	"github.com/kanton/kundencenter/mfa/passkey"
	"github.com/kanton/kundencenter/notify"
	"github.com/kanton/kundencenter/templates"
)

// Store is the durable store the identity provider runs on: its own
// state, the second factors and the organisations, in one database
// (store/sqlstore over PostgreSQL or SQLite implements it).
type Store interface {
	idp.Store
	mfa.Store
	mfa.WebAuthnStore
	delegation.Store
}

// Config is what the account services need.
type Config struct {
	Issuer string           // the public URL of the IdP
	Now    func() time.Time // nil: time.Now
	Limits idp.Limits       // zero: idp's defaults
	Store  Store
	Eph    idp.Ephemeral
	Ring   *keyring.Ring
	// Hasher hashes passwords and codes; nil: Argon2id with
	// idp.DefaultArgon2, at most 2 hashes per core at once (2 × 19 MiB ×
	// cores of memory; a login burst queues instead of exhausting memory).
	Hasher *idp.Hasher
	// SessionIdle and SessionMax are the SSO sessions' idle timeout and
	// absolute lifetime (idp.ValidateSessionLimits); zero: idp's defaults.
	SessionIdle, SessionMax time.Duration
	Log                     *slog.Logger // nil: slog.Default()
	// OnMail, if set, sees every mail the services seal for the outbox
	// (tests read the links from it).
	OnMail func(idp.Mail)
}

// Accounts are the account service and the organisation rules over it.
type Accounts struct {
	Service *idp.Service
	Orgs    *delegation.Service
}

// NewAccounts wires the account service and the organisation rules; a
// deletion (by the user or by the lifecycle) tells the other party of each
// representation.
func NewAccounts(c Config) (Accounts, error) {
	if c.Store == nil || c.Ring == nil {
		return Accounts{}, fmt.Errorf("wire: a store and a key ring are required")
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	c.SessionIdle, c.SessionMax = cmp.Or(c.SessionIdle, idp.DefaultSessionIdle), cmp.Or(c.SessionMax, idp.DefaultSessionMax)
	if err := idp.ValidateSessionLimits(c.SessionIdle, c.SessionMax); err != nil {
		return Accounts{}, fmt.Errorf("wire: sessions: %w", err)
	}
	if c.Hasher == nil {
		params := idp.DefaultArgon2
		if err := params.Validate(); err != nil {
			return Accounts{}, err
		}
		c.Hasher = idp.NewHasher(params, 2*runtime.GOMAXPROCS(0))
	}
	seal := func(m idp.Mail) (idp.Outgoing, error) {
		if c.OnMail != nil {
			c.OnMail(m)
		}
		return notify.SealMail(c.Ring, m)
	}
	svc := idp.NewService(idp.Config{BaseURL: c.Issuer, Now: c.Now, Limits: c.Limits, SealMail: seal,
		SessionIdle: c.SessionIdle, SessionMax: c.SessionMax},
		c.Store, c.Eph, c.Ring, c.Hasher, c.Log)
	var counters delegation.Counters
	if c.Eph != nil {
		counters = c.Eph
	}
	orgs := delegation.NewService(delegation.Config{BaseURL: c.Issuer, Now: c.Now, SealMail: seal,
		Hasher: c.Hasher, Counters: counters}, c.Store, svc, c.Log)
	svc.SetOnDelete(orgs.DeletionNotices)
	return Accounts{Service: svc, Orgs: orgs}, nil
}

// Web is what the web front of the IdP needs beyond Config.
type Web struct {
	// CryptoKey encrypts the OIDC library's tokens and codes.
	CryptoKey [32]byte
	// Page settings: Secure, CSRFKey, TrustedProxies, DevOutbox, Services,
	// Federation and Portal are taken from here; the services are wired
	// in by New.
	Page web.Config
	// SMS configures the SMS codes, sent through SMSSender.
	SMS       mfa.Config
	SMSSender mfa.SMSSender
	// Passkeys configures WebAuthn (nil: no passkeys). WebAuthn needs a
	// host name: on an issuer with an IP address a configuration that
	// WebAuthn refuses turns passkeys off with a warning instead of
	// failing the start.
	Passkeys *passkey.Config
}

// IdP is a wired identity provider.
type IdP struct {
	Accounts
	Provider *provider.Provider
	Keys     *provider.KeyCache    // loaded; the caller runs Keys.Run if keys rotate while it runs
	Clients  *provider.ClientCache // loaded
	Factors  *mfa.Factors
	Passkeys *passkey.Service // nil without passkeys
	Handler  http.Handler
}

// New wires the whole identity provider: the account services, the OpenID
// provider with its key and client caches, the second factors and the web
// pages.
func New(ctx context.Context, c Config, w Web) (*IdP, error) {
	acc, err := NewAccounts(c)
	if err != nil {
		return nil, err
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	keys := provider.NewKeyCache(c.Store, c.Ring)
	if err := keys.Load(ctx); err != nil {
		return nil, err
	}
	clients := provider.NewClientCache(c.Store, "/login", 10*time.Minute)
	if err := clients.Load(ctx); err != nil {
		return nil, err
	}
	prov, err := provider.New(provider.Config{Issuer: c.Issuer, CryptoKey: w.CryptoKey,
		SessionCookie: web.SessionCookieName(w.Page.Secure), Now: c.Now, Acting: acc.Orgs},
		acc.Service, keys, clients, c.Log)
	if err != nil {
		return nil, err
	}
	tpl, err := templates.Parse()
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	smsCfg := w.SMS
	if smsCfg.Now == nil {
		smsCfg.Now = c.Now
	}
	sms, err := mfa.New(smsCfg, c.Eph, w.SMSSender, c.Log)
	if err != nil {
		return nil, fmt.Errorf("SMS codes: %w", err)
	}
	factors := mfa.NewFactors(acc.Service, c.Store, sms, c.Issuer+"/security")
	var passkeys *passkey.Service
	if w.Passkeys != nil {
		pc := *w.Passkeys
		if pc.Now == nil {
			pc.Now = c.Now
		}
		passkeys, err = passkey.New(pc, c.Eph, c.Store, c.Log)
		if err != nil {
			if u, _ := url.Parse(c.Issuer); net.ParseIP(u.Hostname()) == nil {
				return nil, fmt.Errorf("passkeys: %w", err)
			}
			c.Log.Warn("passkeys disabled: the issuer is an IP address, WebAuthn needs a host name", "issuer", c.Issuer)
			passkeys = nil
		}
	}
	page := w.Page
	page.Issuer, page.Factors, page.Passkeys, page.Orgs, page.Acting = c.Issuer, factors, passkeys, acc.Orgs, acc.Orgs
	return &IdP{Accounts: acc, Provider: prov, Keys: keys, Clients: clients, Factors: factors, Passkeys: passkeys,
		Handler: web.New(page, acc.Service, prov, tpl, c.Log)}, nil
}

// PasskeyConfig binds passkeys to rpID (the WebAuthn RP ID, which must
// never change; "" means the issuer's host name, or give a registrable
// parent domain of it) and to the issuer's origin.
func PasskeyConfig(issuer, rpID string, ring *keyring.Ring) *passkey.Config {
	u, _ := url.Parse(issuer)
	if rpID == "" {
		rpID = u.Hostname()
	}
	return &passkey.Config{RPID: rpID, RPDisplayName: "Kundencenter", Origins: []string{u.Scheme + "://" + u.Host},
		UserHandles: ring}
}
