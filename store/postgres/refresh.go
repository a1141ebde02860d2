package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/kanton/kundencenter/idp"
)

const refreshColumns = `id, hash, family_id, client_id, account_id, session_id, scopes, audience, auth_time,
	amr, acr, created_at, expires_at, used_at, revoked_at, acting_kind, acting_id, profile_id`

func scanRefresh(r pgx.Row) (idp.RefreshToken, error) {
	var (
		t                                         idp.RefreshToken
		authTime, created, expires, used, revoked pgtype.Timestamptz
	)
	err := r.Scan(&t.ID, &t.Hash, &t.FamilyID, &t.ClientID, &t.AccountID, &t.SessionID, &t.Scopes, &t.Audience,
		&authTime, &t.AMR, &t.ACR, &created, &expires, &used, &revoked, &t.Acting.Kind, &t.Acting.ID, &t.Profile)
	if err != nil {
		return idp.RefreshToken{}, translate(err)
	}
	t.Hash = goBytes(t.Hash)
	t.Scopes = goList(t.Scopes)
	t.Audience = goList(t.Audience)
	t.AMR = goList(t.AMR)
	t.AuthTime = goTime(authTime)
	t.CreatedAt = goTime(created)
	t.ExpiresAt = goTime(expires)
	t.UsedAt = goTime(used)
	t.RevokedAt = goTime(revoked)
	return t, nil
}

// canonRefresh is the token as a round trip through the database returns it.
func canonRefresh(t idp.RefreshToken) idp.RefreshToken {
	t.Hash = goBytes(t.Hash)
	t.Scopes = goList(t.Scopes)
	t.Audience = goList(t.Audience)
	t.AMR = goList(t.AMR)
	t.AuthTime = canonTime(t.AuthTime)
	t.CreatedAt = canonTime(t.CreatedAt)
	t.ExpiresAt = canonTime(t.ExpiresAt)
	t.UsedAt = canonTime(t.UsedAt)
	t.RevokedAt = canonTime(t.RevokedAt)
	return t
}

func insertRefresh(ctx context.Context, q querier, t idp.RefreshToken) error {
	_, err := exec(ctx, q, `INSERT INTO refresh_tokens (`+refreshColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
		t.ID, dbBytes(t.Hash), t.FamilyID, t.ClientID, t.AccountID, t.SessionID,
		dbList(t.Scopes), dbList(t.Audience), dbTime(t.AuthTime), dbList(t.AMR), t.ACR,
		dbTime(t.CreatedAt), dbTime(t.ExpiresAt), dbTime(t.UsedAt), dbTime(t.RevokedAt), t.Acting.Kind, t.Acting.ID, t.Profile)
	return err
}

// CreateRefreshToken stores a new token (the first of a family or not).
// ErrConflict if its ID or hash is taken.
func (s *Store) CreateRefreshToken(ctx context.Context, t idp.RefreshToken) error {
	if err := insertRefresh(ctx, s.pool, t); err != nil {
		return fmt.Errorf("create refresh token: %w", err)
	}
	return nil
}

// GetRefreshToken returns the token with this hash (used, revoked or not).
func (s *Store) GetRefreshToken(ctx context.Context, hash []byte) (idp.RefreshToken, error) {
	t, err := scanRefresh(s.pool.QueryRow(ctx,
		`SELECT `+refreshColumns+` FROM refresh_tokens WHERE hash = $1`, dbBytes(hash)))
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
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// Concurrent rotations of one token queue on its row lock; after the
		// winner commits, the others find used_at set and update nothing.
		old, err := scanRefresh(tx.QueryRow(ctx, `UPDATE refresh_tokens SET used_at = $2
			WHERE hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2
			RETURNING `+refreshColumns,
			dbBytes(oldHash), canonTime(now)))
		if errors.Is(err, idp.ErrNotFound) {
			var (
				familyID string
				usedAt   pgtype.Timestamptz
			)
			err := tx.QueryRow(ctx, `SELECT family_id, used_at FROM refresh_tokens WHERE hash = $1`,
				dbBytes(oldHash)).Scan(&familyID, &usedAt)
			if err != nil {
				return translate(err)
			}
			if !usedAt.Valid {
				return idp.ErrNotFound // revoked or expired
			}
			reused = true
			return revokeWhere(ctx, tx, `family_id = $1`, familyID, now)
		}
		if err != nil {
			return fmt.Errorf("mark used: %w", err)
		}
		n := next(old)
		if err := insertRefresh(ctx, tx, n); err != nil {
			return fmt.Errorf("store next: %w", err)
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

// revokeWhere revokes the unrevoked tokens that match cond (with $1 = arg).
// It locks them in ID order, so that concurrent revocations of overlapping
// sets cannot deadlock.
func revokeWhere(ctx context.Context, q querier, cond string, arg any, now time.Time) error {
	_, err := exec(ctx, q, `UPDATE refresh_tokens SET revoked_at = $2 WHERE id IN (
			SELECT id FROM refresh_tokens WHERE `+cond+` AND revoked_at IS NULL ORDER BY id FOR UPDATE
		) AND revoked_at IS NULL`,
		arg, dbTime(now))
	return err
}

// RevokeRefreshFamily revokes every token of a family. Tokens revoked
// before keep their first revocation time.
func (s *Store) RevokeRefreshFamily(ctx context.Context, familyID string, now time.Time) error {
	if err := revokeWhere(ctx, s.pool, `family_id = $1`, familyID, now); err != nil {
		return fmt.Errorf("revoke refresh family: %w", err)
	}
	return nil
}

// RevokeAccountRefreshTokens revokes every token of an account. Tokens
// revoked before keep their first revocation time.
func (s *Store) RevokeAccountRefreshTokens(ctx context.Context, accountID string, now time.Time) error {
	if err := revokeWhere(ctx, s.pool, `account_id = $1`, accountID, now); err != nil {
		return fmt.Errorf("revoke account refresh tokens: %w", err)
	}
	return nil
}

// DeleteExpiredRefreshTokens removes tokens whose family expired before t
// (and tokens without an expiry).
func (s *Store) DeleteExpiredRefreshTokens(ctx context.Context, before time.Time) (int, error) {
	n, err := exec(ctx, s.pool, `DELETE FROM refresh_tokens WHERE expires_at < $1 OR expires_at IS NULL`,
		canonTime(before))
	if err != nil {
		return 0, fmt.Errorf("delete expired refresh tokens: %w", err)
	}
	return int(n), nil
}
