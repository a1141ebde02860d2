package idp

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// NormalizeEmail lower-cases and trims an address (NFC), so that the blind
// index finds "Anna.Muster@Example.CH " as "anna.muster@example.ch".
func NormalizeEmail(s string) string {
	return strings.ToLower(norm.NFC.String(strings.TrimSpace(s)))
}

// ValidEmail reports whether s is a plain deliverable address (no display
// name, an @, a dotted domain, at most 254 characters).
func ValidEmail(s string) bool {
	if len(s) > 254 || strings.ContainsAny(s, " <>\"\r\n") {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	return at > 0 && strings.Contains(s[at+1:], ".") && !strings.HasSuffix(s, ".")
}

// RegisterInput is what a person submits to open an account.
type RegisterInput struct {
	GivenName, FamilyName, Email, Password, PasswordRepeat string
	Locale                                                 string
	IP                                                     string
	ReturnTo                                               string // optional: the pending authorize request, carried in the activation link
}

const maxNameLen = 100

// Register validates the input and, when it is valid, opens a pending
// account and e-mails its activation link and Konto-ID in one transaction.
// If the address already has an account, that account's owner gets a
// "you already have an account" mail instead; the caller sees the same
// outcome either way (enumeration safety).
func (s *Service) Register(ctx context.Context, in RegisterInput) error {
	in.GivenName = strings.TrimSpace(in.GivenName)
	in.FamilyName = strings.TrimSpace(in.FamilyName)
	email := NormalizeEmail(in.Email)
	v := &ValidationError{}
	for field, val := range map[string]string{"given_name": in.GivenName, "family_name": in.FamilyName} {
		switch {
		case val == "":
			v.add(field, "err.required")
		case utf8.RuneCountInString(val) > maxNameLen:
			v.add(field, "err.name_too_long")
		case BadText(val):
			v.add(field, "err.invalid_chars")
		}
	}
	switch {
	case email == "":
		v.add("email", "err.required")
	case !ValidEmail(email):
		v.add("email", "err.email_invalid")
	}
	s.checkNewPassword(v, in.Password, in.PasswordRepeat, in.GivenName, in.FamilyName, email)
	if err := v.orNil(); err != nil {
		return err
	}
	if err := s.allow(ctx, []Rule{s.cfg.Limits.RegisterPerIP}, []string{in.IP}); err != nil {
		return err
	}
	locale := in.Locale
	if locale == "" {
		locale = "de"
	}
	index := s.EmailIndex(email)
	name := in.GivenName + " " + in.FamilyName
	// Hash first, for a known address too: the answer must take as long
	// whether or not the address has an account (enumeration by timing),
	// and hashing outside the transaction keeps it short.
	hash, err := s.hasher.Hash(ctx, in.Password)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	if existing, err := s.store.GetAccountByEmailIndex(ctx, index); err == nil {
		return s.mailExisting(ctx, existing, locale)
	} else if !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("look up e-mail: %w", err)
	}
	now := s.Now()
	for attempt := 0; ; attempt++ {
		a := Account{ID: NewID(), KontoID: NewKontoID(), EmailIndex: index, PasswordHash: hash,
			Status: StatusPending, Locale: locale, CreatedAt: now, PasswordChangedAt: now}
		if err := s.seal(&a, Personal{GivenName: in.GivenName, FamilyName: in.FamilyName, Email: email}); err != nil {
			return err
		}
		tok, tokHash := newToken()
		link := s.cfg.BaseURL + "/activate?token=" + tok
		if in.ReturnTo != "" {
			link += "&authRequestID=" + url.QueryEscape(in.ReturnTo)
		}
		out, err := s.mail(email, locale, MailActivate, map[string]string{
			"Name": name, "KontoID": a.KontoID, "Link": link,
			"ValidHours": strconv.Itoa(int(s.cfg.ActivationTTL.Hours())),
		})
		if err != nil {
			return err
		}
		err = s.store.CreateAccount(ctx, a,
			ActionToken{Hash: tokHash, Purpose: PurposeActivate, AccountID: a.ID, CreatedAt: now, ExpiresAt: now.Add(s.cfg.ActivationTTL)}, out)
		if errors.Is(err, ErrConflict) && attempt < 3 {
			// Either the address was registered a moment ago (then mail the
			// owner) or the random Konto-ID collided (then draw again).
			if existing, gerr := s.store.GetAccountByEmailIndex(ctx, index); gerr == nil {
				return s.mailExisting(ctx, existing, locale)
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("create account: %w", err)
		}
		s.audit(ctx, a.ID, "account.registered", a.ID, "")
		return nil
	}
}

// mailExisting answers a registration for a known address. A pending account
// gets a fresh activation link; an active one a hint to log in or reset.
func (s *Service) mailExisting(ctx context.Context, a Account, locale string) error {
	if err := s.allow(ctx, []Rule{s.cfg.Limits.ResetPerAccount}, []string{a.ID}); err != nil {
		return nil // silently drop: same answer, no mail flood
	}
	p, err := s.Personal(a)
	if err != nil {
		return err
	}
	name := p.GivenName + " " + p.FamilyName
	now := s.Now()
	if a.Status == StatusPending {
		tok, tokHash := newToken()
		out, err := s.mail(p.Email, a.Locale, MailActivate, map[string]string{
			"Name": name, "KontoID": a.KontoID, "Link": s.cfg.BaseURL + "/activate?token=" + tok,
			"ValidHours": strconv.Itoa(int(s.cfg.ActivationTTL.Hours())),
		})
		if err != nil {
			return err
		}
		return s.store.CreateActionToken(ctx, ActionToken{Hash: tokHash, Purpose: PurposeActivate, AccountID: a.ID,
			CreatedAt: now, ExpiresAt: now.Add(s.cfg.ActivationTTL)}, out)
	}
	out, err := s.mail(p.Email, a.Locale, MailAlreadyRegistered, map[string]string{
		"Name": name, "LoginLink": s.cfg.BaseURL + "/", "ResetLink": s.cfg.BaseURL + "/reset",
	})
	if err != nil {
		return err
	}
	return s.store.EnqueueOutgoing(ctx, out)
}

func (s *Service) checkNewPassword(v *ValidationError, pw, repeat string, context ...string) {
	if pw == "" {
		v.add("password", "err.required")
		return
	}
	for _, p := range CheckPassword(pw, context...) {
		v.add("password", "err.pw_"+string(p))
	}
	if pw != repeat {
		v.add("password_repeat", "err.pw_mismatch")
	}
}

// Activate consumes an activation link and activates its account.
func (s *Service) Activate(ctx context.Context, token string) (Account, error) {
	a, err := s.store.ConsumeActionToken(ctx, PurposeActivate, HashToken(token), s.Now(),
		func(a Account) (Account, []Outgoing, error) {
			if a.Status == StatusPending {
				a.Status = StatusActive
				a.ActivatedAt = s.Now()
			}
			return a, nil, nil
		})
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrReused) {
		return Account{}, ErrLinkInvalid
	}
	if err != nil {
		return Account{}, fmt.Errorf("activate: %w", err)
	}
	s.audit(ctx, a.ID, "account.activated", a.ID, "")
	return a, nil
}

