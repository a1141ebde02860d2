package passkey

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/mfa"
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

// Service runs WebAuthn registration and login ceremonies with
// go-webauthn. Ceremony state lives in an idp.Ephemeral store, credentials
// in an mfa.WebAuthnStore, so any number of instances may share them.
type Service struct {
	cfg   Config
	wa    *webauthn.WebAuthn
	eph   idp.Ephemeral
	store mfa.WebAuthnStore
	log   *slog.Logger
	rpIDH [32]byte
}

// New returns a service, or the configuration's problems. A nil log means slog.Default.
func New(cfg Config, eph idp.Ephemeral, store mfa.WebAuthnStore, log *slog.Logger) (*Service, error) {
	cfg.Origins = slices.Clone(cfg.Origins)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if eph == nil || store == nil {
		return nil, fmt.Errorf("%w: ephemeral store and credential store are required", ErrInvalidRequest)
	}
	cfg.defaults()
	if log == nil {
		log = slog.Default()
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:                  cfg.RPID,
		RPDisplayName:         cfg.RPDisplayName,
		RPOrigins:             cfg.Origins,
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementPreferred,
			UserVerification: protocol.UserVerificationRequirement(cfg.UserVerification),
		},
		// Our ephemeral store's TTL and Now bound the ceremony; the
		// browser gets the same timeout.
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: cfg.Timeout, TimeoutUVD: cfg.Timeout},
			Registration: webauthn.TimeoutConfig{Timeout: cfg.Timeout, TimeoutUVD: cfg.Timeout},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	return &Service{cfg: cfg, wa: wa, eph: eph, store: store, log: log, rpIDH: sha256.Sum256([]byte(cfg.RPID))}, nil
}

// User is the account a passkey is registered for. Name and DisplayName
// are shown by the authenticator when the user picks a passkey; use the
// Konto-ID or the person's name, not a secret. The user handle stored on
// the authenticator is derived from AccountID (see Config.UserHandles).
type User struct {
	AccountID   string
	Name        string // e.g. the Konto-ID "4821-7733-9056"
	DisplayName string // e.g. "Anna Muster"
}

// Ceremony is a started registration or login. ID is a 130-bit secret
// bearer value the caller keeps server-side (session or login transaction)
// or in the form; Options is the JSON the browser script needs (the
// "publicKey" options of navigator.credentials.create or get, with binary
// values in base64url).
type Ceremony struct {
	ID        string
	Options   json.RawMessage
	ExpiresAt time.Time
}

// Result is a verified login.
type Result struct {
	AccountID string
	// Credential is the credential after this login (counter, last use).
	Credential mfa.WebAuthnCredential
	// UserVerified says the authenticator verified the user (PIN,
	// biometrics): such a passkey is two factors on its own.
	UserVerified bool
}

type kind string

const (
	kindRegister     kind = "register"
	kindLogin        kind = "login"
	kindDiscoverable kind = "discoverable"
)

// record is a ceremony as kept in the ephemeral store.
type record struct {
	Kind      kind                 `json:"k"`
	AccountID string               `json:"a,omitempty"`
	Session   webauthn.SessionData `json:"s"`
	ExpiresAt time.Time            `json:"e"`
}

// user adapts an account to go-webauthn's User.
type user struct {
	handle      []byte
	name        string
	displayName string
	creds       []webauthn.Credential
}

func (u *user) WebAuthnID() []byte                         { return u.handle }
func (u *user) WebAuthnName() string                       { return u.name }
func (u *user) WebAuthnDisplayName() string                { return u.displayName }
func (u *user) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// userHandle is the opaque WebAuthn user handle of an account (32 bytes).
func (s *Service) userHandle(accountID string) []byte {
	return s.cfg.UserHandles.Index("webauthn-user-handle", accountID)
}

func (s *Service) ceremonyKey(id string) string { return s.cfg.KeyPrefix + "c:" + id }

