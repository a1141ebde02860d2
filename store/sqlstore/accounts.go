package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/store/sqldb"
)

const accountColumns = `id, konto_id, email_index, sealed, password_hash, status, locale,
	created_at, activated_at, last_login_at, password_changed_at`

func scanAccount(r scanner) (a idp.Account, err error) {
	var status string
	err = r.Scan(&a.ID, &a.KontoID, &a.EmailIndex, &a.Sealed, &a.PasswordHash, &status, &a.Locale,
		&a.CreatedAt, &a.ActivatedAt, &a.LastLoginAt, &a.PasswordChangedAt)
	if err != nil {
		return idp.Account{}, translate(err)
	}
	a.Status = idp.AccountStatus(status)
	a.EmailIndex = goBytes(a.EmailIndex)
	a.Sealed = goBytes(a.Sealed)
	return a, nil
}

// canonAccount is the account as a round trip through the database returns it.
func canonAccount(a idp.Account) idp.Account {
	a.EmailIndex = goBytes(a.EmailIndex)
	a.Sealed = goBytes(a.Sealed)
	a.CreatedAt = canonTime(a.CreatedAt)
	a.ActivatedAt = canonTime(a.ActivatedAt)
	a.LastLoginAt = canonTime(a.LastLoginAt)
	a.PasswordChangedAt = canonTime(a.PasswordChangedAt)
	return a
}

