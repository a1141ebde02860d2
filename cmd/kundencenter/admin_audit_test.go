package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/store/sqldb"
	"github.com/kanton/kundencenter/store/sqlite"
)

// `admin audit verify` passes on an untouched log, fails once a row was
// changed with SQL behind the application's back, and finds rows cut off
// the end through -anchor.
func TestAdminAuditVerify(t *testing.T) {
	ctx := context.Background()
	cfg := config{DataDir: t.TempDir()}
	path := filepath.Join(cfg.DataDir, "kundencenter.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := st.AppendAudit(ctx, idp.AuditEvent{At: time.Now(), Actor: "a", Action: idp.EventLoginFailed, Subject: "a",
			Outcome: idp.OutcomeFailure, Detail: strings.Repeat("x", i)}); err != nil {
			t.Fatal(err)
		}
	}
	head, err := st.AuditHash(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if err := runAdmin(ctx, cfg, []string{"audit", "verify", "-anchor", "3:" + head}); err != nil {
		t.Fatalf("untouched log: %v", err)
	}
	db, err := sqldb.Open(ctx, "sqlite:"+path, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DROP TRIGGER audit_log_no_delete`, `DELETE FROM audit_log WHERE seq = 3`} {
		if _, err := db.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	if err := runAdmin(ctx, cfg, []string{"audit", "verify"}); err != nil {
		t.Fatalf("a shorter chain is valid on its own: %v", err)
	}
	if err := runAdmin(ctx, cfg, []string{"audit", "verify", "-anchor", "3:" + head}); err == nil {
		t.Fatal("verify -anchor missed the row cut off the end")
	}
}

// `admin audit verify` over a log whose first rows were written before the
// hash chain existed says NOT VERIFIABLE with their number, and that the
// chain after them is intact; a log without such rows does not.
func TestAdminAuditVerifyUnchainedRows(t *testing.T) {
	ctx := context.Background()
	cfg := config{DataDir: t.TempDir()}
	path := filepath.Join(cfg.DataDir, "kundencenter.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	report := func() (string, error) {
		rep, err := st.VerifyAudit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		err = writeAuditReport(&b, rep)
		return b.String(), err
	}
	if err := st.AppendAudit(ctx, idp.AuditEvent{At: time.Now(), Actor: "a", Action: idp.EventLoginFailed, Subject: "a"}); err != nil {
		t.Fatal(err)
	}
	if out, err := report(); err != nil || strings.Contains(out, "NOT VERIFIABLE") || !strings.Contains(out, "chain intact") {
		t.Fatalf("a fully chained log: %v\n%s", err, out)
	}

	// Rows as the code before migration 0017 wrote them (no seq, no hash),
	// ahead of the chain: a fresh database with two old rows, then appends.
	cfg.DataDir = t.TempDir()
	path = filepath.Join(cfg.DataDir, "kundencenter.db")
	st2, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	st = st2
	for i := range 2 {
		if _, err := st.DB().ExecContext(ctx, `INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?, 'a', 'session.started', 'a', ?)`,
			time.Now().Add(-time.Hour).UnixMicro(), strings.Repeat("o", i)); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		if err := st.AppendAudit(ctx, idp.AuditEvent{At: time.Now(), Actor: "a", Action: idp.EventLoginFailed, Subject: "a"}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := report()
	if err != nil || !strings.Contains(out, "NOT VERIFIABLE: 2 rows predate the hash chain") || !strings.Contains(out, "chain intact from seq 1 on") ||
		!strings.Contains(out, "3 chained rows") {
		t.Fatalf("a log with 2 rows from before the chain: %v\n%s", err, out)
	}
	if err := runAdmin(ctx, cfg, []string{"audit", "verify"}); err != nil {
		t.Fatalf("verify fails on old rows alone: %v", err)
	}
}
