package idp

import (
	"context"
	"time"
)

// MFASettings are an account's second-factor settings apart from passkeys
// (which are WebAuthnCredentials): the verified mobile number for SMS codes
// and whether every login needs a second factor.
type MFASettings struct {
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

// MFAStore holds second-factor settings and recovery codes.
type MFAStore interface {
	// GetMFA returns the account's settings; an account without any has
	// zero settings (AccountID set), not ErrNotFound.
	GetMFA(ctx context.Context, accountID string) (MFASettings, error)
	// UpdateMFA applies fn to the current settings inside a transaction and
	// stores the result; fn's messages are enqueued in the same transaction.
	// ErrNotFound if the account does not exist; an error from fn aborts.
	UpdateMFA(ctx context.Context, accountID string,
		fn func(MFASettings) (MFASettings, []Outgoing, error)) (MFASettings, error)
	// ReplaceRecoveryCodes discards the account's recovery codes and stores
	// codes instead, with out, in one transaction.
	ReplaceRecoveryCodes(ctx context.Context, accountID string, codes []RecoveryCode, out ...Outgoing) error
	// ListRecoveryCodes returns the account's codes, used or not, by ID.
	ListRecoveryCodes(ctx context.Context, accountID string) ([]RecoveryCode, error)
	// UseRecoveryCode marks the code as used at now and enqueues out, once:
	// ErrNotFound for an unknown code, ErrReused for a used one.
	UseRecoveryCode(ctx context.Context, accountID, id string, now time.Time, out ...Outgoing) error
}
