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

var _ idp.ProfileStore = (*Store)(nil)

const profileColumns = `id, account_id, main, sealed, created_at, updated_at`

func scanProfile(r pgx.Row) (idp.Profile, error) {
	var (
		p                idp.Profile
		created, updated pgtype.Timestamptz
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
	return scanProfile(q.QueryRow(ctx, `SELECT `+profileColumns+` FROM profiles WHERE id = $1 AND account_id = $2`,
		id, accountID))
}

func insertProfile(ctx context.Context, q querier, p idp.Profile) error {
	_, err := exec(ctx, q, `INSERT INTO profiles (`+profileColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		p.ID, p.AccountID, p.Main, dbBytes(p.Sealed), dbTime(p.CreatedAt), dbTime(p.UpdatedAt))
	return err
}

// lockProfiles locks the account's row, so that counting its profiles and
// changing them is one step under READ COMMITTED (two deletions of the
// last two profiles, or creations at the limit, queue up). ErrNotFound
// if the account does not exist.
func lockProfiles(ctx context.Context, tx pgx.Tx, accountID string) (int, error) {
	var one int
	if err := tx.QueryRow(ctx, `SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE`, accountID).Scan(&one); err != nil {
		return 0, translate(err)
	}
	var n int
	err := tx.QueryRow(ctx, `SELECT count(*) FROM profiles WHERE account_id = $1`, accountID).Scan(&n)
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
	rows, err := s.pool.Query(ctx, `SELECT `+profileColumns+` FROM profiles WHERE account_id = $1
		ORDER BY created_at, id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("list profiles: %w", translate(err))
	}
	defer rows.Close()
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
	p, err := getProfile(ctx, s.pool, accountID, id)
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
	err := s.inTx(ctx, func(tx pgx.Tx) error {
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
	err := s.inTx(ctx, func(tx pgx.Tx) error {
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
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		old, err := scanProfile(tx.QueryRow(ctx, `SELECT `+profileColumns+` FROM profiles
			WHERE id = $1 AND account_id = $2 FOR UPDATE`, id, accountID))
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
		_, err = exec(ctx, tx, `UPDATE profiles SET main = $1, sealed = $2, updated_at = $3 WHERE id = $4 AND account_id = $5`,
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
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		n, err := lockProfiles(ctx, tx, accountID)
		if err != nil {
			return err
		}
		if _, err := getProfile(ctx, tx, accountID, id); err != nil {
			return err
		}
		if n <= 1 {
			return idp.ErrLastProfile
		}
		if _, err = exec(ctx, tx, `DELETE FROM profiles WHERE id = $1 AND account_id = $2`, id, accountID); err != nil {
			return err
		}
		// The grants that show this profile to a service end with it.
		_, err = exec(ctx, tx, `UPDATE refresh_tokens SET revoked_at = $1 WHERE account_id = $2 AND profile_id = $3 AND revoked_at IS NULL`,
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
	n, err := exec(ctx, s.pool, `INSERT INTO profile_choices (account_id, client_id, profile_id, chosen_at)
		SELECT $1, $2, id, $4 FROM profiles WHERE id = $3 AND account_id = $1
		ON CONFLICT (account_id, client_id) DO UPDATE SET profile_id = excluded.profile_id, chosen_at = excluded.chosen_at`,
		c.AccountID, c.ClientID, c.ProfileID, dbTime(c.ChosenAt))
	if err == nil && n == 0 {
		err = idp.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("put profile choice: %w", err)
	}
	return nil
}

// GetProfileChoice returns the choice remembered for the service.
func (s *Store) GetProfileChoice(ctx context.Context, accountID, clientID string) (idp.ProfileChoice, error) {
	c := idp.ProfileChoice{AccountID: accountID, ClientID: clientID}
	var chosen pgtype.Timestamptz
	err := s.pool.QueryRow(ctx, `SELECT profile_id, chosen_at FROM profile_choices WHERE account_id = $1 AND client_id = $2`,
		accountID, clientID).Scan(&c.ProfileID, &chosen)
	if err != nil {
		return idp.ProfileChoice{}, fmt.Errorf("get profile choice: %w", translate(err))
	}
	c.ChosenAt = goTime(chosen)
	return c, nil
}
