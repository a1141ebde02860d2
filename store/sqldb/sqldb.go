package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Dialect names the database behind a DB.
type Dialect int

// The two dialects.
const (
	Postgres Dialect = iota + 1
	SQLite
)

func (d Dialect) String() string {
	switch d {
	case Postgres:
		return "postgres"
	case SQLite:
		return "sqlite"
	}
	return "Dialect(" + strconv.Itoa(int(d)) + ")"
}

// Connection settings.
const (
	connectTimeout = 10 * time.Second
	// busyTimeout is how long SQLite waits for another connection's write
	// lock before it reports SQLITE_BUSY.
	busyTimeout = 10 * time.Second
	// sqliteMaxConns lets reads proceed beside the single writer (WAL);
	// more buys nothing on SQLite.
	sqliteMaxConns = 4
)

// DB is a database of either dialect. It is safe for concurrent use.
type DB struct {
	dialect Dialect
	pool    *pgxpool.Pool // Postgres
	sql     *sql.DB       // SQLite
	schema  string
	where   string // for error messages, without secrets

	queries sync.Map // query text → rewritten query text
}

// Open connects to a database:
//
//   - "postgres://…" or "postgresql://…": a pgx pool. A non-empty schema is
//     created if missing and is the search_path of every connection.
//   - "sqlite:/path/file.db" (also "sqlite:file.db", "sqlite::memory:"):
//     modernc SQLite with WAL, foreign keys, a busy timeout and BEGIN
//     IMMEDIATE transactions; schema must be empty.
//
// Open does not migrate; call Migrate.
func Open(ctx context.Context, dsn, schema string) (*DB, error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return openPostgres(ctx, dsn, schema)
	case strings.HasPrefix(dsn, "sqlite:"):
		if schema != "" {
			return nil, fmt.Errorf("sqldb: sqlite has no schemas (got %q)", schema)
		}
		return openSQLite(ctx, strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "//"))
	}
	return nil, errors.New(`sqldb: database URL must start with "postgres://" or "sqlite:"`)
}

func openPostgres(ctx context.Context, dsn, schema string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx redacts the password in its parse errors.
		return nil, fmt.Errorf("sqldb: not a valid database URL: %w", err)
	}
	if schema != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{schema}.Sanitize()
	}
	where := fmt.Sprintf("postgres at %s:%d, database %q, user %q", cfg.ConnConfig.Host, cfg.ConnConfig.Port,
		cfg.ConnConfig.Database, cfg.ConnConfig.User)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("sqldb: %s: %w", where, err)
	}
	pctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("sqldb: cannot connect to %s: %w: %w", where, ErrUnavailable, err)
	}
	db := &DB{dialect: Postgres, pool: pool, schema: schema, where: where}
	if schema != "" {
		_, err := pool.Exec(pctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize())
		// Two processes creating the schema at once can collide on the
		// catalog's unique index; the schema then exists.
		if err != nil && !errors.Is(translate(err), ErrConflict) {
			pool.Close()
			return nil, fmt.Errorf("sqldb: %s: create schema %q: %w", where, schema, err)
		}
	}
	return db, nil
}

