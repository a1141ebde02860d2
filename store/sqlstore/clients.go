package sqlstore

import (
	"context"
	"fmt"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/store/sqldb"
)

const clientColumns = `id, secret_hash, name, redirect_uris, post_logout_redirect_uris, grant_types, public,
	access_token_type, level, back_channel_logout_uri, events_uri, scopes, api_scopes, subject_type, sector_identifier,
	created_at, updated_at`

func scanClient(r scanner) (c idp.Client, err error) {
	err = r.Scan(&c.ID, &c.SecretHash, &c.Name, sqldb.ScanList(&c.RedirectURIs), sqldb.ScanList(&c.PostLogoutRedirectURIs),
		sqldb.ScanList(&c.GrantTypes), &c.Public, &c.AccessTokenType, &c.Level, &c.BackChannelLogoutURI, &c.EventsURI,
		sqldb.ScanList(&c.Scopes), sqldb.ScanList(&c.APIScopes), &c.SubjectType, &c.SectorIdentifier, &c.CreatedAt, &c.UpdatedAt)
	if err != nil {
		return idp.Client{}, translate(err)
	}
	c.SecretHash = goBytes(c.SecretHash)
	return c, nil
}

// PutClient inserts or replaces a client.
func (s *Store) PutClient(ctx context.Context, c idp.Client) error {
	_, err := exec(ctx, s.db, `INSERT INTO clients (`+clientColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET secret_hash = excluded.secret_hash, name = excluded.name,
			redirect_uris = excluded.redirect_uris, post_logout_redirect_uris = excluded.post_logout_redirect_uris,
			grant_types = excluded.grant_types, public = excluded.public,
			access_token_type = excluded.access_token_type, level = excluded.level,
			back_channel_logout_uri = excluded.back_channel_logout_uri, events_uri = excluded.events_uri,
			scopes = excluded.scopes, api_scopes = excluded.api_scopes,
			subject_type = excluded.subject_type, sector_identifier = excluded.sector_identifier,
			created_at = excluded.created_at, updated_at = excluded.updated_at`,
		c.ID, dbBytes(c.SecretHash), c.Name, sqldb.List(c.RedirectURIs), sqldb.List(c.PostLogoutRedirectURIs),
		sqldb.List(c.GrantTypes), c.Public, c.AccessTokenType, c.Level, c.BackChannelLogoutURI, c.EventsURI,
		sqldb.List(c.Scopes), sqldb.List(c.APIScopes), c.SubjectType, c.SectorIdentifier, dbTime(c.CreatedAt), dbTime(c.UpdatedAt))
	if err != nil {
		return fmt.Errorf("put client %q: %w", c.ID, err)
	}
	return nil
}

// GetClient returns a client or ErrNotFound.
func (s *Store) GetClient(ctx context.Context, id string) (idp.Client, error) {
	c, err := scanClient(s.db.QueryRow(ctx, `SELECT `+clientColumns+` FROM clients WHERE id = ?`, id))
	if err != nil {
		return idp.Client{}, fmt.Errorf("get client %q: %w", id, err)
	}
	return c, nil
}

// ListClients returns every client ordered by ID.
func (s *Store) ListClients(ctx context.Context) ([]idp.Client, error) {
	rows, err := s.db.Query(ctx, `SELECT `+clientColumns+` FROM clients ORDER BY id`)
	out, err := collect(rows, err, scanClient)
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	return out, nil
}

// DeleteClient removes a client; ErrNotFound if there is none.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	if err := execOne(ctx, s.db, `DELETE FROM clients WHERE id = ?`, id); err != nil {
		return fmt.Errorf("delete client %q: %w", id, err)
	}
	return nil
}

const keyColumns = `id, algorithm, sealed, public, state, created_at, updated_at`

// ListSigningKeys returns every key, oldest first.
func (s *Store) ListSigningKeys(ctx context.Context) ([]idp.SigningKey, error) {
	rows, err := s.db.Query(ctx, `SELECT `+keyColumns+` FROM signing_keys ORDER BY created_at, id`)
	out, err := collect(rows, err, func(r scanner) (k idp.SigningKey, err error) {
		var state string
		err = r.Scan(&k.ID, &k.Algorithm, &k.Sealed, &k.Public, &state, &k.CreatedAt, &k.UpdatedAt)
		k.Sealed, k.Public, k.State = goBytes(k.Sealed), goBytes(k.Public), idp.KeyState(state)
		return k, err
	})
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	return out, nil
}

// PutSigningKeys inserts or replaces the given keys in one transaction.
func (s *Store) PutSigningKeys(ctx context.Context, keys ...idp.SigningKey) error {
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		for _, k := range keys {
			_, err := exec(ctx, tx, `INSERT INTO signing_keys (`+keyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (id) DO UPDATE SET algorithm = excluded.algorithm, sealed = excluded.sealed,
					public = excluded.public, state = excluded.state,
					created_at = excluded.created_at, updated_at = excluded.updated_at`,
				k.ID, k.Algorithm, dbBytes(k.Sealed), dbBytes(k.Public), string(k.State),
				dbTime(k.CreatedAt), dbTime(k.UpdatedAt))
			if err != nil {
				return fmt.Errorf("key %q: %w", k.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("put signing keys: %w", err)
	}
	return nil
}

// DeleteSigningKey removes a key; ErrNotFound if there is none.
func (s *Store) DeleteSigningKey(ctx context.Context, id string) error {
	if err := execOne(ctx, s.db, `DELETE FROM signing_keys WHERE id = ?`, id); err != nil {
		return fmt.Errorf("delete signing key %q: %w", id, err)
	}
	return nil
}
