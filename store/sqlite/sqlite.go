package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/store/sqldb"
	"github.com/kanton/kundencenter/store/sqlstore"
)

var _ idp.Store = (*Store)(nil)

// defaultMaxConns lets reads proceed beside the single writer (WAL); more
// buys nothing on SQLite.
const defaultMaxConns = 4

// Store is the SQLite implementation of idp.Store: sqlstore's on an SQLite
// file. It is safe for concurrent use.
type Store struct {
	*sqlstore.Store
}

// Open opens (or creates) the SQLite database at path, configures WAL,
// busy_timeout, foreign keys and immediate transactions, and migrates it.
// The special path ":memory:" opens a private in-memory database on a
// single connection.
func Open(ctx context.Context, path string) (*Store, error) {
	return open(ctx, path, defaultMaxConns)
}

// open is Open with at most maxConns connections (":memory:" has one).
func open(ctx context.Context, path string, maxConns int) (*Store, error) {
	if path == "" {
		return nil, errors.New("open sqlite: empty database path")
	}
	db, err := sqldb.Open(ctx, "sqlite:"+path, "")
	if err != nil {
		return nil, fmt.Errorf("open sqlite %q: %w", path, err)
	}
	if path != ":memory:" {
		db.SQL().SetMaxOpenConns(maxConns)
		db.SQL().SetMaxIdleConns(maxConns)
	}
	s, err := sqlstore.New(ctx, db, nil)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open sqlite %q: %w", path, err)
	}
	return &Store{s}, nil
}

// DB returns the database handle, for building a River worker client with
// riversqlite.New.
func (s *Store) DB() *sql.DB {
	return s.Database().SQL()
}
