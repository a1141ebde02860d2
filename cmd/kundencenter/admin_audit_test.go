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
