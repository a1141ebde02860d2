package mfa

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kanton/kundencenter/idp"
)

// Factors manages an account's second factors over the durable store: the
// bound mobile number, the two-factor switch and the saved recovery codes,
// with the notices each change owes the user. It is what the pages call;
// the SMS code ceremony itself is Service.
type Factors struct {
	svc      *idp.Service
	store    Store
	sms      *Service
	securURL string
	log      logger
}

type logger interface {
	WarnContext(ctx context.Context, msg string, args ...any)
}

// Errors of the factor operations (besides those of Service).
var (
	// ErrNoPhone means the account has no bound number.
	ErrNoPhone = errors.New("no mobile number bound")
	// ErrNoFactor means two-factor login cannot be switched on without a factor.
	ErrNoFactor = errors.New("no second factor enrolled")
	// ErrRecoveryWrong means the recovery code is unknown, malformed or used.
	ErrRecoveryWrong = errors.New("recovery code wrong or used")
)

// Purpose names for SealFor.
const sealPhone = "mfa.phone"

// NewFactors wires the factor operations. securityURL is the absolute URL
// of the security page, linked from the notices.
func NewFactors(svc *idp.Service, store Store, sms *Service, securityURL string) *Factors {
	return &Factors{svc: svc, store: store, sms: sms, securURL: securityURL, log: sms.log}
}

// Settings returns the account's second-factor settings (zero without a
// Factors: no second factor is configured at all).
func (f *Factors) Settings(ctx context.Context, accountID string) (Settings, error) {
	if f == nil {
		return Settings{AccountID: accountID}, nil
	}
	return f.store.GetMFA(ctx, accountID)
}

// Credentials returns the account's passkeys, oldest first (none without a
// Factors).
func (f *Factors) Credentials(ctx context.Context, accountID string) ([]WebAuthnCredential, error) {
	if f == nil {
		return nil, nil
	}
	return f.store.ListWebAuthnCredentials(ctx, accountID)
}

// SMS returns the SMS code service.
func (f *Factors) SMS() *Service { return f.sms }

// Status is what the security page and the login step need to know.
type Status struct {
	Phone         PhoneNumber // zero when none is bound
	Required      bool        // two-factor login switched on
	RecoveryTotal int         // recovery codes issued
	RecoveryLeft  int         // of them unused
}

// Status reads the account's second-factor settings.
func (f *Factors) Status(ctx context.Context, accountID string) (Status, error) {
	m, err := f.store.GetMFA(ctx, accountID)
	if err != nil {
		return Status{}, err
	}
	st := Status{Required: m.Required}
	if st.Phone, err = f.phone(m); err != nil {
		return Status{}, err
	}
	codes, err := f.store.ListRecoveryCodes(ctx, accountID)
	if err != nil {
		return Status{}, err
	}
	for _, c := range codes {
		st.RecoveryTotal++
		if c.UsedAt.IsZero() {
			st.RecoveryLeft++
		}
	}
	return st, nil
}

func (f *Factors) phone(m Settings) (PhoneNumber, error) {
	if len(m.PhoneSealed) == 0 {
		return PhoneNumber{}, nil
	}
	raw, err := f.svc.OpenFor(m.AccountID, sealPhone, m.PhoneSealed)
	if err != nil {
		return PhoneNumber{}, fmt.Errorf("open bound number: %w", err)
	}
	// The stored number was valid when bound; parse it without the country
	// filter so that narrowing the allowed countries does not lose it.
	p, err := ParsePhone(string(raw), []string{"CH", "LI", "AT", "DE", "FR", "IT"})
	if err != nil {
		return PhoneNumber{E164: string(raw)}, nil
	}
	return p, nil
}

// StartEnrol sends a code to a new number (first number or a change). The
// caller has checked that the session is fresh enough for the change.
func (f *Factors) StartEnrol(ctx context.Context, accountID, rawPhone, ip, locale string) (Challenge, error) {
	st, err := f.Status(ctx, accountID)
	if err != nil {
		return Challenge{}, err
	}
	purpose := PurposeEnrol
	if !st.Phone.IsZero() {
		purpose = PurposePhoneChange
	}
	return f.sms.Start(ctx, StartRequest{AccountID: accountID, Phone: rawPhone, IP: ip, Purpose: purpose, Locale: locale})
}

