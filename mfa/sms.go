package mfa

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/kanton/kundencenter/idp"
)

// SMSSender delivers one text message to an E.164 number. Implementations
// must not put the number or the body into their errors or logs.
type SMSSender interface {
	SendSMS(ctx context.Context, to, body string) error
}

// Purpose is what an SMS code confirms; a code only verifies for the
// purpose (and account) it was started for.
type Purpose string

// The purposes of SMS codes.
const (
	// PurposeLogin is the second factor of a login or step-up, sent to the bound number.
	PurposeLogin Purpose = "login"
	// PurposeEnrol confirms a new number before it is bound to the account.
	PurposeEnrol Purpose = "enrol"
	// PurposePhoneChange confirms the new number of a number change.
	PurposePhoneChange Purpose = "phone_change"
)

func (p Purpose) valid() bool {
	return p == PurposeLogin || p == PurposeEnrol || p == PurposePhoneChange
}

// Limits of the code lifecycle (security-anchors "OTP"; NIST SP 800-63B-4
// §3.1.3: at most 10 minutes for a code sent by SMS).
const (
	// CodeDigits is the length of a code.
	CodeDigits = 6
	// MaxCodeTTL is the longest a code may be valid.
	MaxCodeTTL = 10 * time.Minute
	// challengeLifetimes bounds the life of a challenge across resends to
	// this many code lifetimes from its start; the attempt counter lives as
	// long, so a resend can never outlive (and thereby reset) it.
	challengeLifetimes = 3
)

// StartRequest asks for a code to be sent.
type StartRequest struct {
	// AccountID is the account the code is for; it must have passed the
	// first factor (login) or hold a session (enrolment, number change).
	AccountID string
	// Phone is the number as typed or as stored; it is parsed with ParsePhone.
	Phone string
	// IP is the client's address (from trusted proxy headers only).
	IP string
	// Purpose is what the code confirms.
	Purpose Purpose
	// Locale chooses the SMS language: de (default), fr, it or en.
	Locale string
}

// Challenge is a pending code, as the caller keeps it (in the login
// transaction or the session). The ID is a 128-bit secret bearer value.
type Challenge struct {
	ID          string
	ExpiresAt   time.Time // the current code's expiry
	ResendAt    time.Time // earliest time of a resend
	MaskedPhone string    // "+41 79 *** ** 67", for the page
}

// VerifiedChallenge is a challenge whose code was right; it was consumed.
type VerifiedChallenge struct {
	ID         string
	AccountID  string
	Purpose    Purpose
	Phone      PhoneNumber
	VerifiedAt time.Time
}

// record is a challenge as stored in the ephemeral store. It holds an HMAC
// of the code, never the code.
type record struct {
	AccountID string    `json:"a"`
	Purpose   Purpose   `json:"p"`
	Phone     string    `json:"n"`
	Region    string    `json:"r"`
	Locale    string    `json:"l"`
	Sends     int       `json:"s"` // codes sent so far, 1 after Start
	MAC       []byte    `json:"h"`
	Created   time.Time `json:"c"`
	SentAt    time.Time `json:"t"`
	ExpiresAt time.Time `json:"e"`
}

// Service sends and checks SMS one-time codes. It keeps its state in an
// idp.Ephemeral store only, so any number of instances may share it.
type Service struct {
	cfg     Config
	eph     idp.Ephemeral
	sender  SMSSender
	limiter idp.Limiter
	log     *slog.Logger
}

// New returns a service on the ephemeral store eph that sends through
// sender, or the configuration's problems. A nil log means slog.Default.
func New(cfg Config, eph idp.Ephemeral, sender SMSSender, log *slog.Logger) (*Service, error) {
	cfg.Countries = append([]string(nil), cfg.Countries...)
	cfg.Key = append([]byte(nil), cfg.Key...)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if eph == nil || sender == nil {
		return nil, fmt.Errorf("%w: ephemeral store and SMS sender are required", ErrInvalidRequest)
	}
	cfg.defaults()
	if log == nil {
		log = slog.Default()
	}
	return &Service{
		cfg: cfg, eph: eph, sender: sender, log: log,
		limiter: idp.Limiter{Store: eph, Prefix: cfg.KeyPrefix + "rl:"},
	}, nil
}

