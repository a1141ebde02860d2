package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/notify"
)

var _ idp.Store = (*Store)(nil)

//go:embed migrations/*.sql
var migrationFS embed.FS

const (
	connectTimeout  = 10 * time.Second
	mailMaxAttempts = 10
	// maxSchemaLength leaves room for River's notification topics, which
	// are prefixed with the schema and limited to 63 bytes.
	maxSchemaLength = 40
)

// schemaRE accepts the schema names that need no quoting (lower case, so
// that search_path, River's qualified names and CREATE SCHEMA agree).
var schemaRE = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// Store is the PostgreSQL implementation of idp.Store. It is safe for
// concurrent use.
type Store struct {
	pool   *pgxpool.Pool
	river  *river.Client[pgx.Tx]
	schema string
}

// Open connects to the database at url (a postgres:// URL or key=value
// connection string), migrates it and returns the store. Tables live in the
// first schema of the connection's search_path (normally public).
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
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx redacts the password in its parse errors.
		return nil, fmt.Errorf("postgres: not a valid database URL: %w", err)
	}
	if cfg.MaxConns < 2 {
		// Migrate holds one connection while River migrates on another.
		return nil, fmt.Errorf("postgres: pool_max_conns is %d, need at least 2", cfg.MaxConns)
	}
	if schema != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = schema
	}
	where := fmt.Sprintf("%s:%d, database %q, user %q", cfg.ConnConfig.Host, cfg.ConnConfig.Port,
		cfg.ConnConfig.Database, cfg.ConnConfig.User)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres at %s: %w", where, err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, connectTimeout)
	err = pool.Ping(pingCtx)
	cancel()
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("cannot connect to postgres at %s: %w: %w", where, idp.ErrUnavailable, err)
	}
	rc, err := river.NewClient(riverpgxv5.New(pool), &river.Config{Schema: schema})
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: river client: %w", err)
	}
	s := &Store{pool: pool, river: rc, schema: schema}
	if err := s.Migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres at %s: %w", where, err)
	}
	return s, nil
}

// Close closes every connection of the pool.
func (s *Store) Close() {
	s.pool.Close()
}

// Pool returns the connection pool, for building a River worker client
// with riverpgxv5.New.
func (s *Store) Pool() *pgxpool.Pool {
	return s.pool
}

// Schema returns the schema given to OpenSchema ("" for Open); a River
// worker client must use it as river.Config.Schema.
func (s *Store) Schema() string {
	return s.schema
}

// Migrate creates the schema if needed and applies the embedded migrations
// that are not yet recorded in schema_migrations, then River's migrations.
// A transaction-scoped advisory lock is held throughout, so a second
// process that starts at the same time waits and then finds nothing left
// to do.
func (s *Store) Migrate(ctx context.Context) error {
	migrations, err := loadMigrations()
	if err != nil {
		return err
	}
	lockKey := "kundencenter.migrate:" + s.schema
	lock := func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, lockKey); err != nil {
			return fmt.Errorf("migration lock: %w", err)
		}
		return nil
	}
	if s.schema != "" {
		// Committed on its own so that River's migrations, which run on
		// other connections, see the schema.
		err := s.inTx(ctx, func(tx pgx.Tx) error {
			if err := lock(tx); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+s.schema)
			return err
		})
		if err != nil {
			return fmt.Errorf("migrate: create schema %s: %w", s.schema, err)
		}
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if err := lock(tx); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    integer PRIMARY KEY,
			name       text NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now()
		)`); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		rows, _ := tx.Query(ctx, `SELECT version FROM schema_migrations`)
		versions, err := pgx.CollectRows(rows, pgx.RowTo[int])
		if err != nil {
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		applied := map[int]bool{}
		for _, v := range versions {
			applied[v] = true
		}
		for _, m := range migrations {
			if applied[m.version] {
				continue
			}
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("apply migration %s: %w", m.name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`,
				m.version, m.name); err != nil {
				return fmt.Errorf("record migration %s: %w", m.name, err)
			}
		}
		// River runs each of its migrations in its own transaction (some
		// need a commit before the next), on other pool connections, while
		// this transaction keeps the lock.
		migrator, err := rivermigrate.New(riverpgxv5.New(s.pool), &rivermigrate.Config{Schema: s.schema})
		if err != nil {
			return fmt.Errorf("river migrator: %w", err)
		}
		if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
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
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping postgres: %w: %w", idp.ErrUnavailable, err)
	}
	return nil
}

// inTx runs fn in a transaction and commits it unless fn fails.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", translate(err))
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }() // a no-op after Commit
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", translate(err))
	}
	return nil
}

// enqueue inserts the outgoing messages as River jobs in tx.
func (s *Store) enqueue(ctx context.Context, tx pgx.Tx, out []idp.Outgoing) error {
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
	if err := s.inTx(ctx, func(tx pgx.Tx) error { return s.enqueue(ctx, tx, out) }); err != nil {
		return fmt.Errorf("enqueue outgoing: %w", err)
	}
	return nil
}

// querier is what the pool and a transaction have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// translate maps driver errors to the idp sentinels: no rows and
// foreign-key violations (a missing parent) to ErrNotFound, unique
// violations to ErrConflict, failed connections to ErrUnavailable.
func translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return idp.ErrNotFound
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%w: %w", idp.ErrConflict, err)
		case "23503": // foreign_key_violation
			return fmt.Errorf("%w: %w", idp.ErrNotFound, err)
		}
		return err
	}
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) {
		return fmt.Errorf("%w: %w", idp.ErrUnavailable, err)
	}
	return err
}

// exec runs a statement, translates its error and returns the number of
// rows it affected.
func exec(ctx context.Context, q querier, sql string, args ...any) (int64, error) {
	tag, err := q.Exec(ctx, sql, args...)
	if err != nil {
		return 0, translate(err)
	}
	return tag.RowsAffected(), nil
}

// dbTime is how a time is stored: UTC, microseconds, NULL for the zero time.
func dbTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return canonTime(t)
}

// goTime reverses dbTime.
func goTime(t pgtype.Timestamptz) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

// canonTime is the value a time has after a round trip.
func canonTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// dbBytes stores nil as an empty bytea (the columns are NOT NULL).
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

// dbList stores nil as an empty array (the columns are NOT NULL).
func dbList(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// goList returns empty lists as nil.
func goList(l []string) []string {
	if len(l) == 0 {
		return nil
	}
	return l
}
