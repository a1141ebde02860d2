package sqlstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/store/sqldb"
	"github.com/kanton/kundencenter/store/sqlstore"
)

func openStore(t *testing.T, dialect string) (*sqlstore.Store, *sqldb.DB) {
	t.Helper()
	db := openDB(t, dialect)
	s, err := sqlstore.New(context.Background(), db, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, db
}

// appendMany appends n events from 8 goroutines at once.
func appendMany(t *testing.T, s *sqlstore.Store, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	at := time.Date(2026, 12, 3, 19, 0, 0, 123456789, time.UTC)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Worker w appends its events one, two or three at a time
			// (w%3+1 per call): single and multi-event appends interleave.
			var group []idp.AuditEvent
			for i := w; i < n; i += 8 {
				group = append(group, idp.AuditEvent{At: at.Add(time.Duration(i) * time.Second),
					Actor: "acc-1", Action: "login.failed", Subject: "acc-1", IP: "192.0.2.0/24", Outcome: "failure",
					Detail: fmt.Sprintf("n=%d", i)})
				if len(group) == w%3+1 || i+8 >= n {
					errs <- s.AppendAudit(context.Background(), group...)
					group = nil
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("AppendAudit: %v", err)
		}
	}
}

// Concurrent appends make one gap-free chain; every kind of tampering done
// with SQL directly (past the triggers) is found by VerifyAudit.
func TestAuditChain(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			s, db := openStore(t, dialect)
			appendMany(t, s, 40)
			rep, err := s.VerifyAudit(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !rep.OK() || rep.Chained != 40 || rep.HeadSeq != 40 {
				t.Fatalf("fresh chain: %+v", rep)
			}
			// The application's own statements are refused.
			if _, err := db.Exec(ctx, `UPDATE audit_log SET detail = 'x' WHERE seq = 3`); err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Fatalf("UPDATE: %v, want refused", err)
			}
			if _, err := db.Exec(ctx, `DELETE FROM audit_log WHERE seq = 3`); err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Fatalf("DELETE: %v, want refused", err)
			}
			if dialect == "postgres" {
				if _, err := db.Exec(ctx, `TRUNCATE audit_log`); err == nil {
					t.Fatal("TRUNCATE accepted")
				}
			}

			tamper := func(name string, stmts []string, want string) {
				t.Helper()
				s, db := openStore(t, dialect)
				appendMany(t, s, 12)
				// What an owner of the tables (or of the file) can do anyway.
				off := []string{`DROP TRIGGER audit_log_no_update`, `DROP TRIGGER audit_log_no_delete`}
				if dialect == "postgres" {
					off = []string{`ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change`}
				}
				for _, q := range append(off, stmts...) {
					if _, err := db.Exec(ctx, q); err != nil {
						t.Fatalf("%s: %s: %v", name, q, err)
					}
				}
				rep, err := s.VerifyAudit(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if rep.OK() || !strings.Contains(strings.Join(rep.Problems, "\n"), want) {
					t.Errorf("%s: verify says %q, want a problem with %q", name, rep.Problems, want)
				}
			}
			tamper("modified", []string{`UPDATE audit_log SET outcome = 'success' WHERE seq = 5`}, "seq 5 (row id")
			tamper("modified with its seq", []string{`UPDATE audit_log SET detail = 'n=999' WHERE seq = 7`}, "content does not match")
			tamper("deleted", []string{`DELETE FROM audit_log WHERE seq = 4`}, "seq 5 (row id 5) follows seq 3")
			tamper("reordered", []string{
				`UPDATE audit_log SET seq = -1 WHERE seq = 8`,
				`UPDATE audit_log SET seq = 8 WHERE seq = 9`,
				`UPDATE audit_log SET seq = 9 WHERE seq = -1`,
			}, "follows seq")
			tamper("forged row", []string{
				`INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (NULL, 'x', 'login.succeeded', 'acc-1', '')`,
			}, "no seq/hash after the chain began")
			tamper("relinked", []string{
				`UPDATE audit_log SET prev_hash = hash WHERE seq = 10`,
			}, "prev_hash is not the hash of seq 9")
		})
	}
}
