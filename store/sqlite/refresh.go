package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/kanton/kundencenter/idp"
)

const refreshColumns = `id, hash, family_id, client_id, account_id, session_id, scopes, audience, auth_time,
	amr, acr, created_at, expires_at, used_at, revoked_at, acting_kind, acting_id, profile_id`

func scanRefresh(r scanner) (idp.RefreshToken, error) {
	var (
		t                                         idp.RefreshToken
		scopes, audience, amr                     string
		authTime, created, expires, used, revoked sql.NullInt64
	)
	err := r.Scan(&t.ID, &t.Hash, &t.FamilyID, &t.ClientID, &t.AccountID, &t.SessionID, &scopes, &audience,
		&authTime, &amr, &t.ACR, &created, &expires, &used, &revoked, &t.Acting.Kind, &t.Acting.ID, &t.Profile)
	if err != nil {
		return idp.RefreshToken{}, translate(err)
	}
	t.Hash = goBytes(t.Hash)
	t.AuthTime = goTime(authTime)
	t.CreatedAt = goTime(created)
	t.ExpiresAt = goTime(expires)
	t.UsedAt = goTime(used)
	t.RevokedAt = goTime(revoked)
	for _, l := range []struct {
		dst *[]string
		src string
	}{{&t.Scopes, scopes}, {&t.Audience, audience}, {&t.AMR, amr}} {
		if *l.dst, err = goList(l.src); err != nil {
			return idp.RefreshToken{}, fmt.Errorf("refresh token %q: %w", t.ID, err)
		}
	}
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

func insertRefresh(ctx context.Context, q querier, t idp.RefreshToken) error {
	_, err := exec(ctx, q, `INSERT INTO refresh_tokens (`+refreshColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, dbBytes(t.Hash), t.FamilyID, t.ClientID, t.AccountID, t.SessionID,
		dbList(t.Scopes), dbList(t.Audience), dbTime(t.AuthTime), dbList(t.AMR), t.ACR,
		dbTime(t.CreatedAt), dbTime(t.ExpiresAt), dbTime(t.UsedAt), dbTime(t.RevokedAt), t.Acting.Kind, t.Acting.ID, t.Profile)
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
	t, err := scanRefresh(s.db.QueryRowContext(ctx,
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
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		old, err := scanRefresh(tx.QueryRowContext(ctx, `UPDATE refresh_tokens SET used_at = ?
			WHERE hash = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?
			RETURNING `+refreshColumns,
			now.UnixMicro(), dbBytes(oldHash), now.UnixMicro()))
		if errors.Is(err, idp.ErrNotFound) {
			var (
				familyID string
				usedAt   sql.NullInt64
			)
			err := tx.QueryRowContext(ctx, `SELECT family_id, used_at FROM refresh_tokens WHERE hash = ?`,
				dbBytes(oldHash)).Scan(&familyID, &usedAt)
			if err != nil {
				return translate(err)
			}
			if !usedAt.Valid {
				return idp.ErrNotFound // revoked or expired
			}
			reused = true
			return revokeFamily(ctx, tx, familyID, now)
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

func revokeFamily(ctx context.Context, q querier, familyID string, now time.Time) error {
	_, err := exec(ctx, q, `UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL`,
		dbTime(now), familyID)
	return err
}

// RevokeRefreshFamily revokes every token of a family. Tokens revoked
// before keep their first revocation time.
func (s *Store) RevokeRefreshFamily(ctx context.Context, familyID string, now time.Time) error {
	if err := revokeFamily(ctx, s.db, familyID, now); err != nil {
		return fmt.Errorf("revoke refresh family: %w", err)
	}
	return nil
}

// RevokeAccountRefreshTokens revokes every token of an account. Tokens
// revoked before keep their first revocation time.
func (s *Store) RevokeAccountRefreshTokens(ctx context.Context, accountID string, now time.Time) error {
	_, err := exec(ctx, s.db, `UPDATE refresh_tokens SET revoked_at = ? WHERE account_id = ? AND revoked_at IS NULL`,
		dbTime(now), accountID)
	if err != nil {
		return fmt.Errorf("revoke account refresh tokens: %w", err)
	}
	return nil
}

// DeleteExpiredRefreshTokens removes tokens whose family expired before t
// (and tokens without an expiry).
func (s *Store) DeleteExpiredRefreshTokens(ctx context.Context, before time.Time) (int, error) {
	n, err := exec(ctx, s.db, `DELETE FROM refresh_tokens WHERE expires_at < ? OR expires_at IS NULL`,
		before.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("delete expired refresh tokens: %w", err)
	}
	return int(n), nil
}
