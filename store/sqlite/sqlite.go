package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/notify"
)

var _ idp.Store = (*Store)(nil)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Pool settings. Four connections let reads proceed beside the single
// writer (WAL); more buys nothing on SQLite.
const (
	defaultMaxConns = 4
	busyTimeout     = 10 * time.Second
	mailMaxAttempts = 10
)

// Store is the SQLite implementation of idp.Store. It is safe for
// concurrent use.
type Store struct {
	db    *sql.DB
	river *river.Client[*sql.Tx]
}

// Open opens (or creates) the SQLite database at path, configures WAL,
// busy_timeout, foreign keys and immediate transactions, and migrates it.
// The special path ":memory:" opens a private in-memory database on a
// single connection.
func Open(ctx context.Context, path string) (*Store, error) {
	return open(ctx, path, defaultMaxConns)
}

func open(ctx context.Context, path string, maxConns int) (*Store, error) {
	if path == "" {
		return nil, errors.New("open sqlite: empty database path")
	}
	if strings.Contains(path, "?") {
		return nil, fmt.Errorf("open sqlite %q: the path must not contain '?'", path)
	}
	memory := path == ":memory:"
	q := url.Values{}
	q.Set("_busy_timeout", strconv.FormatInt(busyTimeout.Milliseconds(), 10))
	q.Set("_foreign_keys", "1")
	q.Set("_txlock", "immediate")
	if memory {
		// Every connection would get its own in-memory database.
		maxConns = 1
	} else {
		q.Set("_journal_mode", "WAL")
	}
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite %q: %w", path, err)
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open sqlite %q: %w", path, err)
	}
	rc, err := river.NewClient(riversqlite.New(db), &river.Config{})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open sqlite %q: river client: %w", path, err)
	}
	s := &Store{db: db, river: rc}
	if err := s.Migrate(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open sqlite %q: %w", path, err)
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	return s.db.Close()
}

// DB returns the database handle, for building a River worker client with
// riversqlite.New.
func (s *Store) DB() *sql.DB {
	return s.db
}

// Migrate applies the embedded migrations that are not yet recorded in
// schema_migrations, then River's migrations, all in one transaction.
// BEGIN IMMEDIATE takes SQLite's write lock first, so a second process that
// starts at the same time waits and then finds nothing left to do.
func (s *Store) Migrate(ctx context.Context) error {
	migrations, err := loadMigrations()
	if err != nil {
		return err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT NOT NULL,
			applied_at INTEGER NOT NULL
		) STRICT`); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		applied := map[int]bool{}
		rows, err := tx.QueryContext(ctx, `SELECT version FROM schema_migrations`)
		if err != nil {
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				_ = rows.Close()
				return fmt.Errorf("read schema_migrations: %w", err)
			}
			applied[v] = true
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		for _, m := range migrations {
			if applied[m.version] {
				continue
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("apply migration %s: %w", m.name, err)
			}
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.version, m.name, time.Now().UnixMicro()); err != nil {
				return fmt.Errorf("record migration %s: %w", m.name, err)
			}
		}
		migrator, err := rivermigrate.New(riversqlite.New(s.db), nil)
		if err != nil {
			return fmt.Errorf("river migrator: %w", err)
		}
		// MigrateTx runs River's migrations under the write lock this
		// transaction already holds. River deprecates it for Postgres, where
		// some migrations need their own commit; SQLite has no such step.
		if _, err := migrator.MigrateTx(ctx, tx, rivermigrate.DirectionUp, nil); err != nil { //nolint:staticcheck // see above
			return fmt.Errorf("river migrations: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads the numbered files (0001_name.sql) in version order.
func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []migration
	seen := map[int]string{}
	for _, e := range entries {
		name := e.Name()
		prefix, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(prefix)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive number and '_'", name)
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s share version %d", other, name, v)
		}
		seen[v] = name
		b, err := fs.ReadFile(migrationFS, "migrations/"+name)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		out = append(out, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("ping sqlite: %w: %w", idp.ErrUnavailable, err)
	}
	return nil
}

// inTx runs fn in a transaction (BEGIN IMMEDIATE) and commits it unless fn
// fails.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// enqueue inserts the outgoing messages as River jobs in tx.
func (s *Store) enqueue(ctx context.Context, tx *sql.Tx, out []idp.Outgoing) error {
	for _, o := range out {
		if o.Kind != (notify.MailArgs{}).Kind() && !notify.IsEventKind(o.Kind) {
			return fmt.Errorf("enqueue outgoing: unknown kind %q", o.Kind)
		}
	}
	for _, o := range out {
		if notify.IsEventKind(o.Kind) { // tokens for relying parties (notify/events.go)
			args, opts, err := notify.EventJob(o)
			if err != nil {
				return err
			}
			if _, err := s.river.InsertTx(ctx, tx, args, opts); err != nil {
				return fmt.Errorf("enqueue %s: %w", o.Kind, err)
			}
			continue
		}
		if _, err := s.river.InsertTx(ctx, tx, notify.MailArgs{Sealed: o.Sealed},
			&river.InsertOpts{MaxAttempts: mailMaxAttempts}); err != nil {
			return fmt.Errorf("enqueue %s: %w", o.Kind, err)
		}
	}
	return nil
}

// EnqueueOutgoing enqueues messages that belong to no other write.
func (s *Store) EnqueueOutgoing(ctx context.Context, out ...idp.Outgoing) error {
	if len(out) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx *sql.Tx) error { return s.enqueue(ctx, tx, out) })
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// scanner is what *sql.Row and *sql.Rows have in common.
type scanner interface {
	Scan(dest ...any) error
}

// translate maps driver errors to the idp sentinels: no rows and foreign-key
// violations (a missing parent) to ErrNotFound, unique violations to
// ErrConflict.
func translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return idp.ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %w", idp.ErrConflict, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%w: %w", idp.ErrNotFound, err)
		}
	}
	return err
}

// exec runs a statement and translates its error.
func exec(ctx context.Context, q querier, query string, args ...any) (int64, error) {
	res, err := q.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, translate(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	return n, nil
}

// dbTime is how a time is stored: microseconds since the epoch, NULL for
// the zero time.
func dbTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// goTime reverses dbTime.
func goTime(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.UnixMicro(n.Int64).UTC()
}

// canonTime is the value a time has after a round trip.
func canonTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// dbBytes stores nil as an empty blob (the columns are NOT NULL).
func dbBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// goBytes returns empty values as nil.
func goBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// dbList stores a list as a JSON array.
func dbList(l []string) string {
	if len(l) == 0 {
		return "[]"
	}
	b, err := json.Marshal(l)
	if err != nil {
		panic(fmt.Sprintf("marshal []string: %v", err)) // cannot happen
	}
	return string(b)
}

// goList reverses dbList; empty lists come back as nil.
func goList(s string) ([]string, error) {
	var l []string
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		return nil, fmt.Errorf("decode list: %w", err)
	}
	if len(l) == 0 {
		return nil, nil
	}
	return l, nil
}
