package passkey

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
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