// ConfirmEnrol checks the code sent to the new number and binds it. A
// replaced number gets an SMS notice and the account an e-mail.
func (f *Factors) ConfirmEnrol(ctx context.Context, accountID, challengeID, code, ip, locale string) (PhoneNumber, error) {
	st, err := f.Status(ctx, accountID)
	if err != nil {
		return PhoneNumber{}, err
	}
	purpose := PurposeEnrol
	if !st.Phone.IsZero() {
		purpose = PurposePhoneChange
	}
	v, err := f.sms.Verify(ctx, challengeID, accountID, purpose, code)
	if err != nil {
		return PhoneNumber{}, err
	}
	event := "phone_added"
	if !st.Phone.IsZero() {
		event = "phone_changed"
	}
	now := f.svc.Now()
	out, err := f.Notice(ctx, accountID, event)
	if err != nil {
		return PhoneNumber{}, err
	}
	var old PhoneNumber
	_, err = f.store.UpdateMFA(ctx, accountID, func(m Settings) (Settings, []idp.Outgoing, error) {
		var err error
		if old, err = f.phone(m); err != nil {
			return m, nil, err
		}
		m.PhoneSealed = f.svc.SealFor(accountID, sealPhone, []byte(v.Phone.E164))
		m.PhoneVerifiedAt, m.UpdatedAt = now, now
		return m, out, nil
	})
	if err != nil {
		return PhoneNumber{}, err
	}
	f.svc.Audit(ctx, accountID, "mfa."+event, accountID, "")
	if !old.IsZero() && old.E164 != v.Phone.E164 {
		if err := f.sms.NotifyUnbound(ctx, accountID, old.E164, locale); err != nil {
			f.log.WarnContext(ctx, "old number not notified", "account_id", accountID, "err", err)
		}
	}
	return v.Phone, nil
}

// RemovePhone unbinds the number. Without another factor, two-factor login
// is switched off with it (the e-mail says so).
func (f *Factors) RemovePhone(ctx context.Context, accountID string, otherFactor bool, ip, locale string) error {
	out, err := f.Notice(ctx, accountID, "phone_removed")
	if err != nil {
		return err
	}
	var old PhoneNumber
	_, err = f.store.UpdateMFA(ctx, accountID, func(m Settings) (Settings, []idp.Outgoing, error) {
		var err error
		if old, err = f.phone(m); err != nil {
			return m, nil, err
		}
		if old.IsZero() {
			return m, nil, ErrNoPhone
		}
		m.PhoneSealed, m.PhoneVerifiedAt, m.UpdatedAt = nil, time.Time{}, f.svc.Now()
		if !otherFactor {
			m.Required = false
		}
		return m, out, nil
	})
	if err != nil {
		return err
	}
	f.svc.Audit(ctx, accountID, "mfa.phone_removed", accountID, "")
	if err := f.sms.NotifyUnbound(ctx, accountID, old.E164, locale); err != nil {
		f.log.WarnContext(ctx, "removed number not notified", "account_id", accountID, "err", err)
	}
	return nil
}

// SetRequired switches two-factor login on or off; on needs a factor
// (hasFactor: a bound number or a passkey).
func (f *Factors) SetRequired(ctx context.Context, accountID string, on, hasFactor bool) error {
	if on && !hasFactor {
		return ErrNoFactor
	}
	event := "mfa_off"
	if on {
		event = "mfa_on"
	}
	out, err := f.Notice(ctx, accountID, event)
	if err != nil {
		return err
	}
	_, err = f.store.UpdateMFA(ctx, accountID, func(m Settings) (Settings, []idp.Outgoing, error) {
		if m.Required == on {
			return m, nil, nil
		}
		m.Required, m.UpdatedAt = on, f.svc.Now()
		return m, out, nil
	})
	if err == nil {
		f.svc.Audit(ctx, accountID, "mfa."+event, accountID, "")
	}
	return err
}

// StartLogin sends a login code to the bound number.
func (f *Factors) StartLogin(ctx context.Context, accountID, ip, locale string) (Challenge, error) {
	st, err := f.Status(ctx, accountID)
	if err != nil {
		return Challenge{}, err
	}
	if st.Phone.IsZero() {
		return Challenge{}, ErrNoPhone
	}
	return f.sms.Start(ctx, StartRequest{AccountID: accountID, Phone: st.Phone.E164, IP: ip, Purpose: PurposeLogin, Locale: locale})
}

// VerifyLogin checks a login code.
func (f *Factors) VerifyLogin(ctx context.Context, accountID, challengeID, code string) error {
	_, err := f.sms.Verify(ctx, challengeID, accountID, PurposeLogin, code)
	return err
}

// Recovery codes: RecoveryCodeCount codes of the form "XXXX-XXXX-XXXX-XXXX-XXXX"
// (Crockford base32 without I, L, O, U; 100 bits), of which the first group
// names the code and the other four (80 bits) are the secret, stored as an
// Argon2id hash (ASVS 6.5.2: lookup secrets under 112 bits are stored with
// a salted password hash; NIST SP 800-63B-4 §4.2: at least 64 bits).
const (
	RecoveryCodeCount = 10
	recoveryAlphabet  = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
)

