package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/store/sqldb"
)

const revokeSQL = `INSERT INTO revocations (kind, id, revoked_at, expires_at) VALUES (?, ?, ?, ?)
	ON CONFLICT (kind, id) DO UPDATE SET
		revoked_at = CASE WHEN excluded.revoked_at > revocations.revoked_at THEN excluded.revoked_at ELSE revocations.revoked_at END,
		expires_at = CASE WHEN excluded.expires_at > revocations.expires_at THEN excluded.expires_at ELSE revocations.expires_at END`

// Revoke records that each of rs ended at at; a record of the same thing
// keeps the later time and expiry. On PostgreSQL one round trip (BEGIN,
// the inserts and COMMIT together). Now and then it also deletes expired
// records.
func (s *Store) Revoke(ctx context.Context, at, expires time.Time, rs ...idp.Revocation) error {
	return s.revoke(ctx, "revoke", at, expires, rs, nil)
}

// RevokeSessions records that the SSO sessions ended at at (kept until
// expires) and revokes the refresh tokens issued in them, in one
// transaction: on PostgreSQL one round trip. Tokens revoked before keep
// their first revocation time.
func (s *Store) RevokeSessions(ctx context.Context, at, expires time.Time, sessionIDs ...string) error {
	rs := make([]idp.Revocation, 0, len(sessionIDs))
	for _, id := range sessionIDs {
		rs = append(rs, idp.Revocation{Kind: idp.RevokedSession, ID: id})
	}
	return s.revoke(ctx, "revoke sessions", at, expires, rs, sessionIDs)
}

// revoke records rs and revokes the refresh tokens of the sessions in one
// batch sent with the COMMIT.
func (s *Store) revoke(ctx context.Context, op string, at, expires time.Time, rs []idp.Revocation, sessions []string) error {
	if len(rs) == 0 && len(sessions) == 0 {
		return nil
	}
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		b := &sqldb.Batch{}
		for _, r := range rs {
			b.Exec(revokeSQL, r.Kind, r.ID, dbTime(at), dbTime(expires))
		}
		for _, id := range sessions {
			b.Exec(revokeWhereSQL(`session_id = ?`), dbTime(at), id)
		}
		return tx.CommitBatch(ctx, b)
	})
	if err != nil {
		return fmt.Errorf("%s: %w", op, translate(err))
	}
	if at.UnixNano()%64 == 0 {
		_, _ = s.DeleteExpiredRevocations(ctx, at)
	}
	return nil
}

// RevokedSince reports whether any of rs was revoked at or after since.
// One indexed query (primary-key lookups).
func (s *Store) RevokedSince(ctx context.Context, since time.Time, rs ...idp.Revocation) (bool, error) {
	if len(rs) == 0 {
		return false, nil
	}
	conds := make([]string, 0, len(rs))
	args := make([]any, 0, 2*len(rs)+1)
	for _, r := range rs {
		conds = append(conds, "(kind = ? AND id = ?)")
		args = append(args, r.Kind, r.ID)
	}
	args = append(args, dbTime(since))
	var n int
	err := s.db.QueryRow(ctx, `SELECT count(*) FROM revocations WHERE (`+strings.Join(conds, " OR ")+
		`) AND revoked_at >= ?`, args...).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("check revocations: %w", translate(err))
	}
	return n > 0, nil
}

const codeColumns = `hash, auth_request_id, access_token_id, family_id, expires_at`

func scanCode(r scanner) (c idp.RedeemedCode, err error) {
	if err := r.Scan(&c.Hash, &c.AuthRequestID, &c.AccessTokenID, &c.FamilyID, &c.ExpiresAt); err != nil {
		return idp.RedeemedCode{}, translate(err)
	}
	return c, nil
}

// RedeemCode records a code's redemption; ErrReused with the first record
// if it was redeemed before.
func (s *Store) RedeemCode(ctx context.Context, c idp.RedeemedCode) (idp.RedeemedCode, error) {
	_, err := exec(ctx, s.db, `INSERT INTO redeemed_codes (`+codeColumns+`) VALUES (?, ?, ?, ?, ?)`,
		dbBytes(c.Hash), c.AuthRequestID, c.AccessTokenID, c.FamilyID, dbTime(c.ExpiresAt))
	if errors.Is(err, idp.ErrConflict) {
		first, err := s.RedeemedCode(ctx, c.Hash)
		if err != nil {
			return idp.RedeemedCode{}, err
		}
		return first, idp.ErrReused
	}
	if err != nil {
		return idp.RedeemedCode{}, fmt.Errorf("redeem code: %w", err)
	}
	return c, nil
}

// RedeemedCode returns the record of a redeemed code or ErrNotFound.
func (s *Store) RedeemedCode(ctx context.Context, hash []byte) (idp.RedeemedCode, error) {
	c, err := scanCode(s.db.QueryRow(ctx, `SELECT `+codeColumns+` FROM redeemed_codes WHERE hash = ?`, dbBytes(hash)))
	if err != nil {
		return idp.RedeemedCode{}, fmt.Errorf("redeemed code: %w", err)
	}
	return c, nil
}

// SetCodeTokens records the tokens issued for a redeemed code.
func (s *Store) SetCodeTokens(ctx context.Context, hash []byte, accessTokenID, familyID string) error {
	if err := execOne(ctx, s.db, `UPDATE redeemed_codes SET access_token_id = ?, family_id = ? WHERE hash = ?`,
		accessTokenID, familyID, dbBytes(hash)); err != nil {
		return fmt.Errorf("record code tokens: %w", err)
	}
	return nil
}

// DeleteExpiredRevocations removes revocations and redeemed codes that
// expired before t.
func (s *Store) DeleteExpiredRevocations(ctx context.Context, before time.Time) (int, error) {
	var total int64
	for _, table := range []string{"revocations", "redeemed_codes"} {
		n, err := exec(ctx, s.db, `DELETE FROM `+table+` WHERE expires_at < ?`, dbTime(before))
		if err != nil {
			return int(total), fmt.Errorf("delete expired %s: %w", table, err)
		}
		total += n
	}
	return int(total), nil
}
