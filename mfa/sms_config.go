package mfa

// The SMS code service's configuration, its sending budgets and its errors.

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kanton/kundencenter/idp"
)

// Errors of the SMS code service. None of them carries a code or a phone number.
var (
	// ErrInvalidRequest means the caller passed no account, an unknown
	// purpose or a malformed configuration value.
	ErrInvalidRequest = errors.New("invalid SMS code request")
	// ErrBudget means a sending budget (account, number, prefix, country,
	// IP or global) is spent; nothing was sent. The user should try later.
	ErrBudget = errors.New("SMS budget exhausted")
	// ErrUnavailable means the ephemeral store (challenges, budgets) did not
	// answer; nothing was sent (fail closed). The user should try later.
	ErrUnavailable = errors.New("SMS codes unavailable")
	// ErrSend means the SMS provider did not accept the message; the
	// challenge was deleted.
	ErrSend = errors.New("SMS could not be sent")
	// ErrRecipientRejected means the SMS provider refused the number
	// (invalid, unreachable, blocked region, opted out). Senders wrap it;
	// it comes wrapped in ErrSend.
	ErrRecipientRejected = errors.New("SMS provider rejected the number")
	// ErrResendTooSoon means a resend came before Config.ResendAfter.
	ErrResendTooSoon = errors.New("SMS code resent too soon")
	// ErrCodeWrong means the code does not match; see WrongCodeError for
	// the attempts left.
	ErrCodeWrong = errors.New("SMS code wrong")
	// ErrCodeExpired means the challenge is unknown, expired, already used
	// or bound to another account or purpose.
	ErrCodeExpired = errors.New("SMS code expired or unknown")
	// ErrLocked means the last allowed attempt failed; the challenge is
	// deleted and a new one must be started.
	ErrLocked = errors.New("SMS code locked after too many wrong attempts")
	// ErrAccountLocked means the account had Config.AccountMaxFailures wrong
	// codes within Config.AccountFailureWindow, across challenges: no code
	// is checked until the window has passed (NIST SP 800-63B-4 §3.2.2: a
	// new secret must not reset the failure count).
	ErrAccountLocked = errors.New("SMS codes locked for the account after too many wrong codes")
)

// WrongCodeError is a wrong code with attempts left; it matches ErrCodeWrong.
type WrongCodeError struct {
	// Left is how many attempts remain before the challenge locks.
	Left int
}

func (e *WrongCodeError) Error() string {
	return fmt.Sprintf("%s (%d attempts left)", ErrCodeWrong, e.Left)
}

// Is reports whether target is ErrCodeWrong.
func (e *WrongCodeError) Is(target error) bool { return target == ErrCodeWrong }

// BudgetError names the budget that refused a send; it matches ErrBudget.
type BudgetError struct {
	// Budget is the rule's name, e.g. "sms_ip".
	Budget string
}

func (e *BudgetError) Error() string { return fmt.Sprintf("%s: %s", ErrBudget, e.Budget) }

// Is reports whether target is ErrBudget.
func (e *BudgetError) Is(target error) bool { return target == ErrBudget }

// Budgets bound the SMS sent per hour or day (security-anchors "SMS
// pumping"): a request counts against each in order (IP, account, number,
// number prefix, country, global) and stops at the first that refuses, so
// one attacker's refused requests do not eat the global budget. Zero fields
// of a Rule take the default's (so Budgets{Global: idp.Rule{Limit: 50}}
// changes only the global limit).
type Budgets struct {
	IP      idp.Rule // per client IP address
	Account idp.Rule // per account
	Number  idp.Rule // per phone number
	Prefix  idp.Rule // per number without its last four digits (a range)
	Country idp.Rule // per country of the number
	Global  idp.Rule // for the whole installation
}

// DefaultBudgets are sized so that a person never meets them: a login needs
// one SMS, rarely a resend.
var DefaultBudgets = Budgets{
	IP:      idp.Rule{Name: "sms_ip", Limit: 20, Window: time.Hour},
	Account: idp.Rule{Name: "sms_acct", Limit: 5, Window: time.Hour},
	Number:  idp.Rule{Name: "sms_num", Limit: 5, Window: time.Hour},
	Prefix:  idp.Rule{Name: "sms_prefix", Limit: 20, Window: time.Hour},
	Country: idp.Rule{Name: "sms_country", Limit: 2000, Window: 24 * time.Hour},
	Global:  idp.Rule{Name: "sms_global", Limit: 500, Window: time.Hour},
}

