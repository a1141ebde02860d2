package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/kanton/kundencenter/idp"
)

const clientColumns = `id, secret_hash, name, redirect_uris, post_logout_redirect_uris, grant_types, public,
	access_token_type, level, back_channel_logout_uri, events_uri, scopes, api_scopes, created_at, updated_at`

func scanClient(r pgx.Row) (idp.Client, error) {
	var (
		c                idp.Client
		created, updated pgtype.Timestamptz
	)
	err := r.Scan(&c.ID, &c.SecretHash, &c.Name, &c.RedirectURIs, &c.PostLogoutRedirectURIs, &c.GrantTypes,
		&c.Public, &c.AccessTokenType, &c.Level, &c.BackChannelLogoutURI, &c.EventsURI, &c.Scopes, &c.APIScopes, &created, &updated)
	if err != nil {
		return idp.Client{}, translate(err)
	}
	c.SecretHash = goBytes(c.SecretHash)
	c.RedirectURIs = goList(c.RedirectURIs)
	c.PostLogoutRedirectURIs = goList(c.PostLogoutRedirectURIs)
	c.GrantTypes = goList(c.GrantTypes)
	c.Scopes = goList(c.Scopes)
	c.APIScopes = goList(c.APIScopes)
	c.CreatedAt = goTime(created)
	c.UpdatedAt = goTime(updated)
	return c, nil
}

// PutClient inserts or replaces a client.
func (s *Store) PutClient(ctx context.Context, c idp.Client) error {
	_, err := exec(ctx, s.pool, `INSERT INTO clients (`+clientColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
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
	c, err := scanClient(s.pool.QueryRow(ctx, `SELECT `+clientColumns+` FROM clients WHERE id = $1`, id))
	if err != nil {
		return idp.Client{}, fmt.Errorf("get client %q: %w", id, err)
	}
	return c, nil
}

// ListClients returns every client ordered by ID.
func (s *Store) ListClients(ctx context.Context) ([]idp.Client, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+clientColumns+` FROM clients ORDER BY id`)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (idp.Client, error) { return scanClient(r) })
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	return out, nil
}

// DeleteClient removes a client; ErrNotFound if there is none.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	n, err := exec(ctx, s.pool, `DELETE FROM clients WHERE id = $1`, id)
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
	rows, _ := s.pool.Query(ctx, `SELECT `+keyColumns+` FROM signing_keys ORDER BY created_at, id`)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (idp.SigningKey, error) {
		var (
			k                idp.SigningKey
			state            string
			created, updated pgtype.Timestamptz
		)
		if err := r.Scan(&k.ID, &k.Algorithm, &k.Sealed, &k.Public, &state, &created, &updated); err != nil {
			return idp.SigningKey{}, err
		}
		k.Sealed = goBytes(k.Sealed)
		k.Public = goBytes(k.Public)
		k.State = idp.KeyState(state)
		k.CreatedAt = goTime(created)
		k.UpdatedAt = goTime(updated)
		return k, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	return out, nil
}

// PutSigningKeys inserts or replaces the given keys in one transaction.
func (s *Store) PutSigningKeys(ctx context.Context, keys ...idp.SigningKey) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		for _, k := range keys {
			_, err := exec(ctx, tx, `INSERT INTO signing_keys (`+keyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)
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
	n, err := exec(ctx, s.pool, `DELETE FROM signing_keys WHERE id = $1`, id)
	if err == nil && n == 0 {
		err = idp.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("delete signing key %q: %w", id, err)
	}
	return nil
}
