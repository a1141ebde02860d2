package web_test

import (
	"path/filepath"
	"testing"

	"github.com/kanton/kundencenter/store/sqldb"
)

// sqliteDB opens a fresh SQLite database for a bundled service under test.
func sqliteDB(t *testing.T) *sqldb.DB {
	t.Helper()
	db, err := sqldb.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "service.db"), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
