package status

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/kanton/kundencenter/store/sqldb"
)

// backends lists the databases every store test runs against.
var backends = []string{"sqlite", "postgres"}

// openDB returns a migrated database of the backend: SQLite in a temporary
// directory, or a fresh schema in the PostgreSQL at KC_TEST_POSTGRES_URL
// (dropped at the end).
func openDB(t testing.TB, backend string) *sqldb.DB {
	t.Helper()
	ctx := context.Background()
	var (
		db  *sqldb.DB
		err error
	)
	switch backend {
	case "sqlite":
		db, err = sqldb.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "status.db"), "")
	case "postgres":
		var b [6]byte
		_, _ = rand.Read(b[:])
		schema := "status_test_" + hex.EncodeToString(b[:])
		url := cmp.Or(os.Getenv("KC_TEST_POSTGRES_URL"), "postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
		db, err = sqldb.Open(ctx, url, schema)
		if err == nil {
			t.Cleanup(func() { db.Close() })
			t.Cleanup(func() { _, _ = db.Exec(context.Background(), `DROP SCHEMA `+schema+` CASCADE`) })
		}
	}
	if err != nil {
		t.Fatalf("open %s: %v (PostgreSQL: start one or set KC_TEST_POSTGRES_URL)", backend, err)
	}
	if backend == "sqlite" {
		t.Cleanup(func() { db.Close() })
	}
	if err := db.Migrate(ctx, Migrations()); err != nil {
		t.Fatalf("migrate %s: %v", backend, err)
	}
	return db
}
