package idp

import (
	"context"
	"time"
)

// Store is the durable state of the identity provider (PostgreSQL in
// production, SQLite embedded); the same store also holds the second
// factors (mfa.Store, mfa.WebAuthnStore) and the organisations
// (delegation.Store), whose contracts live with their rules. Every method that must be atomic with other
// writes takes what it needs, and the adapter runs it in one transaction;
// Outgoing messages passed to a method are enqueued in that same transaction.
type Store interface {
	AccountStore
	ClientStore
	KeyStore
	RefreshTokenStore
	RevocationStore // revocation.go
	LinkStore
	LifecycleStore
	ProfileStore
	AccountClientStore // accountevents.go
	SubjectStore       // subjects.go
	// EnqueueOutgoing enqueues messages that belong to no other write.
	EnqueueOutgoing(ctx context.Context, out ...Outgoing) error
	// AppendAudit appends events to the audit log, in their order and in
	// one transaction.
	AppendAudit(ctx context.Context, events ...AuditEvent) error
	// ListAudit returns the newest audit events first, for the given subject
	// ("" = all), at most limit of them.
	ListAudit(ctx context.Context, subject string, limit int) ([]AuditEvent, error)
	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
}

// AccountStore holds accounts and the single-use action tokens sent by e-mail.
type AccountStore interface {
	// CreateAccount inserts the account, its activation token and the
	// activation e-mail at once. ErrConflict if the e-mail index, Konto-ID or
	// ID is taken.
	CreateAccount(ctx context.Context, a Account, activation ActionToken, out ...Outgoing) error
	// GetAccount returns the account with the given ID or ErrNotFound.
	GetAccount(ctx context.Context, id string) (Account, error)
	// GetAccountByEmailIndex returns the account whose e-mail has this blind index.
	GetAccountByEmailIndex(ctx context.Context, index []byte) (Account, error)
	// GetAccountByKontoID returns the account with this Konto-ID.
	GetAccountByKontoID(ctx context.Context, kontoID string) (Account, error)
	// UpdateAccount applies fn to the current account inside a transaction
	// and stores the result (the ID cannot change); the messages fn returns
	// are enqueued in the same transaction. An error from fn aborts with
	// nothing written.
	UpdateAccount(ctx context.Context, id string, fn func(Account) (Account, []Outgoing, error)) (Account, error)
	// RecordLogin sets the account's last login time; ErrNotFound if there
	// is no such account.
	RecordLogin(ctx context.Context, id string, at time.Time) error
	// DeleteAccount removes the account and everything that hangs on it
	// (action tokens, refresh tokens).
	DeleteAccount(ctx context.Context, id string) error

	// CreateActionToken stores a single-use token and enqueues its e-mail.
	CreateActionToken(ctx context.Context, t ActionToken, out ...Outgoing) error
	// ConsumeActionToken marks the unexpired, unused token with this purpose
	// and hash as used and applies fn to its account, all in one transaction.
	// ErrNotFound for an unknown or expired token, ErrReused for a used one;
	// an error from fn aborts and leaves the token unused.
	ConsumeActionToken(ctx context.Context, purpose ActionPurpose, hash []byte, now time.Time,
		fn func(Account) (Account, []Outgoing, error)) (Account, error)
}

// ClientStore holds the registered relying parties.
type ClientStore interface {
	// PutClient inserts or replaces a client.
	PutClient(ctx context.Context, c Client) error
	// GetClient returns a client or ErrNotFound.
	GetClient(ctx context.Context, id string) (Client, error)
	// ListClients returns every client ordered by ID.
	ListClients(ctx context.Context) ([]Client, error)
	// DeleteClient removes a client; ErrNotFound if there is none.
	DeleteClient(ctx context.Context, id string) error
}

