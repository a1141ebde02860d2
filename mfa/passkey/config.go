package passkey

// The passkey service's configuration, its limits and its errors.

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Errors of the passkey service, matched with errors.Is. None of them tells
// whether a credential belongs to another account.
var (
	// ErrInvalidRequest means a malformed configuration or a missing argument.
	ErrInvalidRequest = errors.New("invalid passkey request")
	// ErrUnavailable means the ephemeral store (ceremonies) did not answer;
	// the user should try again later.
	ErrUnavailable = errors.New("passkeys unavailable")
	// ErrCeremonyExpired means the ceremony is unknown, expired, already
	// used (every ceremony is single use, so a replayed challenge ends here)
	// or was started for another account or purpose.
	ErrCeremonyExpired = errors.New("passkey ceremony expired or unknown")
	// ErrNoCredentials means the account has no passkey to log in with.
	ErrNoCredentials = errors.New("no passkey registered")
	// ErrTooManyCredentials means the account already has MaxCredentials.
	ErrTooManyCredentials = errors.New("too many passkeys registered")
	// ErrInvalidName means the name is empty, too long or has control characters.
	ErrInvalidName = errors.New("invalid passkey name")
	// ErrVerification means the browser's response did not verify:
	// malformed, wrong challenge or type, bad attestation or signature.
	ErrVerification = errors.New("passkey response invalid")
	// ErrOrigin means the response was made for an origin that is not configured.
	ErrOrigin = errors.New("passkey response from a wrong origin")
	// ErrRPID means the authenticator signed for another relying party ID.
	ErrRPID = errors.New("passkey response for a wrong relying party")
	// ErrUserVerification means user verification (PIN, biometrics) was
	// required but the authenticator did not perform it.
	ErrUserVerification = errors.New("passkey user verification missing")
	// ErrUnknownCredential means the credential is not registered, or not
	// to the account of the ceremony.
	ErrUnknownCredential = errors.New("passkey not registered")
	// ErrCredentialExists means a credential with this ID is already
	// registered (to this or, in theory, another account; the error does not say).
	ErrCredentialExists = errors.New("passkey already registered")
	// ErrCloneSuspected means the credential's signature counter went
	// backwards now or earlier: the credential is flagged and refused until
	// the user removes it. See CloneError.
	ErrCloneSuspected = errors.New("passkey may have been cloned")
)

// CloneError reports a refused login with a credential whose signature
// counter did not increase (WebAuthn Level 3 §6.1.1). It matches
// ErrCloneSuspected; the caller should write it to the audit log and tell
// the user.
type CloneError struct {
	AccountID    string
	CredentialID []byte
	Stored       uint32 // the counter stored before this login
	Got          uint32 // the counter the authenticator sent
	// New is true when this login flagged the credential, false when it was
	// flagged before.
	New bool
}

func (e *CloneError) Error() string {
	return fmt.Sprintf("%s: signature counter %d after %d", ErrCloneSuspected, e.Got, e.Stored)
}

// Is reports whether target is ErrCloneSuspected.
func (e *CloneError) Is(target error) bool { return target == ErrCloneSuspected }

// Verification is a user-verification policy (WebAuthn Level 3 §5.8.6).
type Verification string

// User-verification policies.
const (
	// VerificationPreferred asks for a PIN or biometrics when the
	// authenticator can, but accepts a bare touch: the password already
	// was the first factor. The default for registration and second factor.
	VerificationPreferred Verification = "preferred"
	// VerificationRequired refuses authenticators that did not verify the
	// user. Passwordless login always uses it.
	VerificationRequired Verification = "required"
)

// Limits.
const (
	// DefaultTimeout is how long a ceremony waits for the browser.
	DefaultTimeout = 5 * time.Minute
	// MaxTimeout is the longest allowed Config.Timeout.
	MaxTimeout = 10 * time.Minute
	// MaxCredentials is how many passkeys an account may register.
	MaxCredentials = 20
	// maxResponse bounds the size of a browser response we parse.
	maxResponse = 64 << 10
)

// Indexer derives a stable keyed value (a blind index) from a value; the
// key must never change. *keyring.Ring implements it.
type Indexer interface {
	Index(domain, value string) []byte
}

// Config holds the relying party's settings.
type Config struct {
	// RPID is the relying party ID: the site's registrable domain or host
	// name without scheme and port, e.g. "konto.kanton.example". Passkeys are
	// bound to it, so it must never change.
	RPID string
	// RPDisplayName is the site's name as authenticators show it.
	RPDisplayName string
	// Origins are the exact origins (scheme://host[:port]) the pages that
	// run the ceremonies are served from; each host must be RPID or a
	// subdomain of it, and the scheme https (http only for localhost).
	Origins []string
	// UserVerification is the policy for registration and second-factor
	// login: "" or VerificationPreferred, or VerificationRequired.
	// Passwordless login always requires user verification.
	UserVerification Verification
	// Timeout is how long a ceremony is valid; 0 means DefaultTimeout.
	Timeout time.Duration
	// KeyPrefix prefixes every key in the ephemeral store; "" means "mfa:passkey:".
	KeyPrefix string
	// UserHandles derives the WebAuthn user handle from an account ID (an
	// HMAC under a key that never changes, so the handle reveals neither the
	// account ID nor the e-mail address). Required.
	UserHandles Indexer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (c *Config) defaults() {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.KeyPrefix == "" {
		c.KeyPrefix = "mfa:passkey:"
	}
	if c.UserVerification == "" {
		c.UserVerification = VerificationPreferred
	}
}

// Validate reports every problem of the configuration (after defaults) at once.
func (c Config) Validate() error {
	c.defaults()
	var errs []error
	rpid := strings.ToLower(c.RPID)
	if c.RPID == "" || c.RPID != rpid || strings.ContainsAny(c.RPID, ":/ ") {
		errs = append(errs, fmt.Errorf("passkey RP ID: %q is not a lower-case host name (e.g. konto.kanton.example)", c.RPID))
	}
	if strings.TrimSpace(c.RPDisplayName) == "" {
		errs = append(errs, errors.New("passkey RP display name: empty"))
	}
	if len(c.Origins) == 0 {
		errs = append(errs, errors.New("passkey origins: none, need the origin of the login pages (e.g. https://konto.kanton.example)"))
	}
	for _, o := range c.Origins {
		if err := checkOrigin(o, rpid); err != nil {
			errs = append(errs, fmt.Errorf("passkey origin %q: %w", o, err))
		}
	}
	if c.UserVerification != VerificationPreferred && c.UserVerification != VerificationRequired {
		errs = append(errs, fmt.Errorf("passkey user verification: %q, must be preferred or required", c.UserVerification))
	}
	if c.Timeout < 30*time.Second || c.Timeout > MaxTimeout {
		errs = append(errs, fmt.Errorf("passkey timeout: %s, must be between 30s and %s", c.Timeout, MaxTimeout))
	}
	if c.UserHandles == nil {
		errs = append(errs, errors.New("passkey user handles: no key (pass the key ring)"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	return nil
}

func checkOrigin(origin, rpid string) error {
	u, err := url.Parse(origin)
	if err != nil {
		return errors.New("not a URL")
	}
	if u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil || u.Host == "" {
		return errors.New("must be scheme://host[:port] only")
	}
	host := u.Hostname()
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && (host == "localhost" || strings.HasSuffix(host, ".localhost")):
	default:
		return errors.New("scheme must be https (http only for localhost)")
	}
	if host != rpid && !strings.HasSuffix(host, "."+rpid) {
		return fmt.Errorf("host %q is not the RP ID %q or a subdomain of it", host, rpid)
	}
	return nil
}
