// Package sqldbtest opens fresh databases of both dialects of package sqldb
// for tests: a SQLite file in the test's temporary folder, or a schema of
// its own in the PostgreSQL at KC_TEST_POSTGRES_URL, dropped at the end. A
// PostgreSQL that cannot be reached fails the test (never a skip).
package sqldbtest

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/kanton/kundencenter/store/sqldb"
)

// Dialects are the backends a store test runs against, by name.
var Dialects = []string{"sqlite", "postgres"}

// PostgresURL is the test server: KC_TEST_POSTGRES_URL or the local default
// of scripts/test.
func PostgresURL() string {
	return cmp.Or(os.Getenv("KC_TEST_POSTGRES_URL"), "postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
}

// Open returns a fresh database of dialect ("sqlite" or "postgres"),
// closed (and its PostgreSQL schema dropped) when t ends; with migrations
// non-nil it is migrated.
func Open(t testing.TB, dialect string, migrations fs.FS) *sqldb.DB {
	t.Helper()
	ctx := context.Background()
	var (
		db  *sqldb.DB
		err error
	)
	switch dialect {
	case "sqlite":
		db, err = sqldb.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "test.db"), "")
		if err == nil {
			t.Cleanup(func() { _ = db.Close() })
		}
	case "postgres":
		var b [6]byte
		_, _ = rand.Read(b[:])
		schema := "test_" + hex.EncodeToString(b[:])
		db, err = sqldb.Open(ctx, PostgresURL(), schema)
		if err == nil {
			t.Cleanup(func() { _ = db.Close() })
			t.Cleanup(func() { _, _ = db.Exec(context.Background(), `DROP SCHEMA `+schema+` CASCADE`) })
		}
	default:
		t.Fatalf("sqldbtest: unknown dialect %q", dialect)
	}
	if err != nil {
		t.Fatalf("open %s: %v (PostgreSQL: start one or set KC_TEST_POSTGRES_URL)", dialect, err)
	}
	if migrations != nil {
		if err := db.Migrate(ctx, migrations); err != nil {
			t.Fatalf("migrate %s: %v", dialect, err)
		}
	}
	return db
}