// BeginRegistration starts registering a new passkey for u. existing are
// the account's credentials (the browser refuses to register one of them
// again). Resident keys are preferred, so most passkeys also work for
// passwordless login; user verification follows Config.UserVerification.
func (s *Service) BeginRegistration(ctx context.Context, u User, existing []mfa.WebAuthnCredential) (Ceremony, error) {
	if u.AccountID == "" || u.Name == "" {
		return Ceremony{}, fmt.Errorf("%w: account and name are required", ErrInvalidRequest)
	}
	if len(existing) >= MaxCredentials {
		return Ceremony{}, ErrTooManyCredentials
	}
	display := u.DisplayName
	if display == "" {
		display = u.Name
	}
	exclude := make([]protocol.CredentialDescriptor, 0, len(existing))
	for _, c := range existing {
		wc := toLibrary(c)
		exclude = append(exclude, wc.Descriptor())
	}
	creation, session, err := s.wa.BeginRegistration(&user{handle: s.userHandle(u.AccountID), name: u.Name, displayName: display},
		webauthn.WithExclusions(exclude))
	if err != nil {
		return Ceremony{}, fmt.Errorf("begin registration: %w", err)
	}
	return s.saveCeremony(ctx, record{Kind: kindRegister, AccountID: u.AccountID, Session: *session}, creation.Response)
}

// FinishRegistration verifies the browser's response (the JSON of the
// PublicKeyCredential) to the registration ceremony started for
// accountID and stores the new credential under name, enqueueing out in
// the same transaction (e.g. the "a passkey was added" e-mail).
//
// A name that ValidateName refuses returns ErrInvalidName before the
// ceremony is used, so the page can show the error and submit the same
// response again with a corrected name. Every other outcome consumes the
// ceremony.
func (s *Service) FinishRegistration(ctx context.Context, ceremonyID, accountID, name string, credentialJSON []byte,
	out ...idp.Outgoing,
) (mfa.WebAuthnCredential, error) {
	name, err := ValidateName(name)
	if err != nil {
		return mfa.WebAuthnCredential{}, err
	}
	rec, err := s.take(ctx, ceremonyID, kindRegister, accountID)
	if err != nil {
		return mfa.WebAuthnCredential{}, err
	}
	if len(credentialJSON) > maxResponse {
		return mfa.WebAuthnCredential{}, fmt.Errorf("%w: response too large", ErrVerification)
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(credentialJSON)
	if err != nil {
		return mfa.WebAuthnCredential{}, fmt.Errorf("%w: %w", ErrVerification, err)
	}
	authData := parsed.Response.AttestationObject.AuthData
	if err := s.precheck(rec, parsed.Response.CollectedClientData, authData); err != nil {
		s.log.WarnContext(ctx, "passkey registration refused", "account_id", accountID, "err", err)
		return mfa.WebAuthnCredential{}, err
	}
	cred, err := s.wa.CreateCredential(&user{handle: s.userHandle(accountID)}, rec.Session, parsed)
	if err != nil {
		s.log.WarnContext(ctx, "passkey registration refused", "account_id", accountID, "err", err)
		return mfa.WebAuthnCredential{}, fmt.Errorf("%w: %w", ErrVerification, err)
	}
	existing, err := s.store.ListWebAuthnCredentials(ctx, accountID)
	if err != nil {
		return mfa.WebAuthnCredential{}, fmt.Errorf("finish registration: %w", err)
	}
	if len(existing) >= MaxCredentials {
		return mfa.WebAuthnCredential{}, ErrTooManyCredentials
	}
	c := mfa.WebAuthnCredential{
		ID:              cred.ID,
		AccountID:       accountID,
		Name:            name,
		PublicKey:       cred.PublicKey,
		AttestationType: cred.AttestationType,
		AAGUID:          cred.Authenticator.AAGUID,
		SignCount:       cred.Authenticator.SignCount,
		UserVerified:    cred.Flags.UserVerified,
		BackupEligible:  cred.Flags.BackupEligible,
		BackupState:     cred.Flags.BackupState,
		CreatedAt:       s.cfg.Now().UTC(),
	}
	for _, t := range cred.Transport {
		c.Transports = append(c.Transports, string(t))
	}
	if err := s.store.AddWebAuthnCredential(ctx, c, out...); err != nil {
		if errors.Is(err, idp.ErrConflict) {
			return mfa.WebAuthnCredential{}, ErrCredentialExists
		}
		return mfa.WebAuthnCredential{}, fmt.Errorf("finish registration: %w", err)
	}
	s.log.InfoContext(ctx, "passkey registered", "account_id", accountID, "credential", EncodeID(c.ID),
		"user_verified", c.UserVerified, "backup_eligible", c.BackupEligible)
	return c, nil
}

// BeginLogin starts a second-factor login for an account that passed the
// first factor: the browser may use only the account's credentials.
// ErrNoCredentials if it has none.
func (s *Service) BeginLogin(ctx context.Context, accountID string) (Ceremony, error) {
	if accountID == "" {
		return Ceremony{}, fmt.Errorf("%w: account is required", ErrInvalidRequest)
	}
	u, err := s.loadUser(ctx, accountID)
	if err != nil {
		return Ceremony{}, err
	}
	if len(u.creds) == 0 {
		return Ceremony{}, ErrNoCredentials
	}
	assertion, session, err := s.wa.BeginLogin(u)
	if err != nil {
		return Ceremony{}, fmt.Errorf("begin login: %w", err)
	}
	return s.saveCeremony(ctx, record{Kind: kindLogin, AccountID: accountID, Session: *session}, assertion.Response)
}

// BeginDiscoverableLogin starts a passwordless login: the browser offers
// every passkey it holds for the site, and user verification is required.
func (s *Service) BeginDiscoverableLogin(ctx context.Context) (Ceremony, error) {
	assertion, session, err := s.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return Ceremony{}, fmt.Errorf("begin discoverable login: %w", err)
	}
	return s.saveCeremony(ctx, record{Kind: kindDiscoverable, Session: *session}, assertion.Response)
}

