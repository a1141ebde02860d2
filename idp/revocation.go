package idp

import (
	"context"
	"errors"
	"fmt"
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
	// RevokeSessionRefreshTokens revokes the refresh tokens issued in an
	// SSO session (logout).
	RevokeSessionRefreshTokens(ctx context.Context, sessionID string, now time.Time) error
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

// accessTokenChecked is the key of the short-lived mark that an access
// token was checked against the durable revocations. Expired keys stay
// expired in a Redis snapshot, so a restore can revive a revoked token for
// at most this long after its last check; a revocation deletes the
// token's record, so while Redis keeps its data nothing waits for the mark.
func accessTokenCheckedKey(id string) string { return "atok:" + id }

const accessTokenCheckTTL = 30 * time.Second

// accessTokenRevoked checks an access token against the durable
// revocations: the token itself, its refresh family, its session, and its
// account(s).
func (s *Service) accessTokenRevoked(ctx context.Context, t AccessToken) (bool, error) {
	if _, err := s.eph.Get(ctx, accessTokenCheckedKey(t.ID)); err == nil {
		return false, nil
	} else if !errors.Is(err, ErrNotFound) {
		return false, err
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
	ttl := min(accessTokenCheckTTL, t.Expiry.Sub(s.Now()))
	if ttl > 0 {
		_ = s.eph.Set(ctx, accessTokenCheckedKey(t.ID), []byte{1}, ttl)
	}
	return false, nil
}
