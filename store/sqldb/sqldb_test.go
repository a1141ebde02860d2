package sqldb_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/kanton/kundencenter/store/sqldb"
	"github.com/kanton/kundencenter/store/sqldb/sqldbtest"
)

// postgresURL is the test server (KC_TEST_POSTGRES_URL).
func postgresURL() string { return sqldbtest.PostgresURL() }

// target is one database a conformance test runs against; open gives a
// further handle on the same database (same schema or file).
type target struct {
	name string
	open func(t *testing.T) *sqldb.DB
}

// targets returns a fresh SQLite file and a fresh PostgreSQL schema.
func targets(t *testing.T) []target {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "sqldb_test_" + hex.EncodeToString(b[:])
	file := filepath.Join(t.TempDir(), "test.db")
	dropped := false
	return []target{
		{"sqlite", func(t *testing.T) *sqldb.DB {
			db, err := sqldb.Open(context.Background(), "sqlite:"+file, "")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			return db
		}},
		{"postgres", func(t *testing.T) *sqldb.DB {
			db, err := sqldb.Open(context.Background(), postgresURL(), schema)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if !dropped {
					dropped = true
					if _, err := db.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
						t.Errorf("drop schema: %v", err)
					}
				}
				_ = db.Close()
			})
			return db
		}},
	}
}

// each runs f once per dialect, in parallel subtests, on a migrated
// database.
func each(t *testing.T, f func(t *testing.T, db *sqldb.DB)) {
	t.Parallel()
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			t.Parallel()
			db := tg.open(t)
			if err := db.Migrate(context.Background(), testMigrations); err != nil {
				t.Fatal(err)
			}
			f(t, db)
		})
	}
}

// eachTarget is each without opening: for tests that need several handles.
func eachTarget(t *testing.T, f func(t *testing.T, tg target)) {
	t.Parallel()
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			t.Parallel()
			f(t, tg)
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustExec(t *testing.T, db *sqldb.DB, q string, args ...any) int64 {
	t.Helper()
	n, err := db.Exec(context.Background(), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
}

// The test server's connections commit without waiting for the disk
// (sqldbtest.PostgresURL), unless KC_TEST_POSTGRES_URL says otherwise.
func TestPostgresURLCommitsAsynchronously(t *testing.T) {
	db := sqldbtest.Open(t, "postgres", nil)
	var got string
	if err := db.QueryRow(t.Context(), `SHOW synchronous_commit`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	want := "off"
	if u, err := url.Parse(os.Getenv("KC_TEST_POSTGRES_URL")); err == nil && u.Query().Has("synchronous_commit") {
		want = u.Query().Get("synchronous_commit")
	}
	if got != want {
		t.Errorf("synchronous_commit = %q, want %q", got, want)
	}
}
