package idp

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/kanton/kundencenter/keyring"
)

// Config holds the identity provider's account rules.
type Config struct {
	// BaseURL is the public URL of the IdP (the issuer), used in e-mailed links.
	BaseURL string
	// ActivationTTL is how long an activation link is valid.
	ActivationTTL time.Duration
	// ResetTTL is how long a password-reset link is valid.
	ResetTTL time.Duration
	// SessionIdle ends an SSO session after this much inactivity.
	SessionIdle time.Duration
	// SessionMax ends an SSO session this long after the login, whatever happens.
	SessionMax time.Duration
	// Limits are the rate limits; zero values take the defaults.
	Limits Limits
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// SealMail checks and seals an e-mail for the outbox (notify.SealMail in
	// production, which validates template and data); nil seals without checks.
	SealMail func(Mail) (Outgoing, error)
	// OnDelete returns the messages an account's deletion owes besides the
	// IdP's own (delegation.Service.DeletionNotices: the other party of an
	// open representation and the services it covered); both deletion paths
	// (DeleteAccountByUser, the lifecycle purge) enqueue them in the
	// deletion's transaction. An error stops the deletion. nil: none.
	OnDelete func(ctx context.Context, accountID string, now time.Time) ([]Outgoing, error)
}

// Limits are the rate limits applied to the account pages.
type Limits struct {
	LoginPerAccount Rule // attempts for one e-mail address from browsers the account does not know
	LoginPerDevice  Rule // attempts for one account from one of its known browsers
	LoginPerIP      Rule
	LoginPerNetwork Rule // attempts from one /24 (IPv4) or /56 (IPv6)
	RegisterPerIP   Rule
	ResetPerAccount Rule // reset mails to one address
	ResetPerIP      Rule
}

// DefaultLimits are sized so that a person never meets them and a script
// meets them quickly (OWASP ASVS 2.2.1: at most 100 failures per hour per account).
var DefaultLimits = Limits{
	LoginPerAccount: Rule{Name: "login_acct", Limit: 10, Window: 15 * time.Minute},
	LoginPerDevice:  Rule{Name: "login_dev", Limit: 10, Window: 15 * time.Minute},
	LoginPerIP:      Rule{Name: "login_ip", Limit: 60, Window: 15 * time.Minute},
	LoginPerNetwork: Rule{Name: "login_net", Limit: 300, Window: 15 * time.Minute},
	RegisterPerIP:   Rule{Name: "register_ip", Limit: 10, Window: time.Hour},
	ResetPerAccount: Rule{Name: "reset_acct", Limit: 3, Window: time.Hour},
	ResetPerIP:      Rule{Name: "reset_ip", Limit: 20, Window: time.Hour},
}

