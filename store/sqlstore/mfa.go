package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/mfa"
	"github.com/kanton/kundencenter/store/sqldb"
)

// lockAccount reports ErrNotFound if the account does not exist; with
// lock it takes the account's row lock (SQLite's transactions hold the
// write lock anyway), which serialises the changes of what hangs on it.
func lockAccount(ctx context.Context, q querier, id string, lock bool) error {
	query := `SELECT 1 FROM accounts WHERE id = ?`
	if lock {
		query += ` FOR UPDATE`
	}
	var one int
	return translate(q.QueryRow(ctx, query, id).Scan(&one))
}

func getMFA(ctx context.Context, q querier, accountID string, lock bool) (mfa.Settings, error) {
	m := mfa.Settings{AccountID: accountID}
	if !lock {
		// A read: the account and its settings in one query.
		var found bool
		err := q.QueryRow(ctx, `SELECT s.phone_sealed, s.phone_verified_at, COALESCE(s.required, FALSE), s.updated_at,
				s.account_id IS NOT NULL
			FROM accounts a LEFT JOIN mfa_settings s ON s.account_id = a.id WHERE a.id = ?`, accountID).
			Scan(&m.PhoneSealed, &m.PhoneVerifiedAt, &m.Required, &m.UpdatedAt, &found)
		if err != nil {
			return mfa.Settings{}, translate(err)
		}
		if !found {
			return mfa.Settings{AccountID: accountID}, nil // no settings yet: zero settings
		}
		m.PhoneSealed = goBytes(m.PhoneSealed)
		return m, nil
	}
	// Lock the account row (it always exists while settings do), so two
	// concurrent updates of settings not yet stored serialise too.
	if err := lockAccount(ctx, q, accountID, lock); err != nil {
		return mfa.Settings{}, err
	}
	err := q.QueryRow(ctx, `SELECT phone_sealed, phone_verified_at, required, updated_at
		FROM mfa_settings WHERE account_id = ?`, accountID).Scan(&m.PhoneSealed, &m.PhoneVerifiedAt, &m.Required, &m.UpdatedAt)
	if errors.Is(err, sqldb.ErrNotFound) {
		return m, nil // no settings yet: zero settings
	}
	if err != nil {
		return mfa.Settings{}, translate(err)
	}
	m.PhoneSealed = goBytes(m.PhoneSealed)
	return m, nil
}

// GetMFA returns the account's second-factor settings (zero settings when
// none were stored); ErrNotFound if the account does not exist.
func (s *Store) GetMFA(ctx context.Context, accountID string) (mfa.Settings, error) {
	m, err := getMFA(ctx, s.db, accountID, false)
	if err != nil {
		return mfa.Settings{}, fmt.Errorf("get mfa settings: %w", err)
	}
	return m, nil
}

// UpdateMFA applies fn to the current settings in one transaction with
// the messages fn returns.
func (s *Store) UpdateMFA(ctx context.Context, accountID string,
	fn func(mfa.Settings) (mfa.Settings, []idp.Outgoing, error),
) (mfa.Settings, error) {
	var m mfa.Settings
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
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
			VALUES (?, ?, ?, ?, ?)
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
		return mfa.Settings{}, fmt.Errorf("update mfa settings: %w", err)
	}
	return m, nil
}

// ReplaceRecoveryCodes discards the account's codes and stores codes.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, accountID string, codes []mfa.RecoveryCode, out ...idp.Outgoing) error {
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		// Lock the account row first, as getMFA does: under READ COMMITTED
		// two replacements would otherwise both delete the (same) old codes
		// and both insert theirs, leaving twice the codes valid.
		if err := lockAccount(ctx, tx, accountID, true); err != nil {
			return err
		}
		if _, err := exec(ctx, tx, `DELETE FROM recovery_codes WHERE account_id = ?`, accountID); err != nil {
			return err
		}
		for _, c := range codes {
			if c.AccountID != accountID {
				return errors.New("a recovery code belongs to another account")
			}
			if _, err := exec(ctx, tx, `INSERT INTO recovery_codes (account_id, id, hash, created_at, used_at)
				VALUES (?, ?, ?, ?, ?)`, accountID, c.ID, c.Hash, dbTime(c.CreatedAt), dbTime(c.UsedAt)); err != nil {
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
func (s *Store) ListRecoveryCodes(ctx context.Context, accountID string) ([]mfa.RecoveryCode, error) {
	rows, err := s.db.Query(ctx, `SELECT id, hash, created_at, used_at FROM recovery_codes
		WHERE account_id = ? ORDER BY id`, accountID)
	out, err := collect(rows, err, func(r scanner) (c mfa.RecoveryCode, err error) {
		c.AccountID = accountID
		return c, r.Scan(&c.ID, &c.Hash, &c.CreatedAt, &c.UsedAt)
	})
	if err != nil {
		return nil, fmt.Errorf("list recovery codes: %w", err)
	}
	return out, nil
}

// UseRecoveryCode marks an unused code as used, once.
func (s *Store) UseRecoveryCode(ctx context.Context, accountID, id string, now time.Time, out ...idp.Outgoing) error {
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		n, err := exec(ctx, tx, `UPDATE recovery_codes SET used_at = ? WHERE account_id = ? AND id = ? AND used_at IS NULL`,
			dbTime(now), accountID, id)
		if err != nil {
			return err
		}
		if n == 0 {
			var one int
			if err := tx.QueryRow(ctx, `SELECT 1 FROM recovery_codes WHERE account_id = ? AND id = ?`,
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