// FinishLogin verifies the browser's response to the second-factor
// ceremony started with BeginLogin(accountID). See finishLogin for what is
// checked.
func (s *Service) FinishLogin(ctx context.Context, ceremonyID, accountID string, credentialJSON []byte) (Result, error) {
	if accountID == "" {
		return Result{}, fmt.Errorf("%w: account is required", ErrInvalidRequest)
	}
	return s.finishLogin(ctx, ceremonyID, kindLogin, accountID, credentialJSON)
}

// FinishDiscoverableLogin verifies the browser's response to a ceremony
// started with BeginDiscoverableLogin and returns the account it belongs
// to. The caller must still check the account (active, not locked) before
// logging it in.
func (s *Service) FinishDiscoverableLogin(ctx context.Context, ceremonyID string, credentialJSON []byte) (Result, error) {
	return s.finishLogin(ctx, ceremonyID, kindDiscoverable, "", credentialJSON)
}

// finishLogin consumes the ceremony (single use), checks origin, RP ID and
// user verification, finds the credential (which must belong to the
// ceremony's account, or for a discoverable login match the user handle),
// verifies the signature with go-webauthn and then, in one store
// transaction, checks and advances the signature counter and the last use.
// A counter that did not increase flags the credential (CloneWarning) and
// refuses this and every later login with it (*CloneError).
func (s *Service) finishLogin(ctx context.Context, ceremonyID string, k kind, accountID string, credentialJSON []byte) (Result, error) {
	rec, err := s.take(ctx, ceremonyID, k, accountID)
	if err != nil {
		return Result{}, err
	}
	if len(credentialJSON) > maxResponse {
		return Result{}, fmt.Errorf("%w: response too large", ErrVerification)
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(credentialJSON)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %w", ErrVerification, err)
	}
	authData := parsed.Response.AuthenticatorData
	if err := s.precheck(rec, parsed.Response.CollectedClientData, authData); err != nil {
		s.log.WarnContext(ctx, "passkey login refused", "account_id", accountID, "err", err)
		return Result{}, err
	}
	stored, err := s.store.GetWebAuthnCredential(ctx, parsed.RawID)
	if errors.Is(err, idp.ErrNotFound) {
		s.log.InfoContext(ctx, "passkey login with an unknown credential", "account_id", accountID)
		return Result{}, ErrUnknownCredential
	}
	if err != nil {
		return Result{}, fmt.Errorf("finish login: %w", err)
	}
	switch {
	case k == kindLogin && stored.AccountID != accountID:
		s.log.WarnContext(ctx, "passkey login with another account's credential", "account_id", accountID)
		return Result{}, ErrUnknownCredential
	case k == kindDiscoverable && !hmac.Equal(parsed.Response.UserHandle, s.userHandle(stored.AccountID)):
		s.log.WarnContext(ctx, "passkey login: user handle does not match the credential's account")
		return Result{}, ErrUnknownCredential
	}
	u, err := s.loadUser(ctx, stored.AccountID)
	if err != nil {
		return Result{}, err
	}
	if k == kindDiscoverable {
		_, _, err = s.wa.ValidatePasskeyLogin(func(rawID, userHandle []byte) (webauthn.User, error) { return u, nil },
			rec.Session, parsed)
	} else {
		_, err = s.wa.ValidateLogin(u, rec.Session, parsed)
	}
	if err != nil {
		s.log.WarnContext(ctx, "passkey login refused", "account_id", stored.AccountID, "err", err)
		var unknown *protocol.ErrorUnknownCredential
		if errors.As(err, &unknown) {
			return Result{}, ErrUnknownCredential
		}
		return Result{}, fmt.Errorf("%w: %w", ErrVerification, err)
	}

	// The signature is valid. Check and advance the counter atomically, so
	// that of two logins with the same counter value only one passes.
	var clone *CloneError
	got := authData.Counter
	now := s.cfg.Now().UTC()
	updated, err := s.store.UpdateWebAuthnCredential(ctx, stored.ID, func(c mfa.WebAuthnCredential) (mfa.WebAuthnCredential, error) {
		clone = nil
		if c.AccountID != stored.AccountID {
			return c, idp.ErrNotFound
		}
		if c.CloneWarning {
			clone = &CloneError{AccountID: c.AccountID, CredentialID: c.ID, Stored: c.SignCount, Got: got}
			return c, clone // nothing to write
		}
		if (got != 0 || c.SignCount != 0) && got <= c.SignCount {
			clone = &CloneError{AccountID: c.AccountID, CredentialID: c.ID, Stored: c.SignCount, Got: got, New: true}
			c.CloneWarning = true
			return c, nil // store the flag, refuse below
		}
		c.SignCount = got
		c.LastUsedAt = now
		c.BackupState = authData.Flags.HasBackupState()
		return c, nil
	})
	if clone != nil {
		if errors.Is(err, idp.ErrNotFound) || (err != nil && !errors.Is(err, ErrCloneSuspected)) {
			return Result{}, fmt.Errorf("finish login: %w", err)
		}
		s.log.WarnContext(ctx, "passkey signature counter regression", "account_id", clone.AccountID,
			"credential", EncodeID(clone.CredentialID), "stored", clone.Stored, "got", clone.Got, "new", clone.New)
		return Result{}, clone
	}
	if errors.Is(err, idp.ErrNotFound) {
		return Result{}, ErrUnknownCredential // removed meanwhile
	}
	if err != nil {
		return Result{}, fmt.Errorf("finish login: %w", err)
	}
	uv := authData.Flags.HasUserVerified()
	s.log.InfoContext(ctx, "passkey login", "account_id", updated.AccountID, "credential", EncodeID(updated.ID),
		"user_verified", uv, "discoverable", k == kindDiscoverable)
	return Result{AccountID: updated.AccountID, Credential: updated, UserVerified: uv}, nil
}

