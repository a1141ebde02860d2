// Package sqlitetest opens fresh SQLite stores for tests quickly: every
// store starts as a copy of one file migrated once per test binary, so
// that tests that start an IdP each (hundreds per package) do not apply
// every migration to a new file each time. sqlite.Open still runs the
// migrations on the copy (none is left to apply), as it does on any
// existing database.
package sqlitetest

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/kanton/kundencenter/store/sqlite"
)

var template struct {
	once sync.Once
	data []byte
	err  error
}

// migrated returns the bytes of a database file with every migration
// applied.
func migrated() ([]byte, error) {
	template.once.Do(func() {
		dir, err := os.MkdirTemp("", "kc-sqlite-template-")
		if err != nil {
			template.err = err
			return
		}
		defer func() { _ = os.RemoveAll(dir) }()
		path := filepath.Join(dir, "template.db")
		s, err := sqlite.Open(context.Background(), path)
		if err != nil {
			template.err = err
			return
		}
		if template.err = s.Close(); template.err != nil { // checkpoints the WAL into the file
			return
		}
		template.data, template.err = os.ReadFile(path)
	})
	return template.data, template.err
}

// Open returns a new, empty store in tb's temporary directory, closed when
// the test ends.
func Open(tb testing.TB) *sqlite.Store {
	tb.Helper()
	data, err := migrated()
	if err != nil {
		tb.Fatalf("sqlitetest: migrated template: %v", err)
	}
	path := filepath.Join(tb.TempDir(), "kundencenter.db")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		tb.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		tb.Fatalf("sqlitetest: %v", err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	return st
}
