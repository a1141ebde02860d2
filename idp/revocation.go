package idp

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// RefreshRetryWindow is how long after a rotation the refresh token just
// rotated may be presented once more: a client whose response was lost
// (a failure after the rotation committed, a dropped connection) retries
// with it and gets a new successor; the abandoned successor counts as used,
// so presenting it later is a reuse. Any other reuse revokes the family.
const RefreshRetryWindow = 2 * time.Minute

// Kinds of durable revocation records.
const (
	RevokedAccessToken = "at"      // one access token (RFC 7009)
	RevokedFamily      = "family"  // a refresh family and its access tokens
	RevokedSession     = "session" // an SSO session and the tokens issued in it (logout)
	RevokedAccount     = "account" // every session and token of an account (reset, disable, logout everywhere)
)

// Revocation names one thing that ended: a kind (RevokedAccessToken, …)
// and its ID.
type Revocation struct {
	Kind, ID string
}

// RedeemedCode is the durable record of an exchanged authorization code:
// the code's hash, its auth request, and the tokens issued for it.
type RedeemedCode struct {
	Hash          []byte
	AuthRequestID string
	AccessTokenID string
	FamilyID      string
	ExpiresAt     time.Time
}

// RevocationStore keeps what ended in the database, so that a restart of
// the ephemeral store from an old snapshot revives nothing: access tokens,
// sessions and codes are checked against it on use.
type RevocationStore interface {
	// Revoke records that each of rs ended at at (a later record of the
	// same thing keeps the later time), kept until expires.
	Revoke(ctx context.Context, at, expires time.Time, rs ...Revocation) error
	// RevokedSince reports whether any of rs was revoked at or after since.
	RevokedSince(ctx context.Context, since time.Time, rs ...Revocation) (bool, error)
	// RedeemCode records a code's redemption. ErrReused (with the first
	// record) if it was redeemed before.
	RedeemCode(ctx context.Context, c RedeemedCode) (RedeemedCode, error)
	// RedeemedCode returns the record of a redeemed code or ErrNotFound.
	RedeemedCode(ctx context.Context, hash []byte) (RedeemedCode, error)
	// SetCodeTokens records the tokens issued for a redeemed code.
	SetCodeTokens(ctx context.Context, hash []byte, accessTokenID, familyID string) error
	// RevokeSessions records that the SSO sessions ended at at (kept until
	// expires) and revokes the refresh tokens issued in them, in one
	// transaction (logout).
	RevokeSessions(ctx context.Context, at, expires time.Time, sessionIDs ...string) error
	// DeleteExpiredRevocations removes records (revocations, redeemed
	// codes) that expired before t.
	DeleteExpiredRevocations(ctx context.Context, before time.Time) (int, error)
}

// revocationTTL is how long a revocation record is kept: longer than any
// session or token it can concern lives.
func (s *Service) revocationTTL() time.Duration {
	return max(s.cfg.SessionMax, 24*time.Hour)
}

// revoke records revocations durably at now.
func (s *Service) revoke(ctx context.Context, now time.Time, rs ...Revocation) error {
	if err := s.store.Revoke(ctx, now, now.Add(s.revocationTTL()), rs...); err != nil {
		return fmt.Errorf("record revocation: %w", err)
	}
	return nil
}

// checkCache remembers for a short time that an access token was checked
// against the durable revocations, in this process: introspection and
// userinfo then cost no database query. It is consulted only after the
// token's record was found in the ephemeral store, and every revocation
// deletes that record, so while Redis keeps its data a revocation takes
// effect at once on every instance. Only a Redis restored from an old
// snapshot can revive a revoked token's record; the cache then keeps it
// usable for at most accessTokenCheckTTL after its last check.
type checkCache struct {
	mu sync.Mutex
	m  map[string]time.Time // token ID → checked until
}

const (
	accessTokenCheckTTL = 30 * time.Second
	checkCacheMax       = 100_000
)

func (c *checkCache) fresh(id string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return now.Before(c.m[id])
}

func (c *checkCache) note(id string, until time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= checkCacheMax {
		c.m = make(map[string]time.Time)
	}
	c.m[id] = until
}

func (c *checkCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
}

// accessTokenRevoked checks an access token against the durable
// revocations: the token itself, its refresh family, its session, and its
// account(s).
func (s *Service) accessTokenRevoked(ctx context.Context, t AccessToken) (bool, error) {
	now := s.Now()
	if s.checked.fresh(t.ID, now) {
		return false, nil
	}
	rs := []Revocation{{RevokedAccessToken, t.ID}}
	if t.FamilyID != "" {
		rs = append(rs, Revocation{RevokedFamily, t.FamilyID})
	}
	if t.SessionID != "" {
		rs = append(rs, Revocation{RevokedSession, t.SessionID})
	}
	for _, a := range []string{t.AccountID, t.Actor} {
		if a != "" {
			rs = append(rs, Revocation{RevokedAccount, a})
		}
	}
	revoked, err := s.store.RevokedSince(ctx, t.IssuedAt, rs...)
	if err != nil || revoked {
		return revoked, err
	}
	until := now.Add(accessTokenCheckTTL)
	if t.Expiry.Before(until) {
		until = t.Expiry
	}
	s.checked.note(t.ID, until)
	return false, nil
}