// precheck gives the usual failures their own errors before go-webauthn
// verifies everything again.
func (s *Service) precheck(rec record, client protocol.CollectedClientData, authData protocol.AuthenticatorData) error {
	if !slices.Contains(s.cfg.Origins, client.Origin) {
		return fmt.Errorf("%w: %q", ErrOrigin, client.Origin)
	}
	if !hmac.Equal(authData.RPIDHash, s.rpIDH[:]) {
		return ErrRPID
	}
	if rec.Session.UserVerification == protocol.VerificationRequired && !authData.Flags.HasUserVerified() {
		return ErrUserVerification
	}
	return nil
}

// Cancel deletes a ceremony (the user chose another factor).
func (s *Service) Cancel(ctx context.Context, ceremonyID string) error {
	if ceremonyID == "" {
		return nil
	}
	if err := s.eph.Delete(ctx, s.ceremonyKey(ceremonyID)); err != nil {
		return s.unavailable(ctx, "cancel ceremony", err)
	}
	return nil
}

// Credentials returns the account's passkeys, oldest first.
func (s *Service) Credentials(ctx context.Context, accountID string) ([]mfa.WebAuthnCredential, error) {
	list, err := s.store.ListWebAuthnCredentials(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("list passkeys: %w", err)
	}
	return list, nil
}