// Rate limit on recovery-code attempts per account (each costs an Argon2id
// hash): a person never needs more, a guesser gets 10 a day against 2^80.
var recoveryRule = idp.Rule{Name: "recovery_acct", Limit: 10, Window: 24 * time.Hour}

func randomGroup(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = recoveryAlphabet[int(b[i])%len(recoveryAlphabet)] // 256 % 32 == 0: uniform
	}
	return string(b)
}

// NewRecoveryCodes replaces the account's recovery codes with fresh ones
// and returns them, to be shown exactly once.
func (f *Factors) NewRecoveryCodes(ctx context.Context, accountID string) ([]string, error) {
	now := f.svc.Now()
	codes := make([]string, 0, RecoveryCodeCount)
	rows := make([]RecoveryCode, 0, RecoveryCodeCount)
	seen := map[string]bool{}
	for len(codes) < RecoveryCodeCount {
		id := randomGroup(4)
		if seen[id] {
			continue
		}
		seen[id] = true
		secret := randomGroup(16)
		hash, err := f.svc.Hasher().Hash(ctx, secret)
		if err != nil {
			return nil, err
		}
		codes = append(codes, id+"-"+secret[0:4]+"-"+secret[4:8]+"-"+secret[8:12]+"-"+secret[12:16])
		rows = append(rows, RecoveryCode{AccountID: accountID, ID: id, Hash: hash, CreatedAt: now})
	}
	out, err := f.Notice(ctx, accountID, "recovery_new")
	if err != nil {
		return nil, err
	}
	if err := f.store.ReplaceRecoveryCodes(ctx, accountID, rows, out...); err != nil {
		return nil, err
	}
	f.svc.Audit(ctx, accountID, "mfa.recovery_new", accountID, "")
	return codes, nil
}

// normalizeRecovery uppercases a typed code, drops spaces and dashes and
// maps the letters Crockford base32 reads as digits.
func normalizeRecovery(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch r {
		case ' ', '-', '\t':
			continue
		case 'O':
			r = '0'
		case 'I', 'L':
			r = '1'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// UseRecoveryCode checks a recovery code and spends it; its use is
// announced by e-mail. ErrRecoveryWrong for anything but an unused, right
// code; idp.ErrRateLimited after too many attempts.
func (f *Factors) UseRecoveryCode(ctx context.Context, accountID, typed string) error {
	if err := f.svc.Allow(ctx, []idp.Rule{recoveryRule}, []string{accountID}); err != nil {
		return err
	}
	c := normalizeRecovery(typed)
	if len(c) != 20 {
		return ErrRecoveryWrong
	}
	id, secret := c[:4], c[4:]
	codes, err := f.store.ListRecoveryCodes(ctx, accountID)
	if err != nil {
		return err
	}
	var row *RecoveryCode
	for i := range codes {
		if codes[i].ID == id {
			row = &codes[i]
		}
	}
	if row == nil || !row.UsedAt.IsZero() {
		// Same cost as a real check, so timing does not tell which IDs exist.
		_ = f.svc.Hasher().Dummy(ctx, secret)
		return ErrRecoveryWrong
	}
	ok, _, err := f.svc.Hasher().Verify(ctx, secret, row.Hash)
	if err != nil {
		return err
	}
	if !ok {
		return ErrRecoveryWrong
	}
	out, err := f.Notice(ctx, accountID, "recovery_used")
	if err != nil {
		return err
	}
	if err := f.store.UseRecoveryCode(ctx, accountID, id, f.svc.Now(), out...); err != nil {
		if errors.Is(err, idp.ErrReused) || errors.Is(err, idp.ErrNotFound) {
			return ErrRecoveryWrong
		}
		return err
	}
	f.svc.Audit(ctx, accountID, "mfa.recovery_used", accountID, "code="+id)
	return nil
}

// Notice builds the security e-mail announcing event (see
// idp.MailSecurityNotice) to the account's address, for the caller to
// enqueue with the change it announces.
func (f *Factors) Notice(ctx context.Context, accountID, event string) ([]idp.Outgoing, error) {
	a, err := f.svc.Store().GetAccount(ctx, accountID)
	if err != nil {
		return nil, err
	}
	p, err := f.svc.Personal(a)
	if err != nil {
		return nil, err
	}
	m, err := f.svc.Mail(p.Email, a.Locale, idp.MailSecurityNotice, map[string]string{
		"Name": strings.TrimSpace(p.GivenName + " " + p.FamilyName), "Event": event, "SecurityLink": f.securURL,
	})
	if err != nil {
		return nil, err
	}
	return []idp.Outgoing{m}, nil
}