func getAccount(ctx context.Context, q querier, where string, arg any) (idp.Account, error) {
	return scanAccount(q.QueryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE `+where, arg))
}

func insertAccount(ctx context.Context, q querier, a idp.Account) error {
	_, err := exec(ctx, q, `INSERT INTO accounts (`+accountColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.KontoID, dbBytes(a.EmailIndex), dbBytes(a.Sealed), a.PasswordHash, string(a.Status), a.Locale,
		dbTime(a.CreatedAt), dbTime(a.ActivatedAt), dbTime(a.LastLoginAt), dbTime(a.PasswordChangedAt))
	return err
}

func updateAccount(ctx context.Context, q querier, a idp.Account) error {
	_, err := exec(ctx, q, `UPDATE accounts SET konto_id = ?, email_index = ?, sealed = ?, password_hash = ?,
		status = ?, locale = ?, created_at = ?, activated_at = ?, last_login_at = ?, password_changed_at = ?
		WHERE id = ?`,
		a.KontoID, dbBytes(a.EmailIndex), dbBytes(a.Sealed), a.PasswordHash, string(a.Status), a.Locale,
		dbTime(a.CreatedAt), dbTime(a.ActivatedAt), dbTime(a.LastLoginAt), dbTime(a.PasswordChangedAt), a.ID)
	return err
}

func insertActionToken(ctx context.Context, q querier, t idp.ActionToken) error {
	_, err := exec(ctx, q, `INSERT INTO action_tokens (hash, purpose, account_id, created_at, expires_at, used_at)
		VALUES (?, ?, ?, ?, ?, ?)`,
		dbBytes(t.Hash), string(t.Purpose), t.AccountID, dbTime(t.CreatedAt), dbTime(t.ExpiresAt), dbTime(t.UsedAt))
	return err
}

// CreateAccount inserts the account, its activation token and the
// activation e-mail at once. ErrConflict if the e-mail index, Konto-ID or
// ID is taken. An activation token with an empty hash is not stored (an
// account created already active); one with an empty AccountID belongs to a.
func (s *Store) CreateAccount(ctx context.Context, a idp.Account, activation idp.ActionToken, out ...idp.Outgoing) error {
	if err := s.createAccount(ctx, a, activation, nil, out); err != nil {
		return fmt.Errorf("create account: %w", err)
	}
	return nil
}

// CreateLinkedAccount is CreateAccount with the account's first upstream
// login, in the same transaction.
func (s *Store) CreateLinkedAccount(ctx context.Context, a idp.Account, activation idp.ActionToken, l idp.ExternalLink, out ...idp.Outgoing) error {
	if l.AccountID == "" {
		l.AccountID = a.ID
	}
	if l.AccountID != a.ID || l.Connector == "" || l.Issuer == "" || l.Subject == "" {
		return errors.New("create linked account: the link needs the account, connector, issuer and subject")
	}
	if err := s.createAccount(ctx, a, activation, &l, out); err != nil {
		return fmt.Errorf("create linked account: %w", err)
	}
	return nil
}

func (s *Store) createAccount(ctx context.Context, a idp.Account, activation idp.ActionToken, l *idp.ExternalLink, out []idp.Outgoing) error {
	if activation.AccountID == "" {
		activation.AccountID = a.ID
	}
	if activation.AccountID != a.ID {
		return fmt.Errorf("activation token belongs to another account")
	}
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		if err := insertAccount(ctx, tx, a); err != nil {
			return err
		}
		if len(activation.Hash) > 0 {
			if err := insertActionToken(ctx, tx, activation); err != nil {
				return fmt.Errorf("activation token: %w", err)
			}
		}
		if l != nil {
			if err := insertLink(ctx, tx, *l); err != nil {
				return fmt.Errorf("link: %w", err)
			}
		}
		return s.enqueue(ctx, tx, out)
	})
}

// GetAccount returns the account with the given ID or ErrNotFound.
func (s *Store) GetAccount(ctx context.Context, id string) (idp.Account, error) {
	a, err := getAccount(ctx, s.db, `id = ?`, id)
	if err != nil {
		return idp.Account{}, fmt.Errorf("get account: %w", err)
	}
	return a, nil
}

// GetAccountByEmailIndex returns the account whose e-mail has this blind index.
func (s *Store) GetAccountByEmailIndex(ctx context.Context, index []byte) (idp.Account, error) {
	a, err := getAccount(ctx, s.db, `email_index = ?`, dbBytes(index))
	if err != nil {
		return idp.Account{}, fmt.Errorf("get account by e-mail index: %w", err)
	}
	return a, nil
}

// GetAccountByKontoID returns the account with this Konto-ID.
func (s *Store) GetAccountByKontoID(ctx context.Context, kontoID string) (idp.Account, error) {
	a, err := getAccount(ctx, s.db, `konto_id = ?`, kontoID)
	if err != nil {
		return idp.Account{}, fmt.Errorf("get account by Konto-ID: %w", err)
	}
	return a, nil
}

// applyToAccount locks the account with this ID inside tx, runs fn on it,
// stores the result and enqueues fn's messages.
func (s *Store) applyToAccount(ctx context.Context, tx *sqldb.Tx, id string,
	fn func(idp.Account) (idp.Account, []idp.Outgoing, error),
) (idp.Account, error) {
	old, err := getAccount(ctx, tx, `id = ? FOR UPDATE`, id)
	if err != nil {
		return idp.Account{}, fmt.Errorf("load account: %w", err)
	}
	a, out, err := fn(old)
	if err != nil {
		return idp.Account{}, err
	}
	if a.ID != id {
		return idp.Account{}, errors.New("the account ID cannot change")
	}
	if err := updateAccount(ctx, tx, a); err != nil {
		return idp.Account{}, fmt.Errorf("store account: %w", err)
	}
	if err := s.enqueue(ctx, tx, out); err != nil {
		return idp.Account{}, err
	}
	return canonAccount(a), nil
}

// UpdateAccount applies fn to the current account inside a transaction
// and stores the result (the ID cannot change); the messages fn returns
// are enqueued in the same transaction. An error from fn aborts with
// nothing written.
func (s *Store) UpdateAccount(ctx context.Context, id string,
	fn func(idp.Account) (idp.Account, []idp.Outgoing, error),
) (idp.Account, error) {
	var a idp.Account
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var err error
		a, err = s.applyToAccount(ctx, tx, id, fn)
		return err
	})
	if err != nil {
		return idp.Account{}, fmt.Errorf("update account: %w", err)
	}
	return a, nil
}

// RecordLogin sets the account's last login time, in one statement (no
// transaction of its own: it changes one column of one row); ErrNotFound
// if there is no such account.
func (s *Store) RecordLogin(ctx context.Context, id string, at time.Time) error {
	if err := execOne(ctx, s.db, `UPDATE accounts SET last_login_at = ? WHERE id = ?`, dbTime(at), id); err != nil {
		return fmt.Errorf("record login: %w", err)
	}
	return nil
}

// DeleteAccount removes the account and everything that hangs on it
// (action tokens, refresh tokens, see deleteAccount); ErrNotFound if there
// is none. Tokens go first, in the lock order ConsumeActionToken uses
// (token, then account).
func (s *Store) DeleteAccount(ctx context.Context, id string) error {
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		if _, err := exec(ctx, tx, `DELETE FROM action_tokens WHERE account_id = ?`, id); err != nil {
			return err
		}
		n, err := s.deleteAccount(ctx, tx, id)
		if err == nil && n == 0 {
			err = idp.ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("delete account: %w", err)
	}
	return nil
}

// CreateActionToken stores a single-use token and enqueues its e-mail.
// ErrNotFound if the account does not exist, ErrConflict if the hash is
// taken.
func (s *Store) CreateActionToken(ctx context.Context, t idp.ActionToken, out ...idp.Outgoing) error {
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		if err := insertActionToken(ctx, tx, t); err != nil {
			return err
		}
		return s.enqueue(ctx, tx, out)
	})
	if err != nil {
		return fmt.Errorf("create action token: %w", err)
	}
	return nil
}

// ConsumeActionToken marks the unexpired, unused token with this purpose
// and hash as used and applies fn to its account, all in one transaction.
// ErrNotFound for an unknown or expired token, ErrReused for a used one
// (even if it has expired since); an error from fn aborts and leaves the
// token unused.
func (s *Store) ConsumeActionToken(ctx context.Context, purpose idp.ActionPurpose, hash []byte, now time.Time,
	fn func(idp.Account) (idp.Account, []idp.Outgoing, error),
) (idp.Account, error) {
	var a idp.Account
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var accountID string
		err := tx.QueryRow(ctx, `UPDATE action_tokens SET used_at = ?
			WHERE hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?
			RETURNING account_id`,
			dbTime(now), dbBytes(hash), string(purpose), dbTime(now)).Scan(&accountID)
		if errors.Is(err, sqldb.ErrNotFound) {
			var usedAt time.Time
			err := tx.QueryRow(ctx, `SELECT used_at FROM action_tokens WHERE hash = ? AND purpose = ?`,
				dbBytes(hash), string(purpose)).Scan(&usedAt)
			switch {
			case err != nil:
				return translate(err)
			case !usedAt.IsZero():
				return idp.ErrReused
			default:
				return idp.ErrNotFound // expired
			}
		}
		if err != nil {
			return fmt.Errorf("mark token used: %w", translate(err))
		}
		a, err = s.applyToAccount(ctx, tx, accountID, fn)
		return err
	})
	if err != nil {
		return idp.Account{}, fmt.Errorf("consume %s token: %w", purpose, err)
	}
	return a, nil
}
