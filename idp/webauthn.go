package idp

import (
	"context"
	"time"
)

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

// WebAuthnStore holds WebAuthn credentials. DeleteAccount removes an
// account's credentials with the account.
type WebAuthnStore interface {
	// AddWebAuthnCredential stores a new credential and enqueues the
	// messages in the same transaction. ErrConflict if a credential with
	// this ID exists (for any account), ErrNotFound if the account does not.
	AddWebAuthnCredential(ctx context.Context, c WebAuthnCredential, out ...Outgoing) error
	// ListWebAuthnCredentials returns the account's credentials, oldest
	// first (none for an unknown account).
	ListWebAuthnCredentials(ctx context.Context, accountID string) ([]WebAuthnCredential, error)
	// GetWebAuthnCredential returns the credential with this ID or ErrNotFound.
	GetWebAuthnCredential(ctx context.Context, id []byte) (WebAuthnCredential, error)
	// UpdateWebAuthnCredential applies fn to the current credential inside a
	// transaction and stores the result (ID, account and public key cannot
	// change); ErrNotFound if there is none. An error from fn aborts with
	// nothing written.
	UpdateWebAuthnCredential(ctx context.Context, id []byte,
		fn func(WebAuthnCredential) (WebAuthnCredential, error)) (WebAuthnCredential, error)
	// DeleteWebAuthnCredential removes the account's credential with this ID
	// and enqueues the messages in the same transaction; ErrNotFound if the
	// account has no such credential (whether another account has it or not).
	DeleteWebAuthnCredential(ctx context.Context, accountID string, id []byte, out ...Outgoing) error
}
