package sqlstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/notify"
	"github.com/kanton/kundencenter/store/sqldb"
)

var _ idp.Store = (*Store)(nil)

//go:embed migrations/postgres/*.sql migrations/sqlite/*.sql
var migrations embed.FS

const mailMaxAttempts = 10

// Store implements idp.Store (and delegation's store) on a sqldb.DB. It is
// safe for concurrent use.
type Store struct {
	db     *sqldb.DB
	insert jobInserter
	now    func() time.Time
}

// jobInserter inserts a River job in the transaction, through the River
// driver of the dialect.
type jobInserter func(ctx context.Context, tx *sqldb.Tx, args river.JobArgs, opts *river.InsertOpts) error

// New migrates db (this package's migrations and River's) and returns the
// store on it. now is the clock for the rules the store applies itself
// (e.g. an account deletion's history entries); nil means time.Now.
func New(ctx context.Context, db *sqldb.DB, now func() time.Time) (*Store, error) {
	if now == nil {
		now = time.Now
	}
	s := &Store{db: db, now: now}
	switch db.Dialect() {
	case sqldb.Postgres:
		if db.Pool().Config().MaxConns < 2 {
			// Migrate holds one connection while River migrates on another.
			return nil, fmt.Errorf("postgres: pool_max_conns is %d, need at least 2", db.Pool().Config().MaxConns)
		}
		rc, err := river.NewClient(riverpgxv5.New(db.Pool()), &river.Config{Schema: db.Schema()})
		if err != nil {
			return nil, fmt.Errorf("river client: %w", err)
		}
		s.insert = func(ctx context.Context, tx *sqldb.Tx, args river.JobArgs, opts *river.InsertOpts) error {
			ptx, err := tx.Pgx(ctx)
			if err != nil {
				return err
			}
			_, err = rc.InsertTx(ctx, ptx, args, opts)
			return err
		}
	case sqldb.SQLite:
		rc, err := river.NewClient(riversqlite.New(db.SQL()), &river.Config{})
		if err != nil {
			return nil, fmt.Errorf("river client: %w", err)
		}
		s.insert = func(ctx context.Context, tx *sqldb.Tx, args river.JobArgs, opts *river.InsertOpts) error {
			_, err := rc.InsertTx(ctx, tx.SQL(), args, opts)
			return err
		}
	}
	if err := s.migrate(ctx); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return s, nil
}

// Database returns the database.
func (s *Store) Database() *sqldb.DB { return s.db }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// SetClock replaces the clock of the rules the store applies itself (see
// New); call it before the store is used. nil keeps the clock.
func (s *Store) SetClock(now func() time.Time) {
	if now != nil {
		s.now = now
	}
}