// ParsePhone normalises a number against the configured countries (see the
// package function ParsePhone).
func (s *Service) ParsePhone(raw string) (PhoneNumber, error) {
	return ParsePhone(raw, s.cfg.Countries)
}

func (s *Service) challengeKey(id string) string { return s.cfg.KeyPrefix + "c:" + id }
func (s *Service) attemptsKey(id string) string  { return s.cfg.KeyPrefix + "a:" + id }
func (s *Service) failuresKey(account string) string {
	return s.cfg.KeyPrefix + "f:" + account
}
func (s *Service) resendKey(id string, sends int) string {
	return s.cfg.KeyPrefix + "r:" + id + ":" + strconv.Itoa(sends)
}

// lifetime is the longest a challenge lives across resends.
func (s *Service) lifetime() time.Duration { return challengeLifetimes * s.cfg.CodeTTL }

// Start checks the number and every budget, then creates a challenge and
// sends its code by SMS. Nothing is sent when a check fails or the store
// does not answer (ErrUnavailable); when sending fails the challenge is
// deleted (ErrSend).
func (s *Service) Start(ctx context.Context, req StartRequest) (Challenge, error) {
	if req.AccountID == "" || !req.Purpose.valid() {
		return Challenge{}, fmt.Errorf("%w: account %q, purpose %q", ErrInvalidRequest, req.AccountID, req.Purpose)
	}
	phone, err := s.ParsePhone(req.Phone)
	if err != nil {
		return Challenge{}, err
	}
	if err := s.spend(ctx, req.IP, req.AccountID, phone); err != nil {
		return Challenge{}, err
	}

	id := rand.Text() // 26 base32 characters, 130 bits
	now := s.cfg.Now()
	code := newCode()
	rec := record{
		AccountID: req.AccountID, Purpose: req.Purpose, Phone: phone.E164, Region: phone.Region,
		Locale: normLocale(req.Locale), Sends: 1, Created: now, SentAt: now,
		ExpiresAt: now.Add(s.cfg.CodeTTL),
	}
	rec.MAC = s.mac(id, rec, code)
	raw, err := json.Marshal(rec)
	if err != nil {
		return Challenge{}, fmt.Errorf("encode SMS challenge: %w", err)
	}
	ok, err := s.eph.SetNX(ctx, s.challengeKey(id), raw, s.cfg.CodeTTL)
	if err != nil {
		return Challenge{}, s.unavailable(ctx, "store challenge", err)
	}
	if !ok {
		return Challenge{}, fmt.Errorf("store SMS challenge: %w: challenge ID collision", ErrUnavailable)
	}
	if err := s.send(ctx, id, rec, code); err != nil {
		return Challenge{}, err
	}
	s.log.InfoContext(ctx, "sms code sent", "account_id", req.AccountID, "purpose", string(req.Purpose),
		"phone", phone, "region", phone.Region, "send", 1)
	return s.challenge(id, rec), nil
}

