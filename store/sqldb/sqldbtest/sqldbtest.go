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
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/kanton/kundencenter/store/sqldb"
)

// Dialects are the backends a store test runs against, by name.
var Dialects = []string{"sqlite", "postgres"}

// PostgresURL is the test server: KC_TEST_POSTGRES_URL or the local default
// of scripts/test, with synchronous_commit off for its connections unless
// the URL sets it: a commit then does not wait for the disk (5 ms each on
// the CI machine, and a test commits hundreds of times, a fresh schema's
// migrations alone ~25), which no test depends on; what a committed
// transaction shows every session is unchanged.
func PostgresURL() string {
	raw := cmp.Or(os.Getenv("KC_TEST_POSTGRES_URL"), "postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	u, err := url.Parse(raw)
	if err != nil {
		return raw // sqldb.Open reports it
	}
	q := u.Query()
	if !q.Has("synchronous_commit") {
		q.Set("synchronous_commit", "off")
		u.RawQuery = q.Encode()
	}
	return u.String()
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
