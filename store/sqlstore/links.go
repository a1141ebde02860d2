package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/store/sqldb"
)

var _ idp.LinkStore = (*Store)(nil)

const linkColumns = `connector, issuer, subject, account_id, proofing_level, sealed, created_at, last_used_at`

func scanLink(r scanner) (l idp.ExternalLink, err error) {
	if err := r.Scan(&l.Connector, &l.Issuer, &l.Subject, &l.AccountID, &l.ProofingLevel, &l.Sealed,
		&l.CreatedAt, &l.LastUsedAt); err != nil {
		return idp.ExternalLink{}, translate(err)
	}
	l.Sealed = goBytes(l.Sealed)
	return l, nil
}

func canonLink(l idp.ExternalLink) idp.ExternalLink {
	l.Sealed = goBytes(l.Sealed)
	l.CreatedAt = canonTime(l.CreatedAt)
	l.LastUsedAt = canonTime(l.LastUsedAt)
	return l
}

func getLink(ctx context.Context, q querier, connector, issuer, subject, lock string) (idp.ExternalLink, error) {
	return scanLink(q.QueryRow(ctx, `SELECT `+linkColumns+` FROM external_links
		WHERE connector = ? AND issuer = ? AND subject = ?`+lock, connector, issuer, subject))
}

// CreateLink stores a new link and enqueues the messages in the same
// transaction. ErrConflict if (connector, issuer, subject) is already
// linked; ErrNotFound if the account does not exist.
func (s *Store) CreateLink(ctx context.Context, l idp.ExternalLink, out ...idp.Outgoing) error {
	if l.AccountID == "" || l.Connector == "" || l.Issuer == "" || l.Subject == "" {
		return errors.New("create link: account, connector, issuer and subject are required")
	}
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		if err := insertLink(ctx, tx, l); err != nil {
			return err
		}
		return s.enqueue(ctx, tx, out)
	})
	if err != nil {
		return fmt.Errorf("create link: %w", err)
	}
	return nil
}

func insertLink(ctx context.Context, q querier, l idp.ExternalLink) error {
	_, err := exec(ctx, q, `INSERT INTO external_links (`+linkColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		l.Connector, l.Issuer, l.Subject, l.AccountID, l.ProofingLevel, dbBytes(l.Sealed),
		dbTime(l.CreatedAt), dbTime(l.LastUsedAt))
	return err
}

// GetLink returns the link for this upstream login or ErrNotFound.
func (s *Store) GetLink(ctx context.Context, connector, issuer, subject string) (idp.ExternalLink, error) {
	l, err := getLink(ctx, s.db, connector, issuer, subject, "")
	if err != nil {
		return idp.ExternalLink{}, fmt.Errorf("get link: %w", err)
	}
	return l, nil
}

// ListLinks returns an account's links, oldest first.
func (s *Store) ListLinks(ctx context.Context, accountID string) ([]idp.ExternalLink, error) {
	rows, err := s.db.Query(ctx, `SELECT `+linkColumns+` FROM external_links WHERE account_id = ?
		ORDER BY created_at, connector, issuer, subject`, accountID)
	out, err := collect(rows, err, scanLink)
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	return out, nil
}

// UpdateLink applies fn to the current link inside a transaction (the row
// locked) and stores the result; the account and the identifying triple
// cannot change.
func (s *Store) UpdateLink(ctx context.Context, connector, issuer, subject string,
	fn func(idp.ExternalLink) (idp.ExternalLink, error),
) (idp.ExternalLink, error) {
	var l idp.ExternalLink
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		old, err := getLink(ctx, tx, connector, issuer, subject, " FOR UPDATE")
		if err != nil {
			return fmt.Errorf("load link: %w", err)
		}
		l, err = fn(old)
		if err != nil {
			return err
		}
		if l.AccountID != old.AccountID || l.Connector != old.Connector || l.Issuer != old.Issuer || l.Subject != old.Subject {
			return errors.New("the link's account, connector, issuer and subject cannot change")
		}
		_, err = exec(ctx, tx, `UPDATE external_links SET proofing_level = ?, sealed = ?, created_at = ?, last_used_at = ?
			WHERE connector = ? AND issuer = ? AND subject = ?`,
			l.ProofingLevel, dbBytes(l.Sealed), dbTime(l.CreatedAt), dbTime(l.LastUsedAt), connector, issuer, subject)
		return err
	})
	if err != nil {
		return idp.ExternalLink{}, fmt.Errorf("update link: %w", err)
	}
	return canonLink(l), nil
}

// DeleteLink removes the account's link and enqueues the messages in the
// same transaction; ErrNotFound if the account has no such link,
// ErrLastLogin if it is the account's last way to log in. The account's
// row lock (SELECT … FOR UPDATE; SQLite's write lock) is taken before the
// count, so concurrent deletions of the last two links serialise and the
// second sees one link left.
func (s *Store) DeleteLink(ctx context.Context, accountID, connector, issuer, subject string, out ...idp.Outgoing) error {
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var passwordSet time.Time
		if err := tx.QueryRow(ctx, `SELECT password_changed_at FROM accounts WHERE id = ? FOR UPDATE`,
			accountID).Scan(&passwordSet); err != nil {
			return translate(err)
		}
		var mine, links int
		if err := tx.QueryRow(ctx, `SELECT
			count(CASE WHEN connector = ? AND issuer = ? AND subject = ? THEN 1 END), count(*)
			FROM external_links WHERE account_id = ?`, connector, issuer, subject, accountID).Scan(&mine, &links); err != nil {
			return translate(err)
		}
		switch {
		case mine == 0:
			return idp.ErrNotFound
		case passwordSet.IsZero() && links <= 1:
			return idp.ErrLastLogin
		}
		if err := execOne(ctx, tx, `DELETE FROM external_links
			WHERE account_id = ? AND connector = ? AND issuer = ? AND subject = ?`, accountID, connector, issuer, subject); err != nil {
			return err
		}
		return s.enqueue(ctx, tx, out)
	})
	if err != nil {
		return fmt.Errorf("delete link: %w", err)
	}
	return nil
}