// Resend sends a new code for the challenge, at the earliest
// Config.ResendAfter after the last one, counted against the budgets (ip is
// the client's address), while the current code is still valid and within
// three code lifetimes of the start. The failure count of the challenge is
// not reset: attempts with every code sent for it add up to
// Config.MaxAttempts. The previous code stops working.
func (s *Service) Resend(ctx context.Context, challengeID, ip string) (Challenge, error) {
	rec, err := s.load(ctx, challengeID)
	if err != nil {
		return Challenge{}, err
	}
	now := s.cfg.Now()
	if now.Before(rec.SentAt.Add(s.cfg.ResendAfter)) {
		return Challenge{}, ErrResendTooSoon
	}
	if !now.Before(rec.Created.Add(s.lifetime())) {
		return Challenge{}, fmt.Errorf("resend: challenge too old: %w", ErrCodeExpired)
	}
	phone := PhoneNumber{E164: rec.Phone, Region: rec.Region}
	if err := s.spend(ctx, ip, rec.AccountID, phone); err != nil {
		return Challenge{}, err
	}
	// One resend per code: of concurrent resends exactly one wins.
	won, err := s.eph.SetNX(ctx, s.resendKey(challengeID, rec.Sends), []byte{1}, s.lifetime())
	if err != nil {
		return Challenge{}, s.unavailable(ctx, "resend gate", err)
	}
	if !won {
		return Challenge{}, ErrResendTooSoon
	}
	// Take, not Get: if a Verify consumed the challenge meanwhile, it stays consumed.
	old, err := s.take(ctx, challengeID)
	if err != nil {
		return Challenge{}, err
	}
	if old.Sends != rec.Sends {
		return Challenge{}, fmt.Errorf("resend: challenge changed concurrently: %w", ErrCodeExpired)
	}
	code := newCode()
	rec.Sends++
	rec.SentAt = now
	rec.ExpiresAt = minTime(now.Add(s.cfg.CodeTTL), rec.Created.Add(s.lifetime()))
	rec.MAC = s.mac(challengeID, rec, code)
	raw, err := json.Marshal(rec)
	if err != nil {
		return Challenge{}, fmt.Errorf("encode SMS challenge: %w", err)
	}
	if err := s.eph.Set(ctx, s.challengeKey(challengeID), raw, rec.ExpiresAt.Sub(now)); err != nil {
		return Challenge{}, s.unavailable(ctx, "store challenge", err)
	}
	if err := s.send(ctx, challengeID, rec, code); err != nil {
		return Challenge{}, err
	}
	s.log.InfoContext(ctx, "sms code sent", "account_id", rec.AccountID, "purpose", string(rec.Purpose),
		"phone", phone, "region", phone.Region, "send", rec.Sends)
	return s.challenge(challengeID, rec), nil
}

