package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/kanton/kundencenter/idp"
)

// PutPairwiseSubject records that sub is accountID's subject in sector;
// recording it again is no error (idp.SubjectStore).
func (s *Store) PutPairwiseSubject(ctx context.Context, sector, sub, accountID string) error {
	if sector == "" || sub == "" || accountID == "" {
		return errors.New("put pairwise subject: sector, subject and account are required")
	}
	n, err := exec(ctx, s.db, `INSERT INTO pairwise_subjects (sector, subject, account_id) VALUES (?, ?, ?)
		ON CONFLICT (sector, subject) DO NOTHING`, sector, sub, accountID)
	if err != nil {
		return fmt.Errorf("put pairwise subject: %w", err)
	}
	if n == 1 {
		return nil
	}
	// The row existed: it must name the same account.
	got, err := s.PairwiseAccount(ctx, sector, sub)
	if err != nil {
		return fmt.Errorf("put pairwise subject: %w", err)
	}
	if got != accountID {
		return fmt.Errorf("put pairwise subject: %w: the subject names another account", idp.ErrConflict)
	}
	return nil
}

// PairwiseAccount returns the account whose subject in sector is sub, or
// idp.ErrNotFound.
func (s *Store) PairwiseAccount(ctx context.Context, sector, sub string) (string, error) {
	var id string
	err := translate(s.db.QueryRow(ctx, `SELECT account_id FROM pairwise_subjects WHERE sector = ? AND subject = ?`,
		sector, sub).Scan(&id))
	if err != nil {
		return "", fmt.Errorf("pairwise account: %w", err)
	}
	return id, nil
}
