package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/kanton/kundencenter/idp"
)

var _ idp.WebAuthnStore = (*Store)(nil)

const webauthnColumns = `id, account_id, name, public_key, attestation_type, aaguid, sign_count, transports,
	user_verified, backup_eligible, backup_state, clone_warning, created_at, last_used_at`

func scanWebAuthn(r pgx.Row) (idp.WebAuthnCredential, error) {
	var (
		c                 idp.WebAuthnCredential
		signCount         int64
		created, lastUsed pgtype.Timestamptz
	)
	err := r.Scan(&c.ID, &c.AccountID, &c.Name, &c.PublicKey, &c.AttestationType, &c.AAGUID, &signCount,
		&c.Transports, &c.UserVerified, &c.BackupEligible, &c.BackupState, &c.CloneWarning, &created, &lastUsed)
	if err != nil {
		return idp.WebAuthnCredential{}, translate(err)
	}
	c.ID = goBytes(c.ID)
	c.PublicKey = goBytes(c.PublicKey)
	c.AAGUID = goBytes(c.AAGUID)
	c.Transports = goList(c.Transports)
	c.SignCount = uint32(signCount) // the column's CHECK keeps it in range
	c.CreatedAt = goTime(created)
	c.LastUsedAt = goTime(lastUsed)
	return c, nil
}

// canonWebAuthn is the credential as a round trip through the database returns it.
func canonWebAuthn(c idp.WebAuthnCredential) idp.WebAuthnCredential {
	c.ID = goBytes(c.ID)
	c.PublicKey = goBytes(c.PublicKey)
	c.AAGUID = goBytes(c.AAGUID)
	c.Transports = goList(c.Transports)
	c.CreatedAt = canonTime(c.CreatedAt)
	c.LastUsedAt = canonTime(c.LastUsedAt)
	return c
}

// AddWebAuthnCredential stores a new credential and enqueues the messages
// in the same transaction. ErrConflict if a credential with this ID exists,
// ErrNotFound if the account does not.
func (s *Store) AddWebAuthnCredential(ctx context.Context, c idp.WebAuthnCredential, out ...idp.Outgoing) error {
	if len(c.ID) == 0 || c.AccountID == "" {
		return errors.New("add WebAuthn credential: ID and account are required")
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := exec(ctx, tx, `INSERT INTO webauthn_credentials (`+webauthnColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
			dbBytes(c.ID), c.AccountID, c.Name, dbBytes(c.PublicKey), c.AttestationType, dbBytes(c.AAGUID),
			int64(c.SignCount), dbList(c.Transports), c.UserVerified, c.BackupEligible, c.BackupState,
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
func (s *Store) ListWebAuthnCredentials(ctx context.Context, accountID string) ([]idp.WebAuthnCredential, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+webauthnColumns+` FROM webauthn_credentials
		WHERE account_id = $1 ORDER BY created_at, seq`, accountID)
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (idp.WebAuthnCredential, error) {
		return scanWebAuthn(r)
	})
	if err != nil {
		return nil, fmt.Errorf("list WebAuthn credentials: %w", translate(err))
	}
	if len(list) == 0 {
		return nil, nil
	}
	return list, nil
}

// GetWebAuthnCredential returns the credential with this ID or ErrNotFound.
func (s *Store) GetWebAuthnCredential(ctx context.Context, id []byte) (idp.WebAuthnCredential, error) {
	c, err := scanWebAuthn(s.pool.QueryRow(ctx,
		`SELECT `+webauthnColumns+` FROM webauthn_credentials WHERE id = $1`, dbBytes(id)))
	if err != nil {
		return idp.WebAuthnCredential{}, fmt.Errorf("get WebAuthn credential: %w", err)
	}
	return c, nil
}

// UpdateWebAuthnCredential applies fn to the current credential, locked
// with SELECT … FOR UPDATE, and stores the result; the ID, account and
// public key cannot change.
func (s *Store) UpdateWebAuthnCredential(ctx context.Context, id []byte,
	fn func(idp.WebAuthnCredential) (idp.WebAuthnCredential, error),
) (idp.WebAuthnCredential, error) {
	var c idp.WebAuthnCredential
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		old, err := scanWebAuthn(tx.QueryRow(ctx,
			`SELECT `+webauthnColumns+` FROM webauthn_credentials WHERE id = $1 FOR UPDATE`, dbBytes(id)))
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
		_, err = exec(ctx, tx, `UPDATE webauthn_credentials SET name = $2, attestation_type = $3, aaguid = $4,
			sign_count = $5, transports = $6, user_verified = $7, backup_eligible = $8, backup_state = $9,
			clone_warning = $10, created_at = $11, last_used_at = $12 WHERE id = $1`,
			dbBytes(id), c.Name, c.AttestationType, dbBytes(c.AAGUID), int64(c.SignCount), dbList(c.Transports),
			c.UserVerified, c.BackupEligible, c.BackupState, c.CloneWarning, dbTime(c.CreatedAt),
			dbTime(c.LastUsedAt))
		return err
	})
	if err != nil {
		return idp.WebAuthnCredential{}, fmt.Errorf("update WebAuthn credential: %w", err)
	}
	return canonWebAuthn(c), nil
}

// DeleteWebAuthnCredential removes the account's credential with this ID
// and enqueues the messages in the same transaction; ErrNotFound if the
// account has no such credential.
func (s *Store) DeleteWebAuthnCredential(ctx context.Context, accountID string, id []byte, out ...idp.Outgoing) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		n, err := exec(ctx, tx, `DELETE FROM webauthn_credentials WHERE id = $1 AND account_id = $2`,
			dbBytes(id), accountID)
		if err != nil {
			return err
		}
		if n == 0 {
			return idp.ErrNotFound
		}
		return s.enqueue(ctx, tx, out)
	})
	if err != nil {
		return fmt.Errorf("delete WebAuthn credential: %w", err)
	}
	return nil
}
