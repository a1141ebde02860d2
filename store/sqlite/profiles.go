package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/kanton/kundencenter/idp"
)

var _ idp.ProfileStore = (*Store)(nil)

const profileColumns = `id, account_id, main, sealed, created_at, updated_at`

func scanProfile(r scanner) (idp.Profile, error) {
	var (
		p                idp.Profile
		created, updated sql.NullInt64
	)
	if err := r.Scan(&p.ID, &p.AccountID, &p.Main, &p.Sealed, &created, &updated); err != nil {
		return idp.Profile{}, translate(err)
	}
	p.Sealed = goBytes(p.Sealed)
	p.CreatedAt = goTime(created)
	p.UpdatedAt = goTime(updated)
	return p, nil
}

func canonProfile(p idp.Profile) idp.Profile {
	p.Sealed = goBytes(p.Sealed)
	p.CreatedAt = canonTime(p.CreatedAt)
	p.UpdatedAt = canonTime(p.UpdatedAt)
	return p
}

func getProfile(ctx context.Context, q querier, accountID, id string) (idp.Profile, error) {
	return scanProfile(q.QueryRowContext(ctx, `SELECT `+profileColumns+` FROM profiles WHERE id = ? AND account_id = ?`,
		id, accountID))
}

func insertProfile(ctx context.Context, q querier, p idp.Profile) error {
	_, err := exec(ctx, q, `INSERT INTO profiles (`+profileColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
		p.ID, p.AccountID, p.Main, dbBytes(p.Sealed), dbTime(p.CreatedAt), dbTime(p.UpdatedAt))
	return err
}

func countProfiles(ctx context.Context, q querier, accountID string) (int, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM profiles WHERE account_id = ?`, accountID).Scan(&n)
	return n, translate(err)
}

func checkProfile(p idp.Profile) error {
	if p.ID == "" || p.AccountID == "" {
		return errors.New("profile ID and account are required")
	}
	return nil
}

// ListProfiles returns the account's stored profiles, oldest first.
func (s *Store) ListProfiles(ctx context.Context, accountID string) ([]idp.Profile, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+profileColumns+` FROM profiles WHERE account_id = ?
		ORDER BY created_at, id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("list profiles: %w", translate(err))
	}
	defer func() { _ = rows.Close() }()
	var out []idp.Profile
	for rows.Next() {
		p, err := scanProfile(rows)
		if err != nil {
			return nil, fmt.Errorf("list profiles: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list profiles: %w", translate(err))
	}
	return out, nil
}

// GetProfile returns the account's profile with this ID or ErrNotFound.
func (s *Store) GetProfile(ctx context.Context, accountID, id string) (idp.Profile, error) {
	p, err := getProfile(ctx, s.db, accountID, id)
	if err != nil {
		return idp.Profile{}, fmt.Errorf("get profile: %w", err)
	}
	return p, nil
}

// CreateProfile stores a new profile unless the account has limit
// profiles already (the write lock of BEGIN IMMEDIATE makes the count and
// the insert one step).
func (s *Store) CreateProfile(ctx context.Context, p idp.Profile, limit int) error {
	if err := checkProfile(p); err != nil {
		return fmt.Errorf("create profile: %w", err)
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		n, err := countProfiles(ctx, tx, p.AccountID)
		if err != nil {
			return err
		}
		if n >= limit {
			return idp.ErrProfileLimit
		}
		return insertProfile(ctx, tx, p)
	})
	if err != nil {
		return fmt.Errorf("create profile: %w", err)
	}
	return nil
}

// EnsureProfile stores p only if its account has no profile yet.
func (s *Store) EnsureProfile(ctx context.Context, p idp.Profile) (bool, error) {
	if err := checkProfile(p); err != nil {
		return false, fmt.Errorf("ensure profile: %w", err)
	}
	stored := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		n, err := countProfiles(ctx, tx, p.AccountID)
		if err != nil || n > 0 {
			return err
		}
		stored = true
		return insertProfile(ctx, tx, p)
	})
	if err != nil {
		return false, fmt.Errorf("ensure profile: %w", err)
	}
	return stored, nil
}

// UpdateProfile applies fn to the account's profile in a transaction.
func (s *Store) UpdateProfile(ctx context.Context, accountID, id string,
	fn func(idp.Profile) (idp.Profile, error),
) (idp.Profile, error) {
	var p idp.Profile
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		old, err := getProfile(ctx, tx, accountID, id)
		if err != nil {
			return fmt.Errorf("load profile: %w", err)
		}
		p, err = fn(old)
		if err != nil {
			return err
		}
		if p.ID != old.ID || p.AccountID != old.AccountID || !p.CreatedAt.Equal(old.CreatedAt) {
			return errors.New("a profile's ID, account and creation time cannot change")
		}
		_, err = exec(ctx, tx, `UPDATE profiles SET main = ?, sealed = ?, updated_at = ? WHERE id = ? AND account_id = ?`,
			p.Main, dbBytes(p.Sealed), dbTime(p.UpdatedAt), id, accountID)
		return err
	})
	if err != nil {
		return idp.Profile{}, fmt.Errorf("update profile: %w", err)
	}
	return canonProfile(p), nil
}

// DeleteProfile removes the account's profile (and, by cascade, the
// choices naming it) unless it is the account's last one.
func (s *Store) DeleteProfile(ctx context.Context, accountID, id string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := getProfile(ctx, tx, accountID, id); err != nil {
			return err
		}
		n, err := countProfiles(ctx, tx, accountID)
		if err != nil {
			return err
		}
		if n <= 1 {
			return idp.ErrLastProfile
		}
		if _, err = exec(ctx, tx, `DELETE FROM profiles WHERE id = ? AND account_id = ?`, id, accountID); err != nil {
			return err
		}
		// The grants that show this profile to a service end with it.
		_, err = exec(ctx, tx, `UPDATE refresh_tokens SET revoked_at = ? WHERE account_id = ? AND profile_id = ? AND revoked_at IS NULL`,
			dbTime(time.Now()), accountID, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete profile: %w", err)
	}
	return nil
}

// PutProfileChoice remembers the profile chosen for a service.
func (s *Store) PutProfileChoice(ctx context.Context, c idp.ProfileChoice) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := getProfile(ctx, tx, c.AccountID, c.ProfileID); err != nil {
			return err
		}
		_, err := exec(ctx, tx, `INSERT INTO profile_choices (account_id, client_id, profile_id, chosen_at)
			VALUES (?, ?, ?, ?)
			ON CONFLICT (account_id, client_id) DO UPDATE SET profile_id = excluded.profile_id, chosen_at = excluded.chosen_at`,
			c.AccountID, c.ClientID, c.ProfileID, dbTime(c.ChosenAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("put profile choice: %w", err)
	}
	return nil
}

// GetProfileChoice returns the choice remembered for the service.
func (s *Store) GetProfileChoice(ctx context.Context, accountID, clientID string) (idp.ProfileChoice, error) {
	c := idp.ProfileChoice{AccountID: accountID, ClientID: clientID}
	var chosen sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT profile_id, chosen_at FROM profile_choices WHERE account_id = ? AND client_id = ?`,
		accountID, clientID).Scan(&c.ProfileID, &chosen)
	if err != nil {
		return idp.ProfileChoice{}, fmt.Errorf("get profile choice: %w", translate(err))
	}
	c.ChosenAt = goTime(chosen)
	return c, nil
}