// Login checks e-mail and password from a browser the account does not
// know (see LoginFrom).
func (s *Service) Login(ctx context.Context, email, password, ip string) (Account, error) {
	return s.LoginFrom(ctx, LoginAttempt{Email: email, Password: password, IP: ip})
}

// LoginAttempt is one e-mail + password login.
type LoginAttempt struct {
	Email, Password, IP string
	// Device is the browser's device cookie: an ID RememberDevice recorded
	// for the account after an earlier successful login; "" for none.
	Device string
}

// LoginFrom checks e-mail and password. Every failure is ErrLoginFailed (or
// ErrRateLimited), with the same cost whether or not the address is known.
//
// Throttling limits the attacker, not the owner (OWASP ASVS 2.2.1, NIST SP
// 800-63B-4 §3.2.2): attempts are counted per IP address, per network (/24
// for IPv4, /56 for IPv6) and per account; the per-account count applies to
// browsers the account does not know, while each known device of the account
// has its own count — so failures typed for someone's address from anywhere
// else never lock the owner out on their own browser. A successful login
// resets the account's count for that browser. A global rate of failures
// above FailedLoginAlert per minute is logged as an alert.
func (s *Service) LoginFrom(ctx context.Context, in LoginAttempt) (Account, error) {
	ctx = withClientIPDefault(ctx, in.IP)
	email := NormalizeEmail(in.Email)
	password := in.Password
	if len(password) > 4*MaxPasswordLength || len(email) > 320 {
		// Longer than any password we accept: refuse before any hashing.
		return Account{}, ErrLoginFailed
	}
	index := s.EmailIndex(email)
	if err := s.allow(ctx, []Rule{s.cfg.Limits.LoginPerIP, s.cfg.Limits.LoginPerNetwork},
		[]string{in.IP, ipNetwork(in.IP)}); err != nil {
		s.audit(ctx, "anonymous", EventLoginThrottled, "", "limit=ip")
		return Account{}, err
	}
	a, err := s.store.GetAccountByEmailIndex(ctx, index)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Account{}, fmt.Errorf("look up account: %w", err)
	}
	found := err == nil
	bucket := fmt.Sprintf("%x", index[:12])
	rule := s.cfg.Limits.LoginPerAccount
	if found && in.Device != "" && s.knownDevice(ctx, a.ID, in.Device) {
		bucket, rule = a.ID+":"+in.Device, s.cfg.Limits.LoginPerDevice
	}
	if err := s.allow(ctx, []Rule{rule}, []string{bucket}); err != nil {
		s.audit(ctx, "anonymous", EventLoginThrottled, a.ID, "limit=account")
		s.failedLogin(ctx)
		return Account{}, err
	}
	if !found {
		s.audit(ctx, "anonymous", EventLoginFailed, "", "unknown_account")
		s.hasher.Dummy(ctx, password)
		s.failedLogin(ctx)
		return Account{}, ErrLoginFailed
	}
	ok, rehash, err := s.hasher.Verify(ctx, password, a.PasswordHash)
	if err != nil {
		return Account{}, fmt.Errorf("verify password: %w", err)
	}
	if ok && a.Status == StatusDisabled {
		s.audit(ctx, a.ID, "account.login_inactive", a.ID, string(a.Status))
		return Account{}, ErrAccountDisabled
	}
	if !ok || a.Status != StatusActive {
		if ok {
			s.audit(ctx, a.ID, "account.login_inactive", a.ID, string(a.Status))
		} else {
			s.audit(ctx, "anonymous", EventLoginFailed, a.ID, "password")
		}
		s.failedLogin(ctx)
		return Account{}, ErrLoginFailed
	}
	if err := s.limiter.Reset(ctx, rule.Name+":"+bucket); err != nil {
		s.log.WarnContext(ctx, "reset login count", "err", err)
	}
	if !rehash {
		// The common case: one statement, no transaction.
		now := s.Now().UTC().Truncate(time.Microsecond) // as stored
		if err := s.store.RecordLogin(ctx, a.ID, now); err != nil {
			return Account{}, err
		}
		a.LastLoginAt = now
		return a, nil
	}
	newHash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return Account{}, err
	}
	a, err = s.store.UpdateAccount(ctx, a.ID, func(a Account) (Account, []Outgoing, error) {
		a.LastLoginAt = s.Now()
		a.PasswordHash = newHash
		return a, nil, nil
	})
	if err != nil {
		return Account{}, fmt.Errorf("record login: %w", err)
	}
	return a, nil
}

