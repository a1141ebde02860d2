package sqlstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/mfa"
	"github.com/kanton/kundencenter/store/sqldb"
)

var _ mfa.WebAuthnStore = (*Store)(nil)

const webauthnColumns = `id, account_id, name, public_key, attestation_type, aaguid, sign_count, transports,
	user_verified, backup_eligible, backup_state, clone_warning, created_at, last_used_at`

func scanWebAuthn(r scanner) (c mfa.WebAuthnCredential, err error) {
	var signCount int64
	err = r.Scan(&c.ID, &c.AccountID, &c.Name, &c.PublicKey, &c.AttestationType, &c.AAGUID, &signCount,
		sqldb.ScanList(&c.Transports), &c.UserVerified, &c.BackupEligible, &c.BackupState, &c.CloneWarning,
		&c.CreatedAt, &c.LastUsedAt)
	if err != nil {
		return mfa.WebAuthnCredential{}, translate(err)
	}
	c.ID = goBytes(c.ID)
	c.PublicKey = goBytes(c.PublicKey)
	c.AAGUID = goBytes(c.AAGUID)
	c.SignCount = uint32(signCount) // the column's CHECK keeps it in range
	return c, nil
}

// canonWebAuthn is the credential as a round trip through the database returns it.
func canonWebAuthn(c mfa.WebAuthnCredential) mfa.WebAuthnCredential {
	c.ID = goBytes(c.ID)
	c.PublicKey = goBytes(c.PublicKey)
	c.AAGUID = goBytes(c.AAGUID)
	if len(c.Transports) == 0 {
		c.Transports = nil
	}
	c.CreatedAt = canonTime(c.CreatedAt)
	c.LastUsedAt = canonTime(c.LastUsedAt)
	return c
}

func getWebAuthn(ctx context.Context, q querier, id []byte, lock string) (mfa.WebAuthnCredential, error) {
	return scanWebAuthn(q.QueryRow(ctx,
		`SELECT `+webauthnColumns+` FROM webauthn_credentials WHERE id = ?`+lock, dbBytes(id)))
}

// AddWebAuthnCredential stores a new credential and enqueues the messages
// in the same transaction. ErrConflict if a credential with this ID exists,
// ErrNotFound if the account does not.
func (s *Store) AddWebAuthnCredential(ctx context.Context, c mfa.WebAuthnCredential, out ...idp.Outgoing) error {
	if len(c.ID) == 0 || c.AccountID == "" {
		return errors.New("add WebAuthn credential: ID and account are required")
	}
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		if _, err := exec(ctx, tx, `INSERT INTO webauthn_credentials (`+webauthnColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			dbBytes(c.ID), c.AccountID, c.Name, dbBytes(c.PublicKey), c.AttestationType, dbBytes(c.AAGUID),
			int64(c.SignCount), sqldb.List(c.Transports), c.UserVerified, c.BackupEligible, c.BackupState,
			c.CloneWarning, dbTime(c.CreatedAt), dbTime(c.LastUsedAt)); err != nil {
			return err
		}
		return s.enqueue(ctx, tx, out)
	})
	if err != nil {
		return fmt.Errorf("add WebAuthn credential: %w", err)
	}
	return nil
}

// ListWebAuthnCredentials returns the account's credentials, oldest first.
func (s *Store) ListWebAuthnCredentials(ctx context.Context, accountID string) ([]mfa.WebAuthnCredential, error) {
	// Insertion order: PostgreSQL's seq column, SQLite's rowid.
	seq := "seq"
	if s.db.Dialect() == sqldb.SQLite {
		seq = "rowid"
	}
	rows, err := s.db.Query(ctx, `SELECT `+webauthnColumns+` FROM webauthn_credentials
		WHERE account_id = ? ORDER BY created_at, `+seq, accountID)
	list, err := collect(rows, err, scanWebAuthn)
	if err != nil {
		return nil, fmt.Errorf("list WebAuthn credentials: %w", err)
	}
	return list, nil
}

// GetWebAuthnCredential returns the credential with this ID or ErrNotFound.
func (s *Store) GetWebAuthnCredential(ctx context.Context, id []byte) (mfa.WebAuthnCredential, error) {
	c, err := getWebAuthn(ctx, s.db, id, "")
	if err != nil {
		return mfa.WebAuthnCredential{}, fmt.Errorf("get WebAuthn credential: %w", err)
	}
	return c, nil
}

// UpdateWebAuthnCredential applies fn to the current credential, locked
// with SELECT … FOR UPDATE (SQLite: the write lock), and stores the result;
// the ID, account and public key cannot change.
func (s *Store) UpdateWebAuthnCredential(ctx context.Context, id []byte,
	fn func(mfa.WebAuthnCredential) (mfa.WebAuthnCredential, error),
) (mfa.WebAuthnCredential, error) {
	var c mfa.WebAuthnCredential
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		old, err := getWebAuthn(ctx, tx, id, " FOR UPDATE")
		if err != nil {
			return fmt.Errorf("load: %w", err)
		}
		c, err = fn(old)
		if err != nil {
			return err
		}
		if !bytes.Equal(c.ID, old.ID) || c.AccountID != old.AccountID || !bytes.Equal(c.PublicKey, old.PublicKey) {
			return errors.New("the ID, account and public key of a credential cannot change")
		}
		_, err = exec(ctx, tx, `UPDATE webauthn_credentials SET name = ?, attestation_type = ?, aaguid = ?,
			sign_count = ?, transports = ?, user_verified = ?, backup_eligible = ?, backup_state = ?,
			clone_warning = ?, created_at = ?, last_used_at = ? WHERE id = ?`,
			c.Name, c.AttestationType, dbBytes(c.AAGUID), int64(c.SignCount), sqldb.List(c.Transports),
			c.UserVerified, c.BackupEligible, c.BackupState, c.CloneWarning, dbTime(c.CreatedAt),
			dbTime(c.LastUsedAt), dbBytes(id))
		return err
	})
	if err != nil {
		return mfa.WebAuthnCredential{}, fmt.Errorf("update WebAuthn credential: %w", err)
	}
	return canonWebAuthn(c), nil
}

// DeleteWebAuthnCredential removes the account's credential with this ID
// and enqueues the messages in the same transaction; ErrNotFound if the
// account has no such credential.
func (s *Store) DeleteWebAuthnCredential(ctx context.Context, accountID string, id []byte, out ...idp.Outgoing) error {
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		if err := execOne(ctx, tx, `DELETE FROM webauthn_credentials WHERE id = ? AND account_id = ?`,
			dbBytes(id), accountID); err != nil {
			return err
		}
		return s.enqueue(ctx, tx, out)
	})
	if err != nil {
		return fmt.Errorf("delete WebAuthn credential: %w", err)
	}
	return nil
}
