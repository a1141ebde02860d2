package sqlite

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/notify"
	"github.com/kanton/kundencenter/store/sqlstore"
	"github.com/kanton/kundencenter/store/storetest"
)

// template is a database file with every migration applied, made once per
// test binary: a test's store starts as a copy of it, so that the
// conformance suites (a fresh store per subtest) do not migrate a new file
// a few hundred times. open still runs the migrations on the copy (none
// left to apply), as it does on any existing database.
var template struct {
	once sync.Once
	data []byte
	err  error
}

func migratedFile(t testing.TB) []byte {
	t.Helper()
	template.once.Do(func() {
		dir, err := os.MkdirTemp("", "kc-sqlite-template-")
		if err != nil {
			template.err = err
			return
		}
		defer func() { _ = os.RemoveAll(dir) }()
		path := filepath.Join(dir, "template.db")
		s, err := open(context.Background(), path, 1)
		if err != nil {
			template.err = err
			return
		}
		if template.err = s.Close(); template.err != nil { // checkpoints the WAL into the file
			return
		}
		template.data, template.err = os.ReadFile(path)
	})
	if template.err != nil {
		t.Fatalf("migrated template database: %v", template.err)
	}
	return template.data
}

func openTemp(t testing.TB, maxConns int) *Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kundencenter.db")
	if err := os.WriteFile(path, migratedFile(t), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := open(context.Background(), path, maxConns)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

func mailJobs(t *testing.T, st idp.Store) []storetest.Job {
	t.Helper()
	s := st.(*Store)
	rows, err := s.DB().QueryContext(t.Context(),
		`SELECT args, max_attempts FROM river_job WHERE kind = ? ORDER BY id`, notify.MailArgs{}.Kind())
	if err != nil {
		t.Fatalf("read river_job: %v", err)
	}
	defer func() { _ = rows.Close() }()
	var out []storetest.Job
	for rows.Next() {
		var (
			args []byte
			j    storetest.Job
			m    notify.MailArgs
		)
		if err := rows.Scan(&args, &j.MaxAttempts); err != nil {
			t.Fatalf("read river_job: %v", err)
		}
		if err := json.Unmarshal(args, &m); err != nil {
			t.Fatalf("decode job args: %v", err)
		}
		j.Sealed = m.Sealed
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read river_job: %v", err)
	}
	return out
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return openTemp(t, defaultMaxConns) },
		storetest.Options{MailJobs: mailJobs})
}

func TestOrgsConformance(t *testing.T) {
	storetest.RunOrgs(t, func(t *testing.T) storetest.OrgStore { return openTemp(t, defaultMaxConns) },
		storetest.Options{MailJobs: mailJobs})
}

func TestRepresentationsConformance(t *testing.T) {
	storetest.RunRepresentations(t, func(t *testing.T) storetest.OrgStore { return openTemp(t, defaultMaxConns) },
		storetest.Options{MailJobs: mailJobs})
}

func TestConformanceSingleConnection(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return openTemp(t, 1) },
		storetest.Options{MailJobs: mailJobs})
}

func TestConformanceMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		s, err := Open(t.Context(), ":memory:")
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}, storetest.Options{MailJobs: mailJobs})
}

func TestOpen(t *testing.T) {
	tests := []struct {
		name    string
		path    string
		wantErr bool
	}{
		{"empty path", "", true},
		{"query in path", filepath.Join(t.TempDir(), "x.db?mode=ro"), true},
		{"missing directory", filepath.Join(t.TempDir(), "no", "such", "dir", "x.db"), true},
		{"new file", filepath.Join(t.TempDir(), "new.db"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(t.Context(), tc.path)
			if err == nil {
				_ = s.Close()
			}
			if (err != nil) != tc.wantErr {
				t.Fatalf("Open(%q): error %v, want error: %v", tc.path, err, tc.wantErr)
			}
		})
	}
}

// TestOpenTwice opens one file from several goroutines at once, as two
// processes starting together would: every Open succeeds and the
// migrations are applied once.
func TestOpenTwice(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	const n = 4
	var wg sync.WaitGroup
	stores := make([]*Store, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = Open(t.Context(), path) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open #%d: %v", i, err)
		}
		defer func() { _ = stores[i].Close() }()
	}
	var count int
	if err := stores[0].DB().QueryRowContext(t.Context(), `SELECT count(*) FROM kc_schema_migrations`).Scan(&count); err != nil {
		t.Fatalf("count migrations: %v", err)
	}
	want, err := fs.Glob(sqlstore.Migrations(), "sqlite/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if count != len(want) {
		t.Errorf("kc_schema_migrations holds %d rows, want %d", count, len(want))
	}
	var mode string
	if err := stores[0].DB().QueryRowContext(t.Context(), `PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatalf("journal mode: %v", err)
	}
	if mode != "wal" {
		t.Errorf("journal mode %q, want wal", mode)
	}
	for i, s := range stores {
		if err := s.Migrate(t.Context()); err != nil {
			t.Errorf("Migrate again #%d: %v", i, err)
		}
	}
}
