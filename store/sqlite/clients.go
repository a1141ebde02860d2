package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/kanton/kundencenter/idp"
)

const clientColumns = `id, secret_hash, name, redirect_uris, post_logout_redirect_uris, grant_types, public,
	access_token_type, level, back_channel_logout_uri, events_uri, scopes, api_scopes, created_at, updated_at`

func scanClient(r scanner) (idp.Client, error) {
	var (
		c                       idp.Client
		redirect, logout, grant string
		scopes, apiScopes       string
		created, updated        sql.NullInt64
	)
	err := r.Scan(&c.ID, &c.SecretHash, &c.Name, &redirect, &logout, &grant, &c.Public,
		&c.AccessTokenType, &c.Level, &c.BackChannelLogoutURI, &c.EventsURI, &scopes, &apiScopes, &created, &updated)
	if err != nil {
		return idp.Client{}, translate(err)
	}
	c.SecretHash = goBytes(c.SecretHash)
	c.CreatedAt = goTime(created)
	c.UpdatedAt = goTime(updated)
	for _, l := range []struct {
		dst *[]string
		src string
	}{{&c.RedirectURIs, redirect}, {&c.PostLogoutRedirectURIs, logout}, {&c.GrantTypes, grant},
		{&c.Scopes, scopes}, {&c.APIScopes, apiScopes}} {
		if *l.dst, err = goList(l.src); err != nil {
			return idp.Client{}, fmt.Errorf("client %q: %w", c.ID, err)
		}
	}
	return c, nil
}

// PutClient inserts or replaces a client.
func (s *Store) PutClient(ctx context.Context, c idp.Client) error {
	_, err := exec(ctx, s.db, `INSERT INTO clients (`+clientColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET secret_hash = excluded.secret_hash, name = excluded.name,
			redirect_uris = excluded.redirect_uris, post_logout_redirect_uris = excluded.post_logout_redirect_uris,
			grant_types = excluded.grant_types, public = excluded.public,
			access_token_type = excluded.access_token_type, level = excluded.level,
			back_channel_logout_uri = excluded.back_channel_logout_uri, events_uri = excluded.events_uri,
			scopes = excluded.scopes, api_scopes = excluded.api_scopes, created_at = excluded.created_at, updated_at = excluded.updated_at`,
		c.ID, dbBytes(c.SecretHash), c.Name, dbList(c.RedirectURIs), dbList(c.PostLogoutRedirectURIs),
		dbList(c.GrantTypes), c.Public, c.AccessTokenType, c.Level, c.BackChannelLogoutURI, c.EventsURI,
		dbList(c.Scopes), dbList(c.APIScopes), dbTime(c.CreatedAt), dbTime(c.UpdatedAt))
	if err != nil {
		return fmt.Errorf("put client %q: %w", c.ID, err)
	}
	return nil
}

// GetClient returns a client or ErrNotFound.
func (s *Store) GetClient(ctx context.Context, id string) (idp.Client, error) {
	c, err := scanClient(s.db.QueryRowContext(ctx, `SELECT `+clientColumns+` FROM clients WHERE id = ?`, id))
	if err != nil {
		return idp.Client{}, fmt.Errorf("get client %q: %w", id, err)
	}
	return c, nil
}

// ListClients returns every client ordered by ID.
func (s *Store) ListClients(ctx context.Context) ([]idp.Client, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+clientColumns+` FROM clients ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var out []idp.Client
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, fmt.Errorf("list clients: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	return out, nil
}

// DeleteClient removes a client; ErrNotFound if there is none.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	n, err := exec(ctx, s.db, `DELETE FROM clients WHERE id = ?`, id)
	if err == nil && n == 0 {
		err = idp.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("delete client %q: %w", id, err)
	}
	return nil
}

const keyColumns = `id, algorithm, sealed, public, state, created_at, updated_at`

// ListSigningKeys returns every key, oldest first.
func (s *Store) ListSigningKeys(ctx context.Context) ([]idp.SigningKey, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+keyColumns+` FROM signing_keys ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var out []idp.SigningKey
	for rows.Next() {
		var (
			k                idp.SigningKey
			state            string
			created, updated sql.NullInt64
		)
		if err := rows.Scan(&k.ID, &k.Algorithm, &k.Sealed, &k.Public, &state, &created, &updated); err != nil {
			return nil, fmt.Errorf("list signing keys: %w", err)
		}
		k.Sealed = goBytes(k.Sealed)
		k.Public = goBytes(k.Public)
		k.State = idp.KeyState(state)
		k.CreatedAt = goTime(created)
		k.UpdatedAt = goTime(updated)
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	return out, nil
}

// PutSigningKeys inserts or replaces the given keys in one transaction.
func (s *Store) PutSigningKeys(ctx context.Context, keys ...idp.SigningKey) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
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
	n, err := exec(ctx, s.db, `DELETE FROM signing_keys WHERE id = ?`, id)
	if err == nil && n == 0 {
		err = idp.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("delete signing key %q: %w", id, err)
	}
	return nil
}
