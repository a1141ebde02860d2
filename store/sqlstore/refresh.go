package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/store/sqldb"
)

const refreshColumns = `id, hash, family_id, client_id, account_id, session_id, scopes, audience, auth_time,
	amr, acr, created_at, expires_at, used_at, revoked_at, acting_kind, acting_id, profile_id`

func scanRefresh(r scanner) (t idp.RefreshToken, err error) {
	return scanRefreshWith(r)
}

// scanRefreshWith scans refreshColumns followed by more columns.
func scanRefreshWith(r scanner, more ...any) (t idp.RefreshToken, err error) {
	err = r.Scan(append([]any{&t.ID, &t.Hash, &t.FamilyID, &t.ClientID, &t.AccountID, &t.SessionID, sqldb.ScanList(&t.Scopes),
		sqldb.ScanList(&t.Audience), &t.AuthTime, sqldb.ScanList(&t.AMR), &t.ACR, &t.CreatedAt, &t.ExpiresAt, &t.UsedAt,
		&t.RevokedAt, &t.Acting.Kind, &t.Acting.ID, &t.Profile}, more...)...)
	if err != nil {
		return idp.RefreshToken{}, translate(err)
	}
	t.Hash = goBytes(t.Hash)
	return t, nil
}

// canonRefresh is the token as a round trip through the database returns it.
func canonRefresh(t idp.RefreshToken) idp.RefreshToken {
	t.Hash = goBytes(t.Hash)
	for _, l := range []*[]string{&t.Scopes, &t.Audience, &t.AMR} {
		if len(*l) == 0 {
			*l = nil
		}
	}
	t.AuthTime = canonTime(t.AuthTime)
	t.CreatedAt = canonTime(t.CreatedAt)
	t.ExpiresAt = canonTime(t.ExpiresAt)
	t.UsedAt = canonTime(t.UsedAt)
	t.RevokedAt = canonTime(t.RevokedAt)
	return t
}

const insertRefreshSQL = `INSERT INTO refresh_tokens (` + refreshColumns + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// insertRefreshArgs are the arguments of insertRefreshSQL.
func insertRefreshArgs(t idp.RefreshToken) []any {
	return []any{t.ID, dbBytes(t.Hash), t.FamilyID, t.ClientID, t.AccountID, t.SessionID,
		sqldb.List(t.Scopes), sqldb.List(t.Audience), dbTime(t.AuthTime), sqldb.List(t.AMR), t.ACR,
		dbTime(t.CreatedAt), dbTime(t.ExpiresAt), dbTime(t.UsedAt), dbTime(t.RevokedAt), t.Acting.Kind, t.Acting.ID, t.Profile}
}

func insertRefresh(ctx context.Context, q querier, t idp.RefreshToken) error {
	_, err := exec(ctx, q, insertRefreshSQL, insertRefreshArgs(t)...)
	return err
}

// CreateRefreshToken stores a new token (the first of a family or not).
// ErrConflict if its ID or hash is taken.
func (s *Store) CreateRefreshToken(ctx context.Context, t idp.RefreshToken) error {
	if err := insertRefresh(ctx, s.db, t); err != nil {
		return fmt.Errorf("create refresh token: %w", err)
	}
	return nil
}

// GetRefreshToken returns the token with this hash (used, revoked or not).
func (s *Store) GetRefreshToken(ctx context.Context, hash []byte) (idp.RefreshToken, error) {
	t, err := scanRefresh(s.db.QueryRow(ctx,
		`SELECT `+refreshColumns+` FROM refresh_tokens WHERE hash = ?`, dbBytes(hash)))
	if err != nil {
		return idp.RefreshToken{}, fmt.Errorf("get refresh token: %w", err)
	}
	return t, nil
}

// RotateRefreshToken atomically marks the token with oldHash as used and
// stores next(old) in its place; next gets the old token with UsedAt set.
// If the old token was already used (revoked since or not), the whole
// family is revoked, that revocation committed, and ErrReused returned; if
// it is unknown, revoked or expired at now, ErrNotFound.
func (s *Store) RotateRefreshToken(ctx context.Context, oldHash []byte, now time.Time,
	next func(old idp.RefreshToken) idp.RefreshToken,
) (idp.RefreshToken, error) {
	var (
		rotated idp.RefreshToken
		reused  bool
	)
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		reused = false // Tx may run this again
		// Concurrent rotations of one token queue on its row lock; after the
		// winner commits, the others find used_at set and update nothing.
		old, err := scanRefresh(tx.QueryRow(ctx, `UPDATE refresh_tokens SET used_at = ?
			WHERE hash = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?
			RETURNING `+refreshColumns,
			dbTime(now), dbBytes(oldHash), dbTime(now)))
		if errors.Is(err, idp.ErrNotFound) {
			var retry bool
			old, retry, err = retryRotation(ctx, tx, oldHash, now)
			if err != nil {
				return err
			}
			if !retry {
				reused = true
				return revokeWhere(ctx, tx, `family_id = ?`, old.FamilyID, now)
			}
		}
		if err != nil {
			return fmt.Errorf("mark used: %w", err)
		}
		n := next(old)
		// The successor, the link to it and the COMMIT: one round trip.
		b := &sqldb.Batch{}
		b.Exec(insertRefreshSQL, insertRefreshArgs(n)...)
		b.Exec(`UPDATE refresh_tokens SET rotated_to = ? WHERE id = ?`, n.ID, old.ID)
		if err := tx.CommitBatch(ctx, b); err != nil {
			return fmt.Errorf("store and link next: %w", translate(err))
		}
		rotated = canonRefresh(n)
		return nil
	})
	if err == nil && reused {
		err = idp.ErrReused
	}
	if err != nil {
		return idp.RefreshToken{}, fmt.Errorf("rotate refresh token: %w", err)
	}
	return rotated, nil
}