// RequestReset e-mails a single-use reset link if the address has an
// account. It returns nil whether or not it has one.
func (s *Service) RequestReset(ctx context.Context, email, locale, ip string) error {
	ctx = withClientIPDefault(ctx, ip)
	email = NormalizeEmail(email)
	if !ValidEmail(email) {
		v := &ValidationError{}
		v.add("email", "err.email_invalid")
		return v
	}
	if err := s.allow(ctx, []Rule{s.cfg.Limits.ResetPerIP}, []string{ip}); err != nil {
		return err
	}
	// A known address costs a few store writes more than an unknown one;
	// every answer takes at least resetFloor so the two cannot be told apart.
	defer padTo(time.Now(), resetFloor)
	a, err := s.store.GetAccountByEmailIndex(ctx, s.EmailIndex(email))
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("look up account: %w", err)
	}
	if err := s.allow(ctx, []Rule{s.cfg.Limits.ResetPerAccount}, []string{a.ID}); err != nil {
		return nil // same answer; no mail flood to the owner
	}
	if a.Status == StatusDisabled {
		return nil
	}
	p, err := s.Personal(a)
	if err != nil {
		return err
	}
	now := s.Now()
	tok, tokHash := newToken()
	out, err := s.mail(p.Email, a.Locale, MailReset, map[string]string{
		"Name": p.GivenName + " " + p.FamilyName, "Link": s.cfg.BaseURL + "/reset/confirm?token=" + tok,
		"ValidMinutes": strconv.Itoa(int(s.cfg.ResetTTL.Minutes())),
	})
	if err != nil {
		return err
	}
	if err := s.store.CreateActionToken(ctx, ActionToken{Hash: tokHash, Purpose: PurposeReset, AccountID: a.ID,
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.ResetTTL)}, out); err != nil {
		return fmt.Errorf("store reset token: %w", err)
	}
	s.audit(ctx, "anonymous", "account.reset_requested", a.ID, "")
	return nil
}

