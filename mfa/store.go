package mfa

import (
	"context"
	"time"

	"github.com/kanton/kundencenter/idp"
)

// Settings are an account's second-factor settings apart from passkeys
// (which are WebAuthnCredentials): the verified mobile number for SMS codes
// and whether every login needs a second factor.
type Settings struct {
	AccountID string
	// PhoneSealed is the verified mobile number (E.164), AEAD-sealed with the
	// key ring; empty when none is enrolled. A number is only ever stored
	// after a code sent to it was entered.
	PhoneSealed     []byte
	PhoneVerifiedAt time.Time
	// Required switches on two-factor login: every login needs a second
	// factor, not only those to services that demand one.
	Required  bool
	UpdatedAt time.Time
}

// RecoveryCode is one of an account's saved recovery codes ("lookup
// secrets"). The user types "ID-SECRET"; ID finds the row and only an
// Argon2id hash of the secret is stored.
type RecoveryCode struct {
	AccountID string
	ID        string
	Hash      string // PHC-formatted Argon2id hash of the secret part
	CreatedAt time.Time
	UsedAt    time.Time // zero until used
}

// Store holds second-factor settings and recovery codes (the durable
// store implements it next to idp.Store).
type Store interface {
	// GetMFA returns the account's settings; an account without any has
	// zero settings (AccountID set), not idp.ErrNotFound.
	GetMFA(ctx context.Context, accountID string) (Settings, error)
	// UpdateMFA applies fn to the current settings inside a transaction and
	// stores the result; fn's messages are enqueued in the same transaction.
	// idp.ErrNotFound if the account does not exist; an error from fn aborts.
	UpdateMFA(ctx context.Context, accountID string,
		fn func(Settings) (Settings, []idp.Outgoing, error)) (Settings, error)
	// ReplaceRecoveryCodes discards the account's recovery codes and stores
	// codes instead, with out, in one transaction.
	ReplaceRecoveryCodes(ctx context.Context, accountID string, codes []RecoveryCode, out ...idp.Outgoing) error
	// ListRecoveryCodes returns the account's codes, used or not, by ID.
	ListRecoveryCodes(ctx context.Context, accountID string) ([]RecoveryCode, error)
	// UseRecoveryCode marks the code as used at now and enqueues out, once:
	// idp.ErrNotFound for an unknown code, idp.ErrReused for a used one.
	UseRecoveryCode(ctx context.Context, accountID, id string, now time.Time, out ...idp.Outgoing) error
	// ListWebAuthnCredentials is WebAuthnStore's: a passkey is a second
	// factor too.
	ListWebAuthnCredentials(ctx context.Context, accountID string) ([]WebAuthnCredential, error)
}

// WebAuthnCredential is a passkey or security key registered to an account
// (the "credential record" of WebAuthn Level 3 §4). Only public data are
// stored: the private key never leaves the authenticator. The ceremonies
// that create and use credentials live in mfa/passkey.
type WebAuthnCredential struct {
	ID              []byte   // credential ID chosen by the authenticator (unique across all accounts)
	AccountID       string   // owner
	Name            string   // given by the user, at most 64 characters
	PublicKey       []byte   // COSE_Key of the credential public key
	AttestationType string   // e.g. "none", "self", "basic_full"
	AAGUID          []byte   // authenticator model (16 bytes, all zero when not disclosed)
	SignCount       uint32   // last signature counter seen (0 for authenticators without one)
	Transports      []string // hints for the browser: "usb", "nfc", "ble", "internal", "hybrid"
	UserVerified    bool     // the authenticator verified the user (PIN, biometrics) at registration
	BackupEligible  bool     // the credential may be synced (a multi-device passkey)
	BackupState     bool     // the credential is currently backed up
	CloneWarning    bool     // a signature counter went backwards: the key may have been cloned
	CreatedAt       time.Time
	LastUsedAt      time.Time // zero until the first login with it
}

// MaxWebAuthnCredentialName is the longest name (in characters) a user may
// give a credential.
const MaxWebAuthnCredentialName = 64

// WebAuthnStore holds WebAuthn credentials (mfa/passkey's store; the
// durable store implements it next to idp.Store). DeleteAccount removes an
// account's credentials with the account.
type WebAuthnStore interface {
	// AddWebAuthnCredential stores a new credential and enqueues the
	// messages in the same transaction. idp.ErrConflict if a credential with
	// this ID exists (for any account), idp.ErrNotFound if the account does not.
	AddWebAuthnCredential(ctx context.Context, c WebAuthnCredential, out ...idp.Outgoing) error
	// ListWebAuthnCredentials returns the account's credentials, oldest
	// first (none for an unknown account).
	ListWebAuthnCredentials(ctx context.Context, accountID string) ([]WebAuthnCredential, error)
	// GetWebAuthnCredential returns the credential with this ID or idp.ErrNotFound.
	GetWebAuthnCredential(ctx context.Context, id []byte) (WebAuthnCredential, error)
	// UpdateWebAuthnCredential applies fn to the current credential inside a
	// transaction and stores the result (ID, account and public key cannot
	// change); idp.ErrNotFound if there is none. An error from fn aborts with
	// nothing written.
	UpdateWebAuthnCredential(ctx context.Context, id []byte,
		fn func(WebAuthnCredential) (WebAuthnCredential, error)) (WebAuthnCredential, error)
	// DeleteWebAuthnCredential removes the account's credential with this ID
	// and enqueues the messages in the same transaction; idp.ErrNotFound if the
	// account has no such credential (whether another account has it or not).
	DeleteWebAuthnCredential(ctx context.Context, accountID string, id []byte, out ...idp.Outgoing) error
}