// retryRotation decides about a token that could not be marked used. A
// token rotated at most idp.RefreshRetryWindow ago, not retried before,
// whose successor nobody has used yet, may be rotated once more (the
// client's response was lost): the successor is marked used, so that
// presenting it later counts as reuse, and old is returned with retry
// set. A token that was never used is ErrNotFound (revoked or expired);
// any other (old, false, nil) is a reuse.
func retryRotation(ctx context.Context, tx *sqldb.Tx, oldHash []byte, now time.Time) (idp.RefreshToken, bool, error) {
	var (
		rotatedTo string
		retryAt   time.Time
	)
	old, err := scanRefreshWith(tx.QueryRow(ctx, `SELECT `+refreshColumns+`, rotated_to, retry_at
		FROM refresh_tokens WHERE hash = ? FOR UPDATE`, dbBytes(oldHash)), &rotatedTo, &retryAt)
	if err != nil {
		return idp.RefreshToken{}, false, err
	}
	if old.UsedAt.IsZero() {
		return idp.RefreshToken{}, false, idp.ErrNotFound // revoked or expired
	}
	if !old.RevokedAt.IsZero() || !retryAt.IsZero() || rotatedTo == "" ||
		now.Sub(old.UsedAt) > idp.RefreshRetryWindow || !now.Before(old.ExpiresAt) {
		return old, false, nil
	}
	n, err := exec(ctx, tx, `UPDATE refresh_tokens SET used_at = ?
		WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL`, dbTime(now), rotatedTo)
	if err != nil || n == 0 {
		return old, false, err
	}
	if _, err := exec(ctx, tx, `UPDATE refresh_tokens SET retry_at = ? WHERE id = ?`, dbTime(now), old.ID); err != nil {
		return old, false, err
	}
	return old, true, nil
}

// revokeWhere revokes the unrevoked tokens that match cond (one
// placeholder, arg). It locks them in ID order, so that concurrent
// revocations of overlapping sets cannot deadlock.
func revokeWhere(ctx context.Context, q querier, cond string, arg any, now time.Time) error {
	_, err := exec(ctx, q, revokeWhereSQL(cond), dbTime(now), arg)
	return err
}

// revokeWhereSQL is revokeWhere's statement; its arguments are the
// revocation time and cond's argument.
func revokeWhereSQL(cond string) string {
	return `UPDATE refresh_tokens SET revoked_at = ? WHERE id IN (
			SELECT id FROM refresh_tokens WHERE ` + cond + ` AND revoked_at IS NULL ORDER BY id FOR UPDATE
		) AND revoked_at IS NULL`
}

// RevokeRefreshFamily revokes every token of a family. Tokens revoked
// before keep their first revocation time.
func (s *Store) RevokeRefreshFamily(ctx context.Context, familyID string, now time.Time) error {
	if err := revokeWhere(ctx, s.db, `family_id = ?`, familyID, now); err != nil {
		return fmt.Errorf("revoke refresh family: %w", err)
	}
	return nil
}

// RevokeAccountRefreshTokens revokes every token of an account. Tokens
// revoked before keep their first revocation time.
func (s *Store) RevokeAccountRefreshTokens(ctx context.Context, accountID string, now time.Time) error {
	if err := revokeWhere(ctx, s.db, `account_id = ?`, accountID, now); err != nil {
		return fmt.Errorf("revoke account refresh tokens: %w", err)
	}
	return nil
}

// DeleteExpiredRefreshTokens removes tokens whose family expired before t
// (and tokens without an expiry).
func (s *Store) DeleteExpiredRefreshTokens(ctx context.Context, before time.Time) (int, error) {
	n, err := exec(ctx, s.db, `DELETE FROM refresh_tokens WHERE expires_at < ? OR expires_at IS NULL`,
		dbTime(before))
	if err != nil {
		return 0, fmt.Errorf("delete expired refresh tokens: %w", err)
	}
	return int(n), nil
}
