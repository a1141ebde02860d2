package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/store/sqldb"
)

var _ idp.ProfileStore = (*Store)(nil)

const profileColumns = `id, account_id, main, sealed, created_at, updated_at`

func scanProfile(r scanner) (p idp.Profile, err error) {
	if err := r.Scan(&p.ID, &p.AccountID, &p.Main, &p.Sealed, &p.CreatedAt, &p.UpdatedAt); err != nil {
		return idp.Profile{}, translate(err)
	}
	p.Sealed = goBytes(p.Sealed)
	return p, nil
}

func canonProfile(p idp.Profile) idp.Profile {
	p.Sealed = goBytes(p.Sealed)
	p.CreatedAt = canonTime(p.CreatedAt)
	p.UpdatedAt = canonTime(p.UpdatedAt)
	return p
}

func getProfile(ctx context.Context, q querier, accountID, id, lock string) (idp.Profile, error) {
	return scanProfile(q.QueryRow(ctx, `SELECT `+profileColumns+` FROM profiles WHERE id = ? AND account_id = ?`+lock,
		id, accountID))
}

func insertProfile(ctx context.Context, q querier, p idp.Profile) error {
	_, err := exec(ctx, q, `INSERT INTO profiles (`+profileColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
		p.ID, p.AccountID, p.Main, dbBytes(p.Sealed), dbTime(p.CreatedAt), dbTime(p.UpdatedAt))
	return err
}

// lockProfiles locks the account's row, so that counting its profiles and
// changing them is one step under READ COMMITTED (two deletions of the
// last two profiles, or creations at the limit, queue up), and counts
// them. ErrNotFound if the account does not exist.
func lockProfiles(ctx context.Context, q querier, accountID string) (int, error) {
	if err := lockAccount(ctx, q, accountID, true); err != nil {
		return 0, err
	}
	var n int
	err := q.QueryRow(ctx, `SELECT count(*) FROM profiles WHERE account_id = ?`, accountID).Scan(&n)
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
	rows, err := s.db.Query(ctx, `SELECT `+profileColumns+` FROM profiles WHERE account_id = ?
		ORDER BY created_at, id`, accountID)
	out, err := collect(rows, err, scanProfile)
	if err != nil {
		return nil, fmt.Errorf("list profiles: %w", err)
	}
	return out, nil
}

// GetProfile returns the account's profile with this ID or ErrNotFound.
func (s *Store) GetProfile(ctx context.Context, accountID, id string) (idp.Profile, error) {
	p, err := getProfile(ctx, s.db, accountID, id, "")
	if err != nil {
		return idp.Profile{}, fmt.Errorf("get profile: %w", err)
	}
	return p, nil
}

// CreateProfile stores a new profile unless the account has limit
// profiles already.
func (s *Store) CreateProfile(ctx context.Context, p idp.Profile, limit int) error {
	if err := checkProfile(p); err != nil {
		return fmt.Errorf("create profile: %w", err)
	}
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		n, err := lockProfiles(ctx, tx, p.AccountID)
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
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		stored = false // Tx may run this again
		n, err := lockProfiles(ctx, tx, p.AccountID)
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
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		old, err := getProfile(ctx, tx, accountID, id, " FOR UPDATE")
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
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		n, err := lockProfiles(ctx, tx, accountID)
		if err != nil {
			return err
		}
		if _, err := getProfile(ctx, tx, accountID, id, ""); err != nil {
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
			dbTime(s.now()), accountID, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete profile: %w", err)
	}
	return nil
}

// PutProfileChoice remembers the profile chosen for a service.
func (s *Store) PutProfileChoice(ctx context.Context, c idp.ProfileChoice) error {
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		if _, err := getProfile(ctx, tx, c.AccountID, c.ProfileID, ""); err != nil {
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
	err := s.db.QueryRow(ctx, `SELECT profile_id, chosen_at FROM profile_choices WHERE account_id = ? AND client_id = ?`,
		accountID, clientID).Scan(&c.ProfileID, &c.ChosenAt)
	if err != nil {
		return idp.ProfileChoice{}, fmt.Errorf("get profile choice: %w", translate(err))
	}
	return c, nil
}