// Rename gives the account's credential a new name (see ValidateName).
// ErrUnknownCredential if the account has no such credential.
func (s *Service) Rename(ctx context.Context, accountID string, id []byte, name string) (mfa.WebAuthnCredential, error) {
	name, err := ValidateName(name)
	if err != nil {
		return mfa.WebAuthnCredential{}, err
	}
	c, err := s.store.UpdateWebAuthnCredential(ctx, id, func(c mfa.WebAuthnCredential) (mfa.WebAuthnCredential, error) {
		if c.AccountID != accountID {
			return c, idp.ErrNotFound
		}
		c.Name = name
		return c, nil
	})
	if errors.Is(err, idp.ErrNotFound) {
		return mfa.WebAuthnCredential{}, ErrUnknownCredential
	}
	if err != nil {
		return mfa.WebAuthnCredential{}, fmt.Errorf("rename passkey: %w", err)
	}
	return c, nil
}

// Remove deletes the account's credential and enqueues out in the same
// transaction (e.g. the "a passkey was removed" e-mail). The caller decides
// beforehand whether a fresh second factor is needed and whether the
// account keeps one. ErrUnknownCredential if the account has no such credential.
func (s *Service) Remove(ctx context.Context, accountID string, id []byte, out ...idp.Outgoing) error {
	err := s.store.DeleteWebAuthnCredential(ctx, accountID, id, out...)
	if errors.Is(err, idp.ErrNotFound) {
		return ErrUnknownCredential
	}
	if err != nil {
		return fmt.Errorf("remove passkey: %w", err)
	}
	s.log.InfoContext(ctx, "passkey removed", "account_id", accountID, "credential", EncodeID(id))
	return nil
}

// ValidateName trims a credential name given by the user and checks it:
// 1 to mfa.MaxWebAuthnCredentialName characters, valid UTF-8, no control
// characters. It returns the trimmed name or ErrInvalidName.
func ValidateName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", fmt.Errorf("%w: empty", ErrInvalidName)
	case !utf8.ValidString(name):
		return "", fmt.Errorf("%w: not UTF-8", ErrInvalidName)
	case utf8.RuneCountInString(name) > mfa.MaxWebAuthnCredentialName:
		return "", fmt.Errorf("%w: longer than %d characters", ErrInvalidName, mfa.MaxWebAuthnCredentialName)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "", fmt.Errorf("%w: control characters", ErrInvalidName)
	}
	return name, nil
}

// EncodeID returns a credential ID as unpadded base64url, the form the
// browser uses (PublicKeyCredential.id), for forms and logs.
func EncodeID(id []byte) string { return base64.RawURLEncoding.EncodeToString(id) }