// Migrate applies the embedded migrations not applied yet, then River's;
// New does it already.
func (s *Store) Migrate(ctx context.Context) error {
	if err := s.migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// migrate applies the embedded migrations, then River's.
func (s *Store) migrate(ctx context.Context) error {
	if err := s.db.Migrate(ctx, nil); err != nil {
		return err
	}
	if err := s.adoptLegacyMigrations(ctx); err != nil {
		return err
	}
	if err := s.db.Migrate(ctx, Migrations()); err != nil {
		return err
	}
	if s.db.Dialect() == sqldb.SQLite {
		migrator, err := rivermigrate.New(riversqlite.New(s.db.SQL()), nil)
		if err != nil {
			return fmt.Errorf("river migrator: %w", err)
		}
		// BEGIN IMMEDIATE: a second process waits for the write lock and
		// then finds nothing left to do. River deprecates MigrateTx for
		// Postgres, where some migrations need their own commit; SQLite has
		// no such step.
		return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
			_, err := migrator.MigrateTx(ctx, tx.SQL(), rivermigrate.DirectionUp, nil) //nolint:staticcheck // see above
			return err
		})
	}
	migrator, err := rivermigrate.New(riverpgxv5.New(s.db.Pool()), &rivermigrate.Config{Schema: s.db.Schema()})
	if err != nil {
		return fmt.Errorf("river migrator: %w", err)
	}
	// River runs each migration in its own transaction on other pool
	// connections while this one holds the lock.
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext(?))`, "kundencenter.river:"+s.db.Schema()); err != nil {
			return err
		}
		if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
			return fmt.Errorf("river migrations: %w", err)
		}
		return nil
	})
}

// adoptLegacyMigrations records in sqldb's kc_schema_migrations the files
// that the stores before sqldb recorded in schema_migrations (same names),
// so that an existing database is not migrated again.
func (s *Store) adoptLegacyMigrations(ctx context.Context) error {
	exists := `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`
	if s.db.Dialect() == sqldb.Postgres {
		exists = `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'schema_migrations'`
	}
	var n int
	if err := s.db.QueryRow(ctx, exists).Scan(&n); err != nil {
		return fmt.Errorf("look for schema_migrations: %w", err)
	}
	if n == 0 {
		return nil
	}
	// "WHERE true": SQLite needs a WHERE before ON CONFLICT in INSERT … SELECT.
	_, err := s.db.Exec(ctx, `INSERT INTO kc_schema_migrations (name, applied_at)
		SELECT name, ? FROM schema_migrations WHERE true ON CONFLICT (name) DO NOTHING`, s.now())
	if err != nil {
		return fmt.Errorf("adopt schema_migrations: %w", err)
	}
	return nil
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.Ping(ctx); err != nil {
		return fmt.Errorf("%w: %w", idp.ErrUnavailable, err)
	}
	return nil
}

// enqueue inserts the outgoing messages as River jobs in tx.
func (s *Store) enqueue(ctx context.Context, tx *sqldb.Tx, out []idp.Outgoing) error {
	for _, o := range out {
		if o.Kind != (notify.MailArgs{}).Kind() && !notify.IsEventKind(o.Kind) && o.Kind != idp.OutgoingEndSessions {
			return fmt.Errorf("enqueue outgoing: unknown kind %q", o.Kind)
		}
	}
	for _, o := range out {
		var (
			args river.JobArgs = notify.MailArgs{Sealed: o.Sealed}
			opts               = &river.InsertOpts{MaxAttempts: mailMaxAttempts}
		)
		if o.Kind == idp.OutgoingEndSessions {
			// The refresh tokens end with the write; the sessions and
			// access tokens in the ephemeral store by the job, retried
			// until it succeeds (idp/endsessions.go).
			end, err := idp.ParseEndSessions(o)
			if err != nil {
				return err
			}
			if err := revokeWhere(ctx, tx, `account_id = ?`, end.AccountID, end.Before); err != nil {
				return fmt.Errorf("revoke refresh tokens of %s: %w", end.AccountID, err)
			}
			args, opts = end, &river.InsertOpts{MaxAttempts: idp.EndSessionsMaxAttempts}
		}
		if notify.IsEventKind(o.Kind) { // tokens for relying parties (notify/events.go)
			var err error
			if args, opts, err = notify.EventJob(o); err != nil {
				return err
			}
		}
		if err := s.insert(ctx, tx, args, opts); err != nil {
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
	if err := s.db.Tx(ctx, func(tx *sqldb.Tx) error { return s.enqueue(ctx, tx, out) }); err != nil {
		return fmt.Errorf("enqueue outgoing: %w", err)
	}
	return nil
}

// querier is what *sqldb.DB and *sqldb.Tx have in common.
type querier interface {
	Exec(ctx context.Context, q string, args ...any) (int64, error)
	Query(ctx context.Context, q string, args ...any) (*sqldb.Rows, error)
	QueryRow(ctx context.Context, q string, args ...any) *sqldb.Row
}

// scanner is what *sqldb.Row and *sqldb.Rows have in common.
type scanner interface {
	Scan(dest ...any) error
}

// translate maps sqldb's errors to the idp sentinels: no rows and
// foreign-key violations (a missing parent) to ErrNotFound, unique
// violations to ErrConflict, failed connections to ErrUnavailable.
func translate(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, idp.ErrNotFound), errors.Is(err, idp.ErrConflict):
		return err
	case errors.Is(err, sqldb.ErrNotFound), errors.Is(err, sqldb.ErrReference):
		return fmt.Errorf("%w: %w", idp.ErrNotFound, err)
	case errors.Is(err, sqldb.ErrConflict):
		return fmt.Errorf("%w: %w", idp.ErrConflict, err)
	}
	var (
		connErr *pgconn.ConnectError
		netErr  net.Error
	)
	// A connection refused, dropped or reset mid-query is an outage too.
	if errors.As(err, &connErr) || errors.Is(err, sqldb.ErrUnavailable) || errors.As(err, &netErr) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || pgconn.SafeToRetry(err) {
		return fmt.Errorf("%w: %w", idp.ErrUnavailable, err)
	}
	return err
}

// exec runs a statement and translates its error.
func exec(ctx context.Context, q querier, query string, args ...any) (int64, error) {
	n, err := q.Exec(ctx, query, args...)
	return n, translate(err)
}

// execOne is exec for a statement that must touch a row: ErrNotFound if
// it touched none.
func execOne(ctx context.Context, q querier, query string, args ...any) error {
	n, err := exec(ctx, q, query, args...)
	if err == nil && n == 0 {
		err = idp.ErrNotFound
	}
	return err
}

// dbTime is how a time is passed: NULL for the zero time, microseconds on
// SQLite (whose tables predate sqldb's text times), timestamptz on
// PostgreSQL.
func dbTime(t time.Time) any {
	return sqldb.IntTime(t)
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

// Migrations returns the schema: postgres/*.sql and sqlite/*.sql.
func Migrations() fs.FS {
	f, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // cannot happen: the directory is embedded
	}
	return f
}

// collect reads every row with scan and closes rows; it takes Query's
// results as they are.
func collect[T any](rows *sqldb.Rows, err error, scan func(scanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, translate(err)
	}
	defer func() { _ = rows.Close() }()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, translate(err)
	}
	return out, nil
}