// Config holds the rules of SMS code challenges.
type Config struct {
	// Key is the secret (at least 32 bytes, identical on every instance)
	// that keys the HMAC of the stored codes and the budget buckets of
	// phone numbers; a copy of the ephemeral store alone reveals neither.
	Key []byte
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// CodeTTL is how long a code is valid: at most MaxCodeTTL, 0 means 5 minutes.
	CodeTTL time.Duration
	// MaxAttempts is how many codes may be tried per challenge, resends
	// included; 0 means 5.
	MaxAttempts int
	// ResendAfter is the wait before a new code may be requested; 0 means 30 s.
	ResendAfter time.Duration
	// AccountMaxFailures bounds the wrong codes per account within
	// AccountFailureWindow across all its challenges; 0 means 10 per 24 h.
	AccountMaxFailures   int
	AccountFailureWindow time.Duration
	// Countries are the allowed regions (ISO 3166-1 alpha-2, see
	// KnownCountry); nil means DefaultCountries (CH, LI).
	Countries []string
	// Budgets are the sending budgets; zero rules take DefaultBudgets.
	Budgets Budgets
	// KeyPrefix prefixes every key in the ephemeral store; "" means "mfa:sms:".
	KeyPrefix string
	// WebOTPHost, if set (e.g. "login.kanton.example"), adds the origin-bound
	// line "@host #123456" of the WebOTP API to each SMS, so that browsers
	// fill the code in only on that site.
	WebOTPHost string
}

func (c *Config) defaults() {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.CodeTTL == 0 {
		c.CodeTTL = 5 * time.Minute
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 5
	}
	if c.ResendAfter == 0 {
		c.ResendAfter = 30 * time.Second
	}
	if c.AccountMaxFailures == 0 {
		c.AccountMaxFailures = 10
	}
	if c.AccountFailureWindow == 0 {
		c.AccountFailureWindow = 24 * time.Hour
	}
	countries := c.Countries
	if len(countries) == 0 {
		countries = DefaultCountries
	}
	// A new slice: normalising in place would write into the caller's (or
	// the shared default) slice, a data race between two configurations.
	c.Countries = make([]string, len(countries))
	for i, cc := range countries {
		c.Countries[i] = strings.ToUpper(strings.TrimSpace(cc))
	}
	if c.KeyPrefix == "" {
		c.KeyPrefix = "mfa:sms:"
	}
	b, d := &c.Budgets, DefaultBudgets
	for _, p := range []struct {
		r *idp.Rule
		d idp.Rule
	}{
		{&b.IP, d.IP}, {&b.Account, d.Account}, {&b.Number, d.Number},
		{&b.Prefix, d.Prefix}, {&b.Country, d.Country}, {&b.Global, d.Global},
	} {
		if p.r.Name == "" {
			p.r.Name = p.d.Name
		}
		if p.r.Limit == 0 {
			p.r.Limit = p.d.Limit
		}
		if p.r.Window == 0 {
			p.r.Window = p.d.Window
		}
	}
}

// Validate reports every problem of the configuration (after defaults) at once.
func (c Config) Validate() error {
	c.Countries = append([]string(nil), c.Countries...)
	c.defaults()
	var errs []error
	if len(c.Key) < 32 {
		errs = append(errs, fmt.Errorf("SMS code key: %d bytes, need at least 32 random bytes", len(c.Key)))
	}
	if c.CodeTTL < time.Minute || c.CodeTTL > MaxCodeTTL {
		errs = append(errs, fmt.Errorf("SMS code lifetime: %s, must be between 1m and %s", c.CodeTTL, MaxCodeTTL))
	}
	if c.MaxAttempts < 1 || c.MaxAttempts > 10 {
		errs = append(errs, fmt.Errorf("SMS code attempts: %d, must be between 1 and 10", c.MaxAttempts))
	}
	if c.ResendAfter < 0 || c.ResendAfter >= c.CodeTTL {
		errs = append(errs, fmt.Errorf("SMS resend wait: %s, must be between 0 and the code lifetime %s", c.ResendAfter, c.CodeTTL))
	}
	for _, r := range c.Countries {
		if !KnownCountry(r) {
			errs = append(errs, fmt.Errorf("SMS countries: %q is not one of CH, LI, AT, DE, FR, IT", r))
		}
	}
	for _, r := range c.Budgets.rules() {
		if r.Name == "" || r.Limit <= 0 || r.Window <= 0 {
			errs = append(errs, fmt.Errorf("SMS budget %q: limit %d per %s, need a name, a positive limit and window", r.Name, r.Limit, r.Window))
		}
	}
	if strings.ContainsAny(c.WebOTPHost, " /#@") {
		errs = append(errs, fmt.Errorf("SMS WebOTP host: %q is not a host name", c.WebOTPHost))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	return nil
}

func (b Budgets) rules() []idp.Rule {
	return []idp.Rule{b.IP, b.Account, b.Number, b.Prefix, b.Country, b.Global}
}