// KeyStore holds the token-signing keys.
type KeyStore interface {
	// ListSigningKeys returns every key, oldest first.
	ListSigningKeys(ctx context.Context) ([]SigningKey, error)
	// PutSigningKeys inserts or replaces the given keys in one transaction
	// (a rotation changes several keys' states at once).
	PutSigningKeys(ctx context.Context, keys ...SigningKey) error
	// DeleteSigningKey removes a key; ErrNotFound if there is none.
	DeleteSigningKey(ctx context.Context, id string) error
}

// RefreshTokenStore holds refresh-token families.
type RefreshTokenStore interface {
	// CreateRefreshToken stores a new token (the first of a family or not).
	CreateRefreshToken(ctx context.Context, t RefreshToken) error
	// GetRefreshToken returns the token with this hash (used, revoked or not).
	GetRefreshToken(ctx context.Context, hash []byte) (RefreshToken, error)
	// RotateRefreshToken atomically marks the token with oldHash as used and
	// stores next(old) in its place. If the old token was already used, the
	// whole family is revoked and ErrReused returned; if it is unknown,
	// revoked or expired at now, ErrNotFound.
	RotateRefreshToken(ctx context.Context, oldHash []byte, now time.Time,
		next func(old RefreshToken) RefreshToken) (RefreshToken, error)
	// RevokeRefreshFamily revokes every token of a family.
	RevokeRefreshFamily(ctx context.Context, familyID string, now time.Time) error
	// RevokeAccountRefreshTokens revokes every token of an account (password
	// reset, logout everywhere).
	RevokeAccountRefreshTokens(ctx context.Context, accountID string, now time.Time) error
	// DeleteExpiredRefreshTokens removes tokens whose family expired before t.
	DeleteExpiredRefreshTokens(ctx context.Context, before time.Time) (int, error)
}

// Ephemeral is short-lived state: pending auth requests, SSO sessions,
// single-use codes, issued access tokens, rate-limit windows (Redis in
// production, in-process embedded). Losing it may cost in-flight logins,
// never accounts: a missing key always means "not valid".
type Ephemeral interface {
	// Set stores value under key for ttl (> 0).
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// SetNX stores value only if key is absent; reports whether it did.
	SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error)
	// Get returns the value or ErrNotFound.
	Get(ctx context.Context, key string) ([]byte, error)
	// Take returns the value and deletes the key atomically: of two
	// concurrent calls exactly one gets the value, the other ErrNotFound.
	Take(ctx context.Context, key string) ([]byte, error)
	// TakeWithSets returns the value at key (nil when absent) and the
	// members of each set in sets, and deletes all of them, in one round
	// trip; as with Take, of two concurrent calls exactly one gets the
	// value, and each member is returned once.
	TakeWithSets(ctx context.Context, key string, sets ...string) ([]byte, [][]string, error)
	// Delete removes keys; absent keys are no error.
	Delete(ctx context.Context, keys ...string) error
	// Incr increments a counter and returns the new value; the counter
	// expires window after its first increment (fixed window).
	Incr(ctx context.Context, key string, window time.Duration) (int64, error)
	// IncrAll is Incr on each of keys (keys[i] with windows[i]) in one
	// round trip.
	IncrAll(ctx context.Context, keys []string, windows []time.Duration) ([]int64, error)
	// SAdd adds member to the set at key and extends the set's expiry to at
	// least ttl from now.
	SAdd(ctx context.Context, key, member string, ttl time.Duration) error
	// SetIndexed stores value under key for ttl, as Set does, and adds
	// member to each of the sets under indexes, extending their expiry to
	// at least ttl, as SAdd does, in one round trip.
	SetIndexed(ctx context.Context, key string, value []byte, ttl time.Duration, member string, indexes ...string) error
	// SMembers returns the set's members (none for an absent set).
	SMembers(ctx context.Context, key string) ([]string, error)
	// SRem removes members from the set.
	SRem(ctx context.Context, key string, members ...string) error
	// Ping reports whether the store answers.
	Ping(ctx context.Context) error
}
