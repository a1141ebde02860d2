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

func getMFA(ctx context.Context, q querier, accountID string, lock bool) (idp.MFASettings, error) {
	m := idp.MFASettings{AccountID: accountID}
	// Lock the account row (it always exists while settings do), so two
	// concurrent updates of settings not yet stored serialise too.
	forUpdate := ""
	if lock {
		forUpdate = " FOR UPDATE"
	}
	var one int
	if err := q.QueryRow(ctx, `SELECT 1 FROM accounts WHERE id = $1`+forUpdate, accountID).Scan(&one); err != nil {
		return idp.MFASettings{}, translate(err)
	}
	var verified, updated pgtype.Timestamptz
	err := q.QueryRow(ctx, `SELECT phone_sealed, phone_verified_at, required, updated_at
		FROM mfa_settings WHERE account_id = $1`, accountID).Scan(&m.PhoneSealed, &verified, &m.Required, &updated)
	if errors.Is(err, pgx.ErrNoRows) {
		return m, nil
	}
	if err != nil {
		return idp.MFASettings{}, translate(err)
	}
	m.PhoneSealed = goBytes(m.PhoneSealed)
	m.PhoneVerifiedAt = goTime(verified)
	m.UpdatedAt = goTime(updated)
	return m, nil
}

// GetMFA returns the account's second-factor settings (zero settings when
// none were stored); ErrNotFound if the account does not exist.
func (s *Store) GetMFA(ctx context.Context, accountID string) (idp.MFASettings, error) {
	m, err := getMFA(ctx, s.pool, accountID, false)
	if err != nil {
		return idp.MFASettings{}, fmt.Errorf("get mfa settings: %w", err)
	}
	return m, nil
}

// UpdateMFA applies fn to the current settings in one transaction with
// the messages fn returns.
func (s *Store) UpdateMFA(ctx context.Context, accountID string,
	fn func(idp.MFASettings) (idp.MFASettings, []idp.Outgoing, error),
) (idp.MFASettings, error) {
	var m idp.MFASettings
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		old, err := getMFA(ctx, tx, accountID, true)
		if err != nil {
			return err
		}
		next, out, err := fn(old)
		if err != nil {
			return err
		}
		if next.AccountID != accountID {
			return errors.New("the account ID cannot change")
		}
		if _, err := exec(ctx, tx, `INSERT INTO mfa_settings (account_id, phone_sealed, phone_verified_at, required, updated_at)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (account_id) DO UPDATE SET phone_sealed = excluded.phone_sealed,
				phone_verified_at = excluded.phone_verified_at, required = excluded.required, updated_at = excluded.updated_at`,
			accountID, dbBytes(next.PhoneSealed), dbTime(next.PhoneVerifiedAt), next.Required, dbTime(next.UpdatedAt)); err != nil {
			return err
		}
		if err := s.enqueue(ctx, tx, out); err != nil {
			return err
		}
		next.PhoneSealed = goBytes(next.PhoneSealed)
		next.PhoneVerifiedAt = canonTime(next.PhoneVerifiedAt)
		next.UpdatedAt = canonTime(next.UpdatedAt)
		m = next
		return nil
	})
	if err != nil {
		return idp.MFASettings{}, fmt.Errorf("update mfa settings: %w", err)
	}
	return m, nil
}

// ReplaceRecoveryCodes discards the account's codes and stores codes.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, accountID string, codes []idp.RecoveryCode, out ...idp.Outgoing) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// Lock the account row first, as getMFA does: under READ COMMITTED
		// two replacements would otherwise both delete the (same) old codes
		// and both insert theirs, leaving twice the codes valid.
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE`, accountID).Scan(&one); err != nil {
			return translate(err)
		}
		if _, err := exec(ctx, tx, `DELETE FROM recovery_codes WHERE account_id = $1`, accountID); err != nil {
			return err
		}
		for _, c := range codes {
			if c.AccountID != accountID {
				return errors.New("a recovery code belongs to another account")
			}
			if _, err := exec(ctx, tx, `INSERT INTO recovery_codes (account_id, id, hash, created_at, used_at)
				VALUES ($1, $2, $3, $4, $5)`, accountID, c.ID, c.Hash, dbTime(c.CreatedAt), dbTime(c.UsedAt)); err != nil {
				return err
			}
		}
		return s.enqueue(ctx, tx, out)
	})
	if err != nil {
		return fmt.Errorf("replace recovery codes: %w", err)
	}
	return nil
}

// ListRecoveryCodes returns the account's codes ordered by ID.
func (s *Store) ListRecoveryCodes(ctx context.Context, accountID string) ([]idp.RecoveryCode, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, hash, created_at, used_at FROM recovery_codes
		WHERE account_id = $1 ORDER BY id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("list recovery codes: %w", translate(err))
	}
	defer rows.Close()
	var out []idp.RecoveryCode
	for rows.Next() {
		c := idp.RecoveryCode{AccountID: accountID}
		var created, used pgtype.Timestamptz
		if err := rows.Scan(&c.ID, &c.Hash, &created, &used); err != nil {
			return nil, fmt.Errorf("list recovery codes: %w", err)
		}
		c.CreatedAt, c.UsedAt = goTime(created), goTime(used)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list recovery codes: %w", translate(err))
	}
	return out, nil
}

// UseRecoveryCode marks an unused code as used, once.
func (s *Store) UseRecoveryCode(ctx context.Context, accountID, id string, now time.Time, out ...idp.Outgoing) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		n, err := exec(ctx, tx, `UPDATE recovery_codes SET used_at = $1 WHERE account_id = $2 AND id = $3 AND used_at IS NULL`,
			dbTime(now), accountID, id)
		if err != nil {
			return err
		}
		if n == 0 {
			var one int
			if err := tx.QueryRow(ctx, `SELECT 1 FROM recovery_codes WHERE account_id = $1 AND id = $2`,
				accountID, id).Scan(&one); err != nil {
				return translate(err)
			}
			return idp.ErrReused
		}
		return s.enqueue(ctx, tx, out)
	})
	if err != nil {
		return fmt.Errorf("use recovery code: %w", err)
	}
	return nil
}