func (c *Config) defaults() {
	if c.ActivationTTL == 0 {
		c.ActivationTTL = 72 * time.Hour
	}
	if c.ResetTTL == 0 {
		c.ResetTTL = 30 * time.Minute
	}
	if c.SessionIdle == 0 {
		c.SessionIdle = DefaultSessionIdle
	}
	if c.SessionMax == 0 {
		c.SessionMax = DefaultSessionMax
	}
	// Rules left out take their default.
	for _, r := range []struct{ got, def *Rule }{
		{&c.Limits.LoginPerAccount, &DefaultLimits.LoginPerAccount},
		{&c.Limits.LoginPerDevice, &DefaultLimits.LoginPerDevice},
		{&c.Limits.LoginPerIP, &DefaultLimits.LoginPerIP},
		{&c.Limits.LoginPerNetwork, &DefaultLimits.LoginPerNetwork},
		{&c.Limits.RegisterPerIP, &DefaultLimits.RegisterPerIP},
		{&c.Limits.ResetPerAccount, &DefaultLimits.ResetPerAccount},
		{&c.Limits.ResetPerIP, &DefaultLimits.ResetPerIP},
	} {
		if *r.got == (Rule{}) {
			*r.got = *r.def
		}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Service carries out the account rules over the stores.
type Service struct {
	checked checkCache // revocation.go
	cfg     Config
	store   Store
	eph     Ephemeral
	ring    *keyring.Ring
	hasher  *Hasher
	limiter Limiter
	log     *slog.Logger
	// subjects derives pairwise subjects; recorded remembers those
	// written to the store (subjects.go).
	subjects Subjects
	recorded recorded
}

// NewService wires the account service.
func NewService(cfg Config, store Store, eph Ephemeral, ring *keyring.Ring, hasher *Hasher, log *slog.Logger) *Service {
	cfg.defaults()
	if log == nil {
		log = slog.Default()
	}
	s := &Service{cfg: cfg, store: store, eph: eph, ring: ring, hasher: hasher,
		limiter: Limiter{Store: eph, Prefix: "rl:"}, log: log}
	if ring != nil {
		s.subjects = NewSubjects(ring)
	}
	return s
}

// Now returns the service clock's time.
func (s *Service) Now() time.Time { return s.cfg.Now().UTC() }

// SetOnDelete sets Config.OnDelete, for a hook whose service needs this one
// first (delegation). Call it before the service is used.
func (s *Service) SetOnDelete(fn func(ctx context.Context, accountID string, now time.Time) ([]Outgoing, error)) {
	s.cfg.OnDelete = fn
}

// deletionNotices returns out followed by what Config.OnDelete owes for
// the deletion of accountID at now.
func (s *Service) deletionNotices(ctx context.Context, accountID string, now time.Time, out []Outgoing) ([]Outgoing, error) {
	if s.cfg.OnDelete == nil {
		return out, nil
	}
	more, err := s.cfg.OnDelete(ctx, accountID, now)
	if err != nil {
		return nil, fmt.Errorf("deletion notices: %w", err)
	}
	return append(out, more...), nil
}

// Store returns the durable store (for the OIDC adapter).
func (s *Service) Store() Store { return s.store }

// Ephemeral returns the ephemeral store (for the OIDC adapter).
func (s *Service) Ephemeral() Ephemeral { return s.eph }

// Errors of the account flows. They carry no detail that would tell an
// attacker whether an account exists.
var (
	// ErrLoginFailed covers unknown address, wrong password and inactive account alike.
	ErrLoginFailed = errors.New("login failed")
	// ErrAccountDisabled means an operator blocked the account; it is
	// answered only after the right password, so it tells an attacker
	// nothing the password did not.
	ErrAccountDisabled = errors.New("account disabled")
	// ErrRateLimited means a rate limit was reached; the user should wait.
	ErrRateLimited = errors.New("rate limited")
	// ErrLinkInvalid means an e-mailed link is unknown, expired or used.
	ErrLinkInvalid = errors.New("link invalid")
)

// ValidationError lists the problems of a submitted form by field; the
// values are message keys ("err.required", "err.pw_too_short", …).
type ValidationError struct {
	Fields map[string][]string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("invalid input in %d fields", len(e.Fields))
}

func (e *ValidationError) add(field, key string) {
	if e.Fields == nil {
		e.Fields = map[string][]string{}
	}
	e.Fields[field] = append(e.Fields[field], key)
}

func (e *ValidationError) orNil() error {
	if len(e.Fields) == 0 {
		return nil
	}
	return e
}

// Personal opens an account's sealed personal data.
func (s *Service) Personal(a Account) (Personal, error) {
	var p Personal
	raw, err := s.ring.Open(a.Sealed, []byte(a.ID))
	if err != nil {
		return p, fmt.Errorf("open personal data of %s: %w", a.ID, err)
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return p, fmt.Errorf("decode personal data of %s: %w", a.ID, err)
	}
	return p, nil
}

func (s *Service) seal(a *Account, p Personal) error {
	raw, err := json.Marshal(p)
	if err != nil {
		return err
	}
	a.Sealed = s.ring.Seal(raw, []byte(a.ID))
	return nil
}

// EmailIndex returns the blind index of an e-mail address.
func (s *Service) EmailIndex(email string) []byte {
	return s.ring.Index("email", NormalizeEmail(email))
}

func (s *Service) mail(to, locale, template string, data map[string]string) (Outgoing, error) {
	if s.cfg.SealMail != nil {
		return s.cfg.SealMail(Mail{To: to, Locale: locale, Template: template, Data: data})
	}
	raw, err := json.Marshal(Mail{To: to, Locale: locale, Template: template, Data: data})
	if err != nil {
		return Outgoing{}, err
	}
	return Outgoing{Kind: "mail", Sealed: s.ring.Seal(raw, []byte("mail"))}, nil
}

func (s *Service) allow(ctx context.Context, rules []Rule, keys []string) error {
	ok, err := s.limiter.AllowAll(ctx, rules, keys)
	if err != nil {
		// Fail closed: without the limiter we cannot bound guessing.
		return fmt.Errorf("rate limiter: %w", errors.Join(ErrUnavailable, err))
	}
	if !ok {
		return ErrRateLimited
	}
	return nil
}

// newToken returns a 256-bit random token (base64url) and its SHA-256 hash.
func newToken() (string, []byte) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	tok := base64.RawURLEncoding.EncodeToString(b)
	return tok, HashToken(tok)
}

// HashToken is the SHA-256 of a high-entropy token; tokens are stored only as hashes.
func HashToken(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// NewID returns a 128-bit random identifier (base64url, no ':'), used for
// accounts, sessions, auth requests and token IDs.
func NewID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Service) audit(ctx context.Context, actor, action, subject, detail string) {
	s.appendAudit(ctx, s.auditEvent(ctx, actor, action, subject, detail))
}

// auditEvent is the audit record of an action now, from the request's
// client address.
func (s *Service) auditEvent(ctx context.Context, actor, action, subject, detail string) AuditEvent {
	return AuditEvent{At: s.Now(), Actor: actor, Action: action, Subject: subject, Detail: detail,
		IP: TruncateIP(ClientIP(ctx)), Outcome: SecurityOutcome(action)}
}

// appendAudit appends events in one transaction; a failure is logged.
func (s *Service) appendAudit(ctx context.Context, events ...AuditEvent) {
	if len(events) == 0 {
		return
	}
	if err := s.store.AppendAudit(ctx, events...); err != nil {
		actions := make([]string, len(events))
		for i, e := range events {
			actions[i] = e.Action
		}
		s.log.ErrorContext(ctx, "audit append failed", "actions", actions, "err", err)
	}
}

// Mail builds a sealed e-mail for the outbox (validated like every other
// mail), for packages that add their own notices (mfa, delegation).
func (s *Service) Mail(to, locale, template string, data map[string]string) (Outgoing, error) {
	return s.mail(to, locale, template, data)
}

// Audit appends an event to the audit log; a failure is logged, not returned.
func (s *Service) Audit(ctx context.Context, actor, action, subject, detail string) {
	s.audit(ctx, actor, action, subject, detail)
}

// Allow counts a request against every rule (keys[i] for rules[i]) and
// returns ErrRateLimited when one is exceeded; it fails closed with
// ErrUnavailable when the counters cannot be reached.
func (s *Service) Allow(ctx context.Context, rules []Rule, keys []string) error {
	return s.allow(ctx, rules, keys)
}

// Hasher returns the password hasher (Argon2id), shared with other secrets
// that are hashed like passwords (recovery codes).
func (s *Service) Hasher() *Hasher { return s.hasher }

// SealFor seals a small secret value (a phone number) bound to an account
// and a purpose with the key ring; OpenFor reverses it.
func (s *Service) SealFor(accountID, purpose string, value []byte) []byte {
	return s.ring.Seal(value, []byte(purpose+":"+accountID))
}

// OpenFor opens what SealFor sealed for the same account and purpose.
func (s *Service) OpenFor(accountID, purpose string, sealed []byte) ([]byte, error) {
	return s.ring.Open(sealed, []byte(purpose+":"+accountID))
}
