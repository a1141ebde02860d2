package delegation

import (
	"context"
	"time"

	"github.com/kanton/kundencenter/idp"
)

// Accounts is what the organisation rules use of the identity provider:
// accounts with their personal data, the e-mail blind index and the
// sealing of values bound to an account. *idp.Service implements it.
type Accounts interface {
	// Account returns the account with this ID or idp.ErrNotFound.
	Account(ctx context.Context, id string) (idp.Account, error)
	// Personal opens an account's sealed personal data.
	Personal(a idp.Account) (idp.Personal, error)
	// EmailIndex is the blind index of an e-mail address.
	EmailIndex(email string) []byte
	// SealFor seals value for the account under purpose; OpenFor opens it.
	SealFor(accountID, purpose string, value []byte) []byte
	OpenFor(accountID, purpose string, sealed []byte) ([]byte, error)
}

// Directory finds accounts and relying parties in the identity provider's
// durable store (the same database as the organisations').
type Directory interface {
	// GetAccountByKontoID returns the account with this Konto-ID or idp.ErrNotFound.
	GetAccountByKontoID(ctx context.Context, kontoID string) (idp.Account, error)
	// GetAccountByEmailIndex returns the account whose e-mail has this blind
	// index or idp.ErrNotFound.
	GetAccountByEmailIndex(ctx context.Context, index []byte) (idp.Account, error)
	// GetClient returns a client or idp.ErrNotFound.
	GetClient(ctx context.Context, id string) (idp.Client, error)
	// ListClients returns every client ordered by ID.
	ListClients(ctx context.Context) ([]idp.Client, error)
}

// Hasher hashes and checks the representation access codes (Argon2id,
// *idp.Hasher).
type Hasher interface {
	Hash(ctx context.Context, secret string) (string, error)
	Verify(ctx context.Context, secret, phc string) (ok, needsRehash bool, err error)
	// Dummy spends the time of a Verify, for unknown codes.
	Dummy(ctx context.Context, secret string) error
}

// Counters are the rate-limit windows, shared by every instance (the
// ephemeral store).
type Counters interface {
	Incr(ctx context.Context, key string, window time.Duration) (int64, error)
	IncrAll(ctx context.Context, keys []string, windows []time.Duration) ([]int64, error)
	Delete(ctx context.Context, keys ...string) error
}