// Verify checks code against the challenge, which must belong to accountID
// and purpose. Every check counts, right or wrong, in a counter that is
// incremented before the comparison, so parallel guesses cannot exceed
// Config.MaxAttempts; the failing last attempt deletes the challenge
// (ErrLocked). A right code consumes the challenge atomically (single use).
// A code that is not six digits is refused (ErrCodeWrong) without counting.
func (s *Service) Verify(ctx context.Context, challengeID, accountID string, purpose Purpose, code string) (VerifiedChallenge, error) {
	code = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\u00a0' {
			return -1
		}
		return r
	}, code)
	if len(code) != CodeDigits || !allDigits(code) {
		return VerifiedChallenge{}, fmt.Errorf("code format: %w", ErrCodeWrong)
	}
	rec, err := s.load(ctx, challengeID)
	if err != nil {
		return VerifiedChallenge{}, err
	}
	if rec.AccountID != accountID || rec.Purpose != purpose {
		s.log.WarnContext(ctx, "sms code for another account or purpose", "account_id", accountID,
			"purpose", string(purpose), "challenge_account_id", rec.AccountID)
		return VerifiedChallenge{}, fmt.Errorf("challenge bound elsewhere: %w", ErrCodeExpired)
	}
	// Every check counts against the account before the comparison, so
	// parallel guesses cannot slip past the limit; a right code clears it.
	fails, err := s.eph.Incr(ctx, s.failuresKey(accountID), s.cfg.AccountFailureWindow)
	if err != nil {
		return VerifiedChallenge{}, s.unavailable(ctx, "count account attempt", err)
	}
	if fails > int64(s.cfg.AccountMaxFailures) {
		s.log.WarnContext(ctx, "sms codes locked for the account", "account_id", accountID, "failures", fails-1)
		return VerifiedChallenge{}, ErrAccountLocked
	}
	n, err := s.eph.Incr(ctx, s.attemptsKey(challengeID), s.lifetime())
	if err != nil {
		return VerifiedChallenge{}, s.unavailable(ctx, "count attempt", err)
	}
	if n > int64(s.cfg.MaxAttempts) {
		s.lock(ctx, challengeID, rec, n)
		return VerifiedChallenge{}, ErrLocked
	}
	if !hmac.Equal(s.mac(challengeID, rec, code), rec.MAC) {
		if n >= int64(s.cfg.MaxAttempts) {
			s.lock(ctx, challengeID, rec, n)
			return VerifiedChallenge{}, ErrLocked
		}
		s.log.InfoContext(ctx, "sms code wrong", "account_id", rec.AccountID, "purpose", string(rec.Purpose), "attempt", n)
		return VerifiedChallenge{}, &WrongCodeError{Left: s.cfg.MaxAttempts - int(n)}
	}
	taken, err := s.take(ctx, challengeID)
	if err != nil {
		return VerifiedChallenge{}, err
	}
	if !hmac.Equal(s.mac(challengeID, taken, code), taken.MAC) {
		// A resend replaced the code between our read and the take; the
		// challenge is gone now and must be started again.
		return VerifiedChallenge{}, fmt.Errorf("challenge changed concurrently: %w", ErrCodeExpired)
	}
	if err := s.eph.Delete(ctx, s.attemptsKey(challengeID), s.failuresKey(accountID)); err != nil {
		s.log.WarnContext(ctx, "sms attempt counters not deleted", "err", err)
	}
	phone := PhoneNumber{E164: taken.Phone, Region: taken.Region}
	s.log.InfoContext(ctx, "sms code verified", "account_id", taken.AccountID, "purpose", string(taken.Purpose),
		"phone", phone, "attempt", n)
	return VerifiedChallenge{
		ID: challengeID, AccountID: taken.AccountID, Purpose: taken.Purpose,
		Phone: phone, VerifiedAt: s.cfg.Now(),
	}, nil
}

// Cancel deletes a challenge (the user gave up or chose another factor).
func (s *Service) Cancel(ctx context.Context, challengeID string) error {
	if err := s.eph.Delete(ctx, s.challengeKey(challengeID)); err != nil {
		return s.unavailable(ctx, "cancel challenge", err)
	}
	return nil
}

// lock deletes a challenge whose attempts are spent. The attempt counter
// stays until it expires, so the count cannot start over.
func (s *Service) lock(ctx context.Context, id string, rec record, n int64) {
	if err := s.eph.Delete(ctx, s.challengeKey(id)); err != nil {
		// The counter stays above the limit, so the challenge stays locked.
		s.log.WarnContext(ctx, "sms locked challenge not deleted", "err", err)
	}
	s.log.WarnContext(ctx, "sms code locked", "account_id", rec.AccountID, "purpose", string(rec.Purpose), "attempt", n)
}

// load reads a live challenge.
func (s *Service) load(ctx context.Context, id string) (record, error) {
	if id == "" {
		return record{}, ErrCodeExpired
	}
	raw, err := s.eph.Get(ctx, s.challengeKey(id))
	return s.decode(ctx, "load challenge", raw, err)
}

// take reads and deletes a challenge in one step.
func (s *Service) take(ctx context.Context, id string) (record, error) {
	raw, err := s.eph.Take(ctx, s.challengeKey(id))
	return s.decode(ctx, "take challenge", raw, err)
}

func (s *Service) decode(ctx context.Context, op string, raw []byte, err error) (record, error) {
	if errors.Is(err, idp.ErrNotFound) {
		return record{}, ErrCodeExpired
	}
	if err != nil {
		return record{}, s.unavailable(ctx, op, err)
	}
	var rec record
	if err := json.Unmarshal(raw, &rec); err != nil {
		return record{}, fmt.Errorf("%s: decode: %w", op, ErrCodeExpired)
	}
	// The store's own expiry may run on another clock; ours decides.
	if !s.cfg.Now().Before(rec.ExpiresAt) {
		return record{}, ErrCodeExpired
	}
	return rec, nil
}

