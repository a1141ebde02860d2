package postgres

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/store/sqldb"
	"github.com/kanton/kundencenter/store/sqlstore"
)

var _ idp.Store = (*Store)(nil)

// maxSchemaLength leaves room for River's notification topics, which are
// prefixed with the schema and limited to 63 bytes.
const maxSchemaLength = 40

// schemaRE accepts the schema names that need no quoting (lower case, so
// that search_path, River's qualified names and CREATE SCHEMA agree).
var schemaRE = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// Store is the PostgreSQL implementation of idp.Store: sqlstore's on a pgx
// pool. It is safe for concurrent use.
type Store struct {
	*sqlstore.Store
}

// Open connects to the database at url (a postgres:// URL), migrates it
// and returns the store. Tables live in the first schema of the
// connection's search_path (normally public).
func Open(ctx context.Context, url string) (*Store, error) {
	return OpenSchema(ctx, url, "")
}

// OpenSchema is Open with every table, River's included, in the given
// schema, which is created if missing. An empty schema behaves as Open.
func OpenSchema(ctx context.Context, url, schema string) (*Store, error) {
	if schema != "" && (!schemaRE.MatchString(schema) || len(schema) > maxSchemaLength) {
		return nil, fmt.Errorf("postgres: schema %q: use at most %d lower-case letters, digits and '_', not starting with a digit",
			schema, maxSchemaLength)
	}
	db, err := sqldb.Open(ctx, url, schema)
	if errors.Is(err, sqldb.ErrUnavailable) {
		return nil, fmt.Errorf("postgres: %w: %w", idp.ErrUnavailable, err)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s, err := sqlstore.New(ctx, db, nil)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return &Store{s}, nil
}

// Close closes every connection of the pool.
func (s *Store) Close() {
	_ = s.Store.Close()
}

// Pool returns the connection pool, for building a River worker client
// with riverpgxv5.New.
func (s *Store) Pool() *pgxpool.Pool {
	return s.Database().Pool()
}

// Schema returns the schema given to OpenSchema ("" for Open); a River
// worker client must use it as river.Config.Schema.
func (s *Store) Schema() string {
	return s.Database().Schema()
}