// Reset sets a new password through a reset link, activates a pending
// account (the link proves control of the address), ends every session and
// token of the account, and e-mails a notice.
//
// The new password, the used link, the revoked refresh tokens, the notice
// and the job that ends the sessions and access tokens in the ephemeral
// store commit in one transaction: if it fails, nothing changed and the
// link still works; once it committed, the job ends the sessions even if
// Redis is down now (it retries until done), so the reset succeeds.
func (s *Service) Reset(ctx context.Context, token, password, repeat string) (Account, error) {
	if token == "" {
		return Account{}, ErrLinkInvalid
	}
	v := &ValidationError{}
	s.checkNewPassword(v, password, repeat)
	if err := v.orNil(); err != nil {
		return Account{}, err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return Account{}, fmt.Errorf("hash password: %w", err)
	}
	now := s.Now()
	a, err := s.store.ConsumeActionToken(ctx, PurposeReset, HashToken(token), now,
		func(a Account) (Account, []Outgoing, error) {
			p, err := s.Personal(a)
			if err != nil {
				return a, nil, err
			}
			v := &ValidationError{}
			for _, pr := range CheckPassword(password, p.GivenName, p.FamilyName, p.Email) {
				v.add("password", "err.pw_"+string(pr))
			}
			if err := v.orNil(); err != nil {
				return a, nil, err
			}
			a.PasswordHash = hash
			a.PasswordChangedAt = now
			if a.Status == StatusPending {
				a.Status = StatusActive
				a.ActivatedAt = now
			}
			out, err := s.mail(p.Email, a.Locale, MailPasswordChanged, map[string]string{
				"Name": p.GivenName + " " + p.FamilyName, "ResetLink": s.cfg.BaseURL + "/reset",
			})
			return a, []Outgoing{out, EndSessionsOutgoing(a.ID, now, "password_reset")}, err
		})
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrReused) {
		return Account{}, ErrLinkInvalid
	}
	if err != nil {
		return Account{}, err
	}
	s.audit(ctx, a.ID, "account.password_reset", a.ID, "")
	s.settleSessions(ctx, a.ID, now, "password_reset") // endsessions.go; the job finishes it if this fails
	return a, nil
}

// FailedLoginAlert is the number of failed logins per minute, across all
// accounts, from which an alert is logged.
const FailedLoginAlert = 300

// failedLogin counts a failed login in the global per-minute rate and logs
// an alert when it crosses FailedLoginAlert (once per minute).
func (s *Service) failedLogin(ctx context.Context) {
	n, err := s.eph.Incr(ctx, "rl:login_fail_global", time.Minute)
	if err == nil && n == FailedLoginAlert {
		s.log.WarnContext(ctx, "ALERT: failed-login rate above threshold", "per_minute", n)
	}
}

// deviceTTL is how long a browser stays known to an account after a login.
const deviceTTL = 180 * 24 * time.Hour

// NewDeviceID returns a fresh 128-bit device ID for a device cookie.
func NewDeviceID() string { return NewID() }

// RememberDevice records that device (the browser's device cookie) completed
// a login of the account, so its later failures count apart from everyone
// else's (see LoginFrom).
func (s *Service) RememberDevice(ctx context.Context, accountID, device string) error {
	if device == "" || len(device) > 64 {
		return nil
	}
	return s.eph.SAdd(ctx, "devices:"+accountID, device, deviceTTL)
}

// knownDevice reports whether the account knows device; a store failure
// counts as unknown (the stricter bucket).
func (s *Service) knownDevice(ctx context.Context, accountID, device string) bool {
	if len(device) > 64 {
		return false
	}
	members, err := s.eph.SMembers(ctx, "devices:"+accountID)
	return err == nil && slices.Contains(members, device)
}

// ipNetwork returns the network an address belongs to for throttling: its
// /24 (IPv4) or /56 (IPv6); the input itself when it is not an address.
func ipNetwork(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	bits := 24
	if a.Is6() && !a.Is4In6() {
		bits = 56
	}
	p, err := a.Unmap().Prefix(bits)
	if err != nil {
		return ip
	}
	return p.String()
}

// resetFloor is the least time a reset request takes (see RequestReset).
const resetFloor = 120 * time.Millisecond

// padTo sleeps until floor has passed since start (wall time, not the
// injected clock: this is about what an observer can measure).
func padTo(start time.Time, floor time.Duration) {
	if d := floor - time.Since(start); d > 0 {
		time.Sleep(d)
	}
}
