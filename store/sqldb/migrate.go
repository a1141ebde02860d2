package sqldb

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The kit's own tables, created before the caller's migrations.
var kitDDL = map[Dialect]string{
	Postgres: `
CREATE TABLE IF NOT EXISTS kc_schema_migrations (
    name       text PRIMARY KEY,
    applied_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS kc_jobs (
    id          bigserial PRIMARY KEY,
    kind        text NOT NULL,
    key         text NOT NULL,
    payload     bytea NOT NULL,
    state       text NOT NULL,
    run_at      timestamptz NOT NULL,
    attempts    integer NOT NULL,
    last_error  text NOT NULL,
    finished_at timestamptz,
    UNIQUE (kind, key)
);
CREATE INDEX IF NOT EXISTS kc_jobs_due ON kc_jobs (state, run_at);
`,
	SQLite: `
CREATE TABLE IF NOT EXISTS kc_schema_migrations (
    name       TEXT PRIMARY KEY,
    applied_at TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS kc_jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,
    key         TEXT NOT NULL,
    payload     BLOB NOT NULL,
    state       TEXT NOT NULL,
    run_at      TEXT NOT NULL,
    attempts    INTEGER NOT NULL,
    last_error  TEXT NOT NULL,
    finished_at TEXT,
    UNIQUE (kind, key)
) STRICT;
CREATE INDEX IF NOT EXISTS kc_jobs_due ON kc_jobs (state, run_at);
`,
}

// Migrate creates the kit's tables (kc_schema_migrations, kc_jobs) and
// applies the files postgres/*.sql or sqlite/*.sql of fsys (by dialect) in
// name order, each in its own transaction, skipping those recorded in
// kc_schema_migrations. Name files NNNN_what.sql, the same names in both
// folders; never change an applied file, add a new one.
//
// Two processes may migrate at once: on PostgreSQL a session advisory lock
// (per schema) serialises them, and the files not yet recorded are read
// while it is held; on SQLite BEGIN IMMEDIATE does, and each file's
// transaction checks again whether it is already applied. fsys may be nil
// to create only the kit's tables.
//
// On PostgreSQL the pending files go to the server in one round trip, each
// still between its own BEGIN and COMMIT with its record in
// kc_schema_migrations: a fresh schema (every test has one) costs a handful
// of round trips instead of five per file.
func (db *DB) Migrate(ctx context.Context, fsys fs.FS) error {
	var files []string
	if fsys != nil {
		var err error
		files, err = fs.Glob(fsys, db.dialect.String()+"/*.sql")
		if err != nil {
			return fmt.Errorf("sqldb: migrate: %w", err)
		}
		sort.Strings(files)
	}
	if db.dialect == Postgres {
		return db.migratePostgres(ctx, fsys, files)
	}
	if err := db.Tx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, kitDDL[db.dialect])
		return err
	}); err != nil {
		return fmt.Errorf("sqldb: migrate: kit tables: %w", err)
	}
	for _, f := range files {
		body, err := fs.ReadFile(fsys, f)
		if err != nil {
			return fmt.Errorf("sqldb: migrate: %w", err)
		}
		name := path.Base(f)
		err = db.Tx(ctx, func(tx *Tx) error {
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM kc_schema_migrations WHERE name = ?`, name).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.exec(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO kc_schema_migrations (name, applied_at) VALUES (?, ?)`,
				name, time.Now())
			return err
		})
		if err != nil {
			return fmt.Errorf("sqldb: migrate %s: %w", f, err)
		}
	}
	return nil
}

// migratePostgres is Migrate on PostgreSQL: one connection holds the
// session lock while the kit's tables are created (one implicit
// transaction), the applied files are read, and the pending ones run in a
// single multi-statement query, each file in a transaction of its own. An
// error stops the query: the failing file's transaction is rolled back,
// the files before it stay applied (as with one round trip per file).
func (db *DB) migratePostgres(ctx context.Context, fsys fs.FS, files []string) error {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("sqldb: migrate: %w", err)
	}
	defer conn.Release()
	key := "kundencenter.sqldb.migrate:" + db.schema
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(hashtext($1))`, key); err != nil {
		return fmt.Errorf("sqldb: migrate: lock: %w", err)
	}
	defer func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtext($1))`, key)
	}()
	// Simple protocol, several statements: one implicit transaction.
	if _, err := conn.Exec(ctx, kitDDL[Postgres]); err != nil {
		return fmt.Errorf("sqldb: migrate: kit tables: %w", translate(err))
	}
	applied, err := appliedMigrations(ctx, conn)
	if err != nil {
		return err
	}
	var (
		script  strings.Builder
		pending []string
	)
	for _, f := range files {
		name := path.Base(f)
		if applied[name] {
			continue
		}
		body, err := fs.ReadFile(fsys, f)
		if err != nil {
			return fmt.Errorf("sqldb: migrate: %w", err)
		}
		pending = append(pending, f)
		// The newline ends a trailing line comment, the semicolon a last
		// statement without one.
		fmt.Fprintf(&script, "BEGIN;\n%s\n;\nINSERT INTO kc_schema_migrations (name, applied_at) VALUES (%s, now());\nCOMMIT;\n",
			body, quoteLiteral(name))
	}
	if len(pending) == 0 {
		return nil
	}
	if _, err := conn.Exec(ctx, script.String()); err != nil {
		// An error inside a file leaves its transaction open and aborted.
		if conn.Conn().PgConn().TxStatus() != 'I' {
			_, _ = conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		}
		failed := pending[0]
		if now, aerr := appliedMigrations(context.WithoutCancel(ctx), conn); aerr == nil {
			for _, f := range pending {
				if !now[path.Base(f)] {
					failed = f
					break
				}
			}
		}
		return fmt.Errorf("sqldb: migrate %s: %w", failed, translate(err))
	}
	return nil
}

// appliedMigrations returns the names recorded in kc_schema_migrations.
func appliedMigrations(ctx context.Context, conn *pgxpool.Conn) (map[string]bool, error) {
	rows, _ := conn.Query(ctx, `SELECT name FROM kc_schema_migrations`)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("sqldb: migrate: read kc_schema_migrations: %w", translate(err))
	}
	applied := make(map[string]bool, len(names))
	for _, n := range names {
		applied[n] = true
	}
	return applied, nil
}

// quoteLiteral returns s as an SQL string literal.
func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// exec runs a script verbatim (no rewriting, no arguments: PostgreSQL's
// simple protocol, several statements allowed).
func (tx *Tx) exec(ctx context.Context, script string) (int64, error) {
	if tx.pg != nil {
		tag, err := tx.pg.Exec(ctx, script)
		return tag.RowsAffected(), translate(err)
	}
	res, err := tx.sq.ExecContext(ctx, script)
	if err != nil {
		return 0, translate(err)
	}
	return res.RowsAffected()
}
