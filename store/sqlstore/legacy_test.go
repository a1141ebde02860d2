package sqlstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/kanton/kundencenter/delegation"
	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/store/sqldb"
	"github.com/kanton/kundencenter/store/sqldb/sqldbtest"
	"github.com/kanton/kundencenter/store/sqlstore"
)

func postgresURL() string { return sqldbtest.PostgresURL() }

// openDB opens an empty database of the dialect (a fresh SQLite file or
// PostgreSQL schema, dropped at cleanup).
func openDB(t testing.TB, dialect string) *sqldb.DB {
	t.Helper()
	ctx := context.Background()
	dsn, schema := "sqlite:"+filepath.Join(t.TempDir(), "kc.db"), ""
	if dialect == "postgres" {
		var b [6]byte
		_, _ = rand.Read(b[:])
		dsn, schema = postgresURL(), "kc_test_"+hex.EncodeToString(b[:])
	}
	db, err := sqldb.Open(ctx, dsn, schema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if schema != "" {
			if _, err := db.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
				t.Errorf("drop schema: %v", err)
			}
		}
		_ = db.Close()
	})
	return db
}

// legacyMigrate builds a database as the stores before sqldb left it:
// migrations 0001–0013 (with their account-deletion triggers) recorded in
// schema_migrations by version.
func legacyMigrate(t *testing.T, db *sqldb.DB) {
	t.Helper()
	ctx := context.Background()
	dialect := db.Dialect().String()
	files, err := fs.Glob(sqlstore.Migrations(), dialect+"/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	ddl := `CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`
	if dialect == "sqlite" {
		ddl = `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`
	}
	if _, err := db.Exec(ctx, ddl); err != nil {
		t.Fatal(err)
	}
	for i, f := range files {
		name := path.Base(f)
		if name >= "0014" {
			break
		}
		body, err := fs.ReadFile(sqlstore.Migrations(), f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(ctx, string(body)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if _, err := db.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			i+1, name, sqldb.IntTime(time.Now())); err != nil {
			t.Fatal(err)
		}
	}
}

// An existing database (migrated by the stores before sqldb) opens without
// its migrations running again, loses its account-deletion triggers, and
// account deletions then apply their rules once, at the store's clock.
func TestLegacyDatabase(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := openDB(t, dialect)
			legacyMigrate(t, db)
			now := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
			s, err := sqlstore.New(ctx, db, func() time.Time { return now })
			if err != nil {
				t.Fatalf("open the legacy database: %v", err)
			}
			files, _ := fs.Glob(sqlstore.Migrations(), dialect+"/*.sql")
			var n int
			if err := db.QueryRow(ctx, `SELECT count(*) FROM kc_schema_migrations`).Scan(&n); err != nil || n != len(files) {
				t.Fatalf("kc_schema_migrations: %d rows (%v), want %d", n, err, len(files))
			}

			created := now.Add(-time.Hour)
			account := func(id string) {
				t.Helper()
				a := idp.Account{ID: id, KontoID: "KC-" + id, EmailIndex: []byte(id), Sealed: []byte("x"),
					PasswordHash: "x", Status: idp.StatusActive, Locale: "de", CreatedAt: created}
				if err := s.CreateAccount(ctx, a, idp.ActionToken{}); err != nil {
					t.Fatal(err)
				}
			}
			account("admin")
			account("heir")
			account("other")
			member := func(id, role string, at time.Time) delegation.Membership {
				return delegation.Membership{OrgID: "org", AccountID: id, Roles: []string{role}, CreatedAt: at, UpdatedAt: at}
			}
			st := delegation.OrgState{
				Org: delegation.Organisation{ID: "org", Name: "Org", CreatedAt: created, UpdatedAt: created},
				Members: []delegation.Membership{member("admin", delegation.RoleAdmin, created),
					member("heir", delegation.RoleMember, created.Add(time.Minute)),
					member("other", delegation.RoleMember, created.Add(2*time.Minute))},
				Invitations: []delegation.Invitation{{ID: "inv", OrgID: "org", Hash: []byte("h"), Role: delegation.RoleMember,
					Label: "x•••@example.ch", InvitedBy: "admin", Status: delegation.InvitationPending,
					CreatedAt: created, ExpiresAt: now.Add(time.Hour)}},
			}
			if err := s.CreateOrg(ctx, st, nil); err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteAccount(ctx, "admin"); err != nil {
				t.Fatal(err)
			}
			got, err := s.GetOrg(ctx, "org")
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Members) != 2 || !slices.Equal(got.Members[0].Roles, []string{delegation.RoleAdmin}) ||
				got.Members[0].AccountID != "heir" || !got.Members[0].UpdatedAt.Equal(now) || len(got.Invitations) != 0 {
				t.Fatalf("after the deletion: %+v", got)
			}
			events, err := s.ListEvents(ctx, "org", 10)
			if err != nil {
				t.Fatal(err)
			}
			var actions []string
			for _, e := range events {
				if !e.At.Equal(now) || e.Actor != "system" {
					t.Errorf("event %+v: want the system at %v", e, now)
				}
				actions = append(actions, e.Action)
			}
			// Newest first: one hand-over after one revocation, none twice.
			if want := []string{delegation.EventRoleChanged, delegation.EventInvitationRevoked}; !slices.Equal(actions, want) {
				t.Errorf("events %v, want %v", actions, want)
			}
		})
	}
}