// spend counts one SMS against every budget, narrowest first, and stops at
// the first that refuses.
func (s *Service) spend(ctx context.Context, ip, accountID string, phone PhoneNumber) error {
	b := s.cfg.Budgets
	if ip == "" {
		ip = "unknown"
	}
	checks := []struct {
		rule idp.Rule
		key  string
	}{
		{b.IP, ip},
		{b.Account, accountID},
		{b.Number, s.opaque("number", phone.E164)},
		{b.Prefix, s.opaque("prefix", phone.prefix())},
		{b.Country, phone.Region},
		{b.Global, "all"},
	}
	for _, c := range checks {
		ok, err := s.limiter.Allow(ctx, c.rule.Name+":"+c.key, c.rule.Limit, c.rule.Window)
		if err != nil {
			return s.unavailable(ctx, "budget "+c.rule.Name, err)
		}
		if !ok {
			s.log.WarnContext(ctx, "sms budget exhausted", "budget", c.rule.Name, "account_id", accountID,
				"phone", phone, "region", phone.Region)
			return &BudgetError{Budget: c.rule.Name}
		}
	}
	return nil
}

// send delivers the code; on failure the challenge is deleted.
func (s *Service) send(ctx context.Context, id string, rec record, code string) error {
	body := smsBody(rec.Locale, code, s.cfg.CodeTTL, s.cfg.WebOTPHost)
	err := s.sender.SendSMS(ctx, rec.Phone, body)
	if err == nil {
		return nil
	}
	// The challenge must not outlive a code nobody received; use a fresh
	// context so that a cancelled request still cleans up.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if derr := s.eph.Delete(cctx, s.challengeKey(id)); derr != nil {
		s.log.WarnContext(ctx, "sms challenge not deleted after failed send", "err", derr)
	}
	phone := PhoneNumber{E164: rec.Phone, Region: rec.Region}
	s.log.WarnContext(ctx, "sms not sent", "account_id", rec.AccountID, "phone", phone, "err", err)
	return fmt.Errorf("%w: %w", ErrSend, err)
}

func (s *Service) unavailable(ctx context.Context, op string, err error) error {
	s.log.ErrorContext(ctx, "sms codes: ephemeral store failed", "op", op, "err", err)
	return fmt.Errorf("%s: %w: %w", op, ErrUnavailable, err)
}

func (s *Service) challenge(id string, rec record) Challenge {
	return Challenge{
		ID: id, ExpiresAt: rec.ExpiresAt, ResendAt: rec.SentAt.Add(s.cfg.ResendAfter),
		MaskedPhone: MaskPhone(rec.Phone),
	}
}

// mac binds a code to its challenge, account, purpose, number and send.
func (s *Service) mac(id string, rec record, code string) []byte {
	m := hmac.New(sha256.New, s.cfg.Key)
	for _, part := range []string{"kc-mfa-sms-code-v1", id, rec.AccountID, string(rec.Purpose),
		rec.Phone, strconv.Itoa(rec.Sends), code} {
		m.Write([]byte(part))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

// opaque turns personal data into a budget bucket name.
func (s *Service) opaque(kind, v string) string {
	m := hmac.New(sha256.New, s.cfg.Key)
	m.Write([]byte("kc-mfa-sms-budget-v1\x00" + kind + "\x00" + v))
	return hex.EncodeToString(m.Sum(nil)[:12])
}

var million = big.NewInt(1_000_000)

// newCode returns six uniformly random decimal digits (crypto/rand.Int
// draws by rejection, so there is no modulo bias).
func newCode() string {
	n, err := rand.Int(rand.Reader, million)
	if err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return fmt.Sprintf("%06d", n.Int64())
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