// DecodeID reverses EncodeID; ErrUnknownCredential for a malformed value.
func DecodeID(s string) ([]byte, error) {
	id, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(id) == 0 || len(id) > 1023 {
		return nil, ErrUnknownCredential
	}
	return id, nil
}

// loadUser builds go-webauthn's view of an account and its credentials.
func (s *Service) loadUser(ctx context.Context, accountID string) (*user, error) {
	list, err := s.store.ListWebAuthnCredentials(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("load passkeys: %w", err)
	}
	u := &user{handle: s.userHandle(accountID), name: accountID, displayName: accountID}
	for _, c := range list {
		u.creds = append(u.creds, toLibrary(c))
	}
	return u, nil
}

// toLibrary converts a stored credential to go-webauthn's record.
func toLibrary(c mfa.WebAuthnCredential) webauthn.Credential {
	wc := webauthn.Credential{
		ID:              c.ID,
		PublicKey:       c.PublicKey,
		AttestationType: c.AttestationType,
		Flags: webauthn.CredentialFlags{
			UserPresent:    true,
			UserVerified:   c.UserVerified,
			BackupEligible: c.BackupEligible,
			BackupState:    c.BackupState,
		},
		Authenticator: webauthn.Authenticator{AAGUID: c.AAGUID, SignCount: c.SignCount, CloneWarning: c.CloneWarning},
	}
	for _, t := range c.Transports {
		wc.Transport = append(wc.Transport, protocol.AuthenticatorTransport(t))
	}
	return wc
}

// saveCeremony saves a new ceremony under a fresh 130-bit ID.
func (s *Service) saveCeremony(ctx context.Context, rec record, options any) (Ceremony, error) {
	opts, err := json.Marshal(options)
	if err != nil {
		return Ceremony{}, fmt.Errorf("encode ceremony options: %w", err)
	}
	rec.ExpiresAt = s.cfg.Now().Add(s.cfg.Timeout)
	raw, err := json.Marshal(rec)
	if err != nil {
		return Ceremony{}, fmt.Errorf("encode ceremony: %w", err)
	}
	id := rand.Text() // 26 base32 characters, 130 bits
	ok, err := s.eph.SetNX(ctx, s.ceremonyKey(id), raw, s.cfg.Timeout)
	if err != nil {
		return Ceremony{}, s.unavailable(ctx, "store ceremony", err)
	}
	if !ok {
		return Ceremony{}, fmt.Errorf("store ceremony: %w: ID collision", ErrUnavailable)
	}
	return Ceremony{ID: id, Options: opts, ExpiresAt: rec.ExpiresAt}, nil
}

// take consumes a ceremony (single use) and checks its kind and account.
func (s *Service) take(ctx context.Context, id string, k kind, accountID string) (record, error) {
	if id == "" {
		return record{}, ErrCeremonyExpired
	}
	raw, err := s.eph.Take(ctx, s.ceremonyKey(id))
	if errors.Is(err, idp.ErrNotFound) {
		return record{}, ErrCeremonyExpired
	}
	if err != nil {
		return record{}, s.unavailable(ctx, "take ceremony", err)
	}
	var rec record
	if err := json.Unmarshal(raw, &rec); err != nil {
		return record{}, fmt.Errorf("decode ceremony: %w", ErrCeremonyExpired)
	}
	// The store's own expiry may run on another clock; ours decides.
	if !s.cfg.Now().Before(rec.ExpiresAt) {
		return record{}, ErrCeremonyExpired
	}
	if rec.Kind != k || rec.AccountID != accountID {
		s.log.WarnContext(ctx, "passkey ceremony used for another purpose or account", "account_id", accountID,
			"ceremony_account_id", rec.AccountID, "kind", string(k), "ceremony_kind", string(rec.Kind))
		return record{}, ErrCeremonyExpired
	}
	return rec, nil
}

func (s *Service) unavailable(ctx context.Context, op string, err error) error {
	s.log.ErrorContext(ctx, "passkeys: ephemeral store failed", "op", op, "err", err)
	return fmt.Errorf("%s: %w: %w", op, ErrUnavailable, err)
}
