package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/kanton/kundencenter/bench/loadgen"
	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
	"github.com/kanton/kundencenter/store/postgres"
)

// auditBench measures the audit log on PostgreSQL: appends through
// AppendAudit (hash-chained, serialised by a transaction-scoped advisory
// lock: docs/audit.md) against plain INSERTs of the same row into an
// unchained table, at 1, 16 and 64 clients; then the failed-login rate
// through POST /login with a wrong password (the Argon2id hash runs as for
// a real login), how many audit rows each failed login appends, and what
// share of the chain's capacity that uses.
func auditBench(ctx context.Context, env *idptest.Env, store *postgres.Store, hc *http.Client, duration time.Duration, conc int) error {
	pool := store.Pool()
	if _, err := pool.Exec(ctx, `CREATE TABLE audit_plain (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		at timestamptz, actor text NOT NULL, action text NOT NULL, subject text NOT NULL, detail text NOT NULL,
		ip text NOT NULL, outcome text NOT NULL)`); err != nil {
		return fmt.Errorf("audit bench table: %w", err)
	}
	event := func(w int) idp.AuditEvent {
		return idp.AuditEvent{At: time.Now(), Actor: "acc-bench", Action: idp.EventLoginFailed, Subject: fmt.Sprintf("acc-%d", w),
			IP: "203.0.113.0", Outcome: idp.OutcomeFailure, Detail: "bench"}
	}
	chained := map[int]float64{}
	for _, c := range []int{1, 16, 64} {
		r := loadgen.Run(fmt.Sprintf("audit_chained_c%d", c), duration, c, func(w int) error {
			return store.AppendAudit(ctx, event(w))
		})
		chained[c] = r.Rate
		loadgen.Run(fmt.Sprintf("audit_plain_c%d", c), duration, c, func(w int) error {
			e := event(w)
			_, err := pool.Exec(ctx, `INSERT INTO audit_plain (at, actor, action, subject, detail, ip, outcome)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`, e.At, e.Actor, e.Action, e.Subject, e.Detail, e.IP, e.Outcome)
			return err
		})
	}

	// Failed logins at the login bench's concurrency: wrong passwords for
	// existing accounts.
	emails := make([]string, conc)
	for w := range conc {
		emails[w] = fmt.Sprintf("audit%d@bench.example", w)
		if err := createAccount(ctx, env, emails[w]); err != nil {
			return err
		}
	}
	clients, tokens, err := browsers(conc, hc, env.URL+"/login")
	if err != nil {
		return err
	}
	rows := func() (n int64, err error) {
		err = pool.QueryRow(ctx, `SELECT count(*) FROM audit_log`).Scan(&n)
		return n, err
	}
	before, err := rows()
	if err != nil {
		return err
	}
	r := loadgen.Run("failed_login", duration, conc, func(w int) error {
		req, _ := http.NewRequest(http.MethodPost, env.URL+"/login", strings.NewReader(url.Values{
			"csrf": {tokens[w]}, "email": {emails[w]}, "password": {"Falsch-" + password}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := clients[w].Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusSeeOther {
			return fmt.Errorf("a wrong password logged in")
		}
		return nil
	})
	after, err := rows()
	if err != nil {
		return err
	}
	perLogin := float64(after-before) / float64(max(r.N-r.Errs, 1))
	fmt.Printf("\naudit: chained appends/s %.0f (1 client), %.0f (16), %.0f (64)\n", chained[1], chained[16], chained[64])
	fmt.Printf("audit: failed logins %.1f/s, %.2f audit rows each: %.1f appends/s = %.2f%% of the chain's capacity at 16 clients\n",
		r.Rate, perLogin, r.Rate*perLogin, 100*r.Rate*perLogin/max(chained[16], 1))
	return nil
}