func openSQLite(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("sqldb: empty sqlite path")
	}
	if strings.Contains(path, "?") {
		return nil, fmt.Errorf("sqldb: sqlite path %q must not contain '?'", path)
	}
	memory := path == ":memory:"
	q := url.Values{}
	q.Set("_busy_timeout", strconv.FormatInt(busyTimeout.Milliseconds(), 10))
	q.Set("_foreign_keys", "1")
	q.Set("_txlock", "immediate")
	maxConns := sqliteMaxConns
	if memory {
		maxConns = 1 // every connection would get its own database
	} else {
		q.Set("_journal_mode", "WAL")
	}
	sdb, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqldb: open sqlite %q: %w", path, err)
	}
	sdb.SetMaxOpenConns(maxConns)
	sdb.SetMaxIdleConns(maxConns)
	sdb.SetConnMaxLifetime(0)
	sdb.SetConnMaxIdleTime(0)
	// A new connection switches the file to WAL, which needs a lock that
	// SQLite does not wait for with the busy timeout: when several
	// processes open a new file at once, one of them may find it busy.
	// The connection is then discarded and a new one tried.
	for start := time.Now(); ; {
		err := sdb.PingContext(ctx)
		if err == nil {
			break
		}
		if !retryable(err) || time.Since(start) > busyTimeout {
			_ = sdb.Close()
			return nil, fmt.Errorf("sqldb: open sqlite %q: %w", path, err)
		}
		select {
		case <-ctx.Done():
			_ = sdb.Close()
			return nil, fmt.Errorf("sqldb: open sqlite %q: %w", path, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return &DB{dialect: SQLite, sql: sdb, where: "sqlite " + path}, nil
}

// Dialect reports which database this is.
func (db *DB) Dialect() Dialect { return db.dialect }

// Schema returns the PostgreSQL schema given to Open ("" for SQLite or the
// default search_path). A River client must use it as river.Config.Schema.
func (db *DB) Schema() string { return db.schema }

// Pool returns the pgx pool (nil on SQLite), e.g. for riverpgxv5.New.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// SQL returns the database/sql handle (nil on PostgreSQL), e.g. for
// riversqlite.New.
func (db *DB) SQL() *sql.DB { return db.sql }

// Close closes every connection.
func (db *DB) Close() error {
	if db.pool != nil {
		db.pool.Close()
		return nil
	}
	return db.sql.Close()
}

// Ping reports whether the database answers.
func (db *DB) Ping(ctx context.Context) error {
	var err error
	if db.pool != nil {
		err = db.pool.Ping(ctx)
	} else {
		err = db.sql.PingContext(ctx)
	}
	if err != nil {
		return fmt.Errorf("sqldb: ping %s: %w: %w", db.where, ErrUnavailable, err)
	}
	return nil
}

// Exec runs a statement and returns the number of rows it affected.
func (db *DB) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	return db.exec(ctx, db.querier(), q, args)
}

// Query runs a query; close the rows when done.
func (db *DB) Query(ctx context.Context, q string, args ...any) (*Rows, error) {
	return db.query(ctx, db.querier(), q, args)
}

// QueryRow runs a query whose first row is scanned by Row.Scan, which
// returns ErrNotFound when there is none.
func (db *DB) QueryRow(ctx context.Context, q string, args ...any) *Row {
	rows, err := db.query(ctx, db.querier(), q, args)
	return &Row{rows: rows, err: err}
}

// querier is what a pool, a connection and a transaction of either driver
// offer; exactly one of the fields is set.
type querier struct {
	pg pgExecQuerier
	sq interface {
		ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
		QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	}
}

func (db *DB) querier() querier {
	if db.pool != nil {
		return querier{pg: db.pool}
	}
	return querier{sq: db.sql}
}

func (db *DB) exec(ctx context.Context, qr querier, q string, args []any) (int64, error) {
	q = db.rewrite(q)
	if qr.pg != nil {
		tag, err := qr.pg.Exec(ctx, q, pgArgs(args)...)
		if err != nil {
			return 0, translate(err)
		}
		return tag.RowsAffected(), nil
	}
	res, err := qr.sq.ExecContext(ctx, q, sqliteArgs(args)...)
	if err != nil {
		return 0, translate(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, translate(err)
	}
	return n, nil
}

func (db *DB) query(ctx context.Context, qr querier, q string, args []any) (*Rows, error) {
	q = db.rewrite(q)
	if qr.pg != nil {
		rows, err := qr.pg.Query(ctx, q, pgArgs(args)...)
		if err != nil {
			return nil, translate(err)
		}
		return &Rows{pg: rows}, nil
	}
	rows, err := qr.sq.QueryContext(ctx, q, sqliteArgs(args)...)
	if err != nil {
		return nil, translate(err)
	}
	return &Rows{sq: rows}, nil
}

// Rows is the result of Query.
type Rows struct {
	pg pgx.Rows
	sq *sql.Rows
}

// Next advances to the next row; false at the end or on an error (see Err).
func (r *Rows) Next() bool {
	if r.pg != nil {
		return r.pg.Next()
	}
	return r.sq.Next()
}

// Scan copies the current row's columns into dest. time.Time and
// *time.Time destinations are converted from either dialect's storage.
func (r *Rows) Scan(dest ...any) error {
	if r.pg != nil {
		return translate(scanPostgres(r.pg.Scan, dest))
	}
	return translate(r.sq.Scan(sqliteDest(dest)...))
}

// Err returns the error that ended iteration, if any.
func (r *Rows) Err() error {
	if r.pg != nil {
		return translate(r.pg.Err())
	}
	return translate(r.sq.Err())
}

// Close releases the rows; safe to call more than once.
func (r *Rows) Close() error {
	if r.pg != nil {
		r.pg.Close()
		return translate(r.pg.Err())
	}
	return translate(r.sq.Close())
}

// Row is the result of QueryRow.
type Row struct {
	rows *Rows
	err  error
}

// Scan copies the first row into dest, or returns ErrNotFound.
func (r *Row) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer func() { _ = r.rows.Close() }()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return ErrNotFound
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	return r.rows.Close()
}
