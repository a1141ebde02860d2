package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/notify"
	"github.com/kanton/kundencenter/store/sqldb/sqldbtest"
	"github.com/kanton/kundencenter/store/sqlstore"
	"github.com/kanton/kundencenter/store/storetest"
)

func testURL() string { return sqldbtest.PostgresURL() }

// newSchema returns a fresh schema name and drops that schema at cleanup.
func newSchema(t testing.TB) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "kc_test_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, testURL())
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer func() { _ = conn.Close(ctx) }()
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+schema+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}

// openTest opens a store in a fresh schema; it fails (never skips) when
// PostgreSQL cannot be reached.
func openTest(t testing.TB) *Store {
	t.Helper()
	schema := newSchema(t)
	s, err := OpenSchema(context.Background(), testURL(), schema)
	if err != nil {
		t.Fatalf("%v\nThese tests need PostgreSQL: start it on 127.0.0.1:5432 (user postgres, trust auth, database test), "+
			"e.g. `docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust -e POSTGRES_DB=test postgres`, "+
			"or point KC_TEST_POSTGRES_URL at one.", err)
	}
	t.Cleanup(s.Close) // registered after the schema drop, so it runs first
	return s
}

func mailJobs(t *testing.T, st idp.Store) []storetest.Job {
	t.Helper()
	s := st.(*Store)
	rows, _ := s.Pool().Query(t.Context(),
		`SELECT args, max_attempts FROM river_job WHERE kind = $1 ORDER BY id`, notify.MailArgs{}.Kind())
	jobs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (storetest.Job, error) {
		var (
			args []byte
			j    storetest.Job
			m    notify.MailArgs
		)
		if err := r.Scan(&args, &j.MaxAttempts); err != nil {
			return j, err
		}
		if err := json.Unmarshal(args, &m); err != nil {
			return j, fmt.Errorf("decode job args: %w", err)
		}
		j.Sealed = m.Sealed
		return j, nil
	})
	if err != nil {
		t.Fatalf("read river_job: %v", err)
	}
	return jobs
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return openTest(t) }, storetest.Options{MailJobs: mailJobs})
}

func TestOrgsConformance(t *testing.T) {
	storetest.RunOrgs(t, func(t *testing.T) storetest.OrgStore { return openTest(t) }, storetest.Options{MailJobs: mailJobs})
}

func TestRepresentationsConformance(t *testing.T) {
	storetest.RunRepresentations(t, func(t *testing.T) storetest.OrgStore { return openTest(t) }, storetest.Options{MailJobs: mailJobs})
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name      string
		url       string
		schema    string
		wantUnav  bool
		wantInMsg string
	}{
		{"not a URL", "postgres://user:secret@[::1", "", false, "not a valid database URL"},
		{"unreachable", "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2", "", true, "cannot connect"},
		{"bad schema", testURL(), "Robert'); DROP TABLE", false, "schema"},
		{"one connection", testURL() + "&pool_max_conns=1", "", false, "pool_max_conns"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := OpenSchema(t.Context(), tc.url, tc.schema)
			if err == nil {
				s.Close()
				t.Fatal("OpenSchema: no error")
			}
			if got := errors.Is(err, idp.ErrUnavailable); got != tc.wantUnav {
				t.Errorf("errors.Is(err, ErrUnavailable) = %v, want %v (err: %v)", got, tc.wantUnav, err)
			}
			if msg := err.Error(); !strings.Contains(msg, tc.wantInMsg) {
				t.Errorf("error %q does not mention %q", msg, tc.wantInMsg)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

// TestOpenConcurrently opens one new schema from several goroutines at
// once, as processes starting together would: every Open succeeds and the
// migrations are applied once.
func TestOpenConcurrently(t *testing.T) {
	schema := newSchema(t)
	const n = 4
	var wg sync.WaitGroup
	stores := make([]*Store, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = OpenSchema(t.Context(), testURL(), schema) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("OpenSchema #%d: %v", i, err)
		}
		defer stores[i].Close()
	}
	s := stores[0]
	var count int
	if err := s.Pool().QueryRow(t.Context(), `SELECT count(*) FROM kc_schema_migrations`).Scan(&count); err != nil {
		t.Fatalf("count migrations: %v", err)
	}
	want, err := fs.Glob(sqlstore.Migrations(), "postgres/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if count != len(want) {
		t.Errorf("kc_schema_migrations holds %d rows, want %d", count, len(want))
	}
	// Every table, River's included, is in the schema.
	tables := []string{"accounts", "refresh_tokens", "kc_schema_migrations", "kc_jobs", "river_job", "river_migration"}
	for _, table := range tables {
		var found bool
		if err := s.Pool().QueryRow(t.Context(), `SELECT EXISTS (SELECT 1 FROM information_schema.tables
			WHERE table_schema = $1 AND table_name = $2)`, schema, table).Scan(&found); err != nil {
			t.Fatalf("look up %s: %v", table, err)
		}
		if !found {
			t.Errorf("table %s is not in schema %s", table, schema)
		}
	}
	if err := s.Migrate(t.Context()); err != nil {
		t.Errorf("Migrate again: %v", err)
	}
}
