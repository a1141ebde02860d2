package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/store/sqlite"
)

// `admin accounts disable -reason R ACCOUNT` refuses a reason RISC does not
// name, and with hijacking disables the account and queues, in the same
// write, an account-disabled SET with that reason for the service the
// account used; `enable` queues account-enabled.
func TestAdminAccountsDisableReason(t *testing.T) {
	ctx := context.Background()
	cfg := config{DataDir: t.TempDir()}
	if err := cfg.embeddedSecrets(); err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "kundencenter.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now().UTC()
	a := idp.Account{ID: "acc-disable-1", KontoID: "12345678901", EmailIndex: []byte("index-1"), Sealed: []byte("sealed"),
		Status: idp.StatusActive, Locale: "de", CreatedAt: now, ActivatedAt: now}
	if err := st.CreateAccount(ctx, a, idp.ActionToken{}); err != nil {
		t.Fatal(err)
	}
	if err := st.RecordClientUse(ctx, a.ID, "forms", now); err != nil {
		t.Fatal(err)
	}
	events := func() []string {
		rows, err := st.DB().QueryContext(ctx, `SELECT args FROM river_job WHERE kind = ? ORDER BY id`, idp.OutgoingEvent)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var b []byte
			if err := rows.Scan(&b); err != nil {
				t.Fatal(err)
			}
			out = append(out, string(b))
		}
		return out
	}

	if err := runAdmin(ctx, cfg, []string{"accounts", "disable", "-reason", "boredom", a.ID}); err == nil || !strings.Contains(err.Error(), "hijacking") {
		t.Fatalf("disable -reason boredom: %v", err)
	}
	if got, _ := st.GetAccount(ctx, a.ID); got.Status != idp.StatusActive || len(events()) != 0 {
		t.Fatalf("a refused disable changed the account (%s) or queued %v", got.Status, events())
	}
	if err := runAdmin(ctx, cfg, []string{"accounts", "disable", "-reason", "hijacking", a.ID}); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.GetAccount(ctx, a.ID); got.Status != idp.StatusDisabled {
		t.Fatalf("status after disable: %s", got.Status)
	}
	ev := events()
	if len(ev) != 1 || !strings.Contains(ev[0], idp.RISCAccountDisabled) || !strings.Contains(ev[0], `"reason":"hijacking"`) ||
		!strings.Contains(ev[0], `"client_id":"forms"`) {
		t.Fatalf("queued SETs after disable: %v", ev)
	}
	if err := runAdmin(ctx, cfg, []string{"accounts", "enable", a.ID}); err != nil {
		t.Fatal(err)
	}
	if ev := events(); len(ev) != 2 || !strings.Contains(ev[1], idp.RISCAccountEnabled) {
		t.Fatalf("queued SETs after enable: %v", ev)
	}
}
