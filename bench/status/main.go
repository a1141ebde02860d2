// Command status is the load harness of the status service ("Meine
// Vorgänge"). It starts an IdP in-process (SQLite, for the tokens and
// their introspection) and the status service on PostgreSQL, then reports
// requests/s, requests/s per core, p50 and p99 for:
//
//   - status_change: POST /api/v1/cases/{id}/events from concurrent
//     back-office clients over loopback HTTP (bearer token introspected at
//     the IdP and cached, row lock, history replay, notification window);
//   - list_page: the "Meine Vorgänge" query (first page and the next one,
//     keyset) for random owners with -cases cases in the table.
//
// The cases of the list are seeded once into the schema -schema (kept
// between runs; -seed-only seeds and stops), with one case per owner every
// -owners: with 1,000,000 cases and 100,000 owners each owner has ten.
//
//	go run ./bench/status -duration 10s -concurrency 16 -cases 1000000
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"github.com/kanton/kundencenter/bench/loadgen"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"time"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
	"github.com/kanton/kundencenter/services/api"
	"github.com/kanton/kundencenter/services/rp"
	"github.com/kanton/kundencenter/services/status"
	"github.com/kanton/kundencenter/store/memory"
	"github.com/kanton/kundencenter/store/sqldb"
	"github.com/kanton/kundencenter/store/sqlite"
)

func main() {
	duration := flag.Duration("duration", 10*time.Second, "time per scenario")
	conc := flag.Int("concurrency", 16, "concurrent clients per scenario")
	pgURL := flag.String("postgres", env("KC_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"), "PostgreSQL URL")
	schema := flag.String("schema", "bench_status", "PostgreSQL schema of the status service (kept: the seeded cases are reused)")
	cases := flag.Int("cases", 1_000_000, "cases in the table for list_page")
	owners := flag.Int("owners", 100_000, "owners the seeded cases belong to")
	seedOnly := flag.Bool("seed-only", false, "seed the cases and stop")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file (go tool pprof)")
	only := flag.String("only", "", "run only this scenario (status_change or list_page)")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench status:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := run(*duration, *conc, *pgURL, *schema, *cases, *owners, *seedOnly, *only); err != nil {
		fmt.Fprintln(os.Stderr, "bench status:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func run(duration time.Duration, conc int, pgURL, schema string, cases, owners int, seedOnly bool, only string) error {
	ctx := context.Background()
	if !strings.Contains(pgURL, "pool_max_conns=") {
		// One connection per client, as a service instance would be
		// configured for this load (pgxpool's default is max(4, cores)).
		sep := "?"
		if strings.Contains(pgURL, "?") {
			sep = "&"
		}
		pgURL += fmt.Sprintf("%spool_max_conns=%d", sep, conc)
	}
	db, err := sqldb.Open(ctx, pgURL, schema)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer db.Close()
	if err := db.Migrate(ctx, status.Migrations()); err != nil {
		return err
	}
	// Only the list needs the seeded cases.
	if seedOnly || only == "" || only == "list_page" {
		if err := seed(ctx, db, cases, owners); err != nil {
			return err
		}
	}
	if seedOnly {
		return nil
	}

	dir, err := os.MkdirTemp("", "bench-status")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	idpStore, err := sqlite.Open(ctx, filepath.Join(dir, "idp.db"))
	if err != nil {
		return err
	}
	defer idpStore.Close()
	eph := memory.New(nil)
	defer eph.Close()
	idpEnv, err := idptest.New(ctx, idptest.Options{Store: idpStore, Eph: eph})
	if err != nil {
		return err
	}
	defer idpEnv.Close()
	app := httptest.NewUnstartedServer(nil)
	defer app.Close()
	base := "http://" + app.Listener.Addr().String()
	now := time.Now().UTC()
	for _, c := range []idp.Client{
		{ID: "status", SecretHash: idp.HashToken("status-secret"), RedirectURIs: []string{base + rp.CallbackPath},
			GrantTypes: []string{idp.GrantAuthorizationCode, idp.GrantClientCredentials}, APIScopes: []string{status.ScopeWrite, status.ScopeRead}},
		{ID: "backoffice", SecretHash: idp.HashToken("backoffice-secret"), GrantTypes: []string{idp.GrantClientCredentials},
			Scopes: []string{status.ScopeWrite, status.ScopeRead}},
	} {
		c.CreatedAt, c.UpdatedAt = now, now
		if err := idpStore.PutClient(ctx, c); err != nil {
			return err
		}
	}
	if err := idpEnv.Clients.Load(ctx); err != nil {
		return err
	}
	key := make([]byte, 32)
	rand.Read(key)
	svc, err := status.NewService(ctx, status.Config{RP: rp.Config{Issuer: idpEnv.URL, ClientID: "status", ClientSecret: "status-secret",
		BaseURL: base, CookieKey: key, Insecure: true}, DB: db, Clients: map[string][]string{"backoffice": {"*"}},
		Notifier: discard{}})
	if err != nil {
		return err
	}
	app.Config.Handler = svc.Handler()
	app.Start()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc * 2}, Timeout: 30 * time.Second}
	bo := api.NewAPIClient(api.ClientConfig{Issuer: idpEnv.URL, ClientID: "backoffice", ClientSecret: "backoffice-secret",
		Scopes: []string{status.ScopeWrite, status.ScopeRead}, HTTPClient: hc})

	fmt.Printf("Kundencenter status bench: %d cores (GOMAXPROCS), %d concurrent clients, %s per scenario, PostgreSQL on loopback, %d cases\n\n",
		runtime.GOMAXPROCS(0), conc, duration, cases)
	fmt.Printf("%-16s %10s %10s %12s %10s %10s %8s\n", "scenario", "requests", "req/s", "req/s/core", "p50", "p99", "errors")

	// status_change: 64 fresh cases per client, changed in turn.
	const perWorker = 64
	ids := make([][]string, conc)
	for w := range conc {
		for range perWorker {
			var a struct{ BusinessProcessID string }
			if _, err := bo.Do(ctx, "POST", base+"/api/v1/cases", map[string]any{"messageId": loadgen.RandHex(16), "service": "wohnsitzbestaetigung",
				"title": map[string]string{"de": "Bench"}, "owner": map[string]string{"kind": "person", "sub": "bench-" + loadgen.RandHex(4)},
				"eventDate": now.Format(time.RFC3339)}, &a); err != nil {
				return err
			}
			ids[w] = append(ids[w], a.BusinessProcessID)
		}
	}
	var seq atomic.Int64
	want := func(name string) bool { return only == "" || only == name }
	if want("status_change") {
		loadgen.Run("status_change", duration, conc, func(w int) error {
			i := seq.Add(1)
			id := ids[w][int(i)%perWorker]
			_, err := bo.Do(ctx, "POST", base+"/api/v1/cases/"+id+"/events", map[string]any{"messageId": loadgen.RandHex(16), "action": "new",
				"status": "in-bearbeitung", "eventDate": now.Add(time.Duration(i) * time.Millisecond).Format(time.RFC3339Nano),
				"note": map[string]string{"de": "Bench"}, "notify": true}, nil)
			return err
		})
	}
	if !want("list_page") {
		return nil
	}

	// list_page: first page and the next, for random seeded owners.
	store := status.NewStore(db, time.Now, status.DefaultNotifyWindow)
	loadgen.Run("list_page", duration, conc, func(int) error {
		owner := status.Owner{Kind: status.OwnerPerson, Sub: fmt.Sprintf("seed-%d", mrand.IntN(owners))}
		page, err := store.List(ctx, owner, status.Cursor{}, 21)
		if err != nil {
			return err
		}
		if len(page) < 5 {
			return errors.New("an owner without seeded cases")
		}
		mid := page[4] // a keyset page from the middle, as "older cases" asks
		_, err = store.List(ctx, owner, status.Cursor{ChangedAt: mid.ChangedAt, ID: mid.ID}, 21)
		return err
	})
	fmt.Println("\nlist_page is two queries of a page (21 rows: the first page, and one after a keyset cursor); each owner has", cases/owners, "cases.")
	return nil
}

// seed fills status_cases (and their creation events) up to n cases, in
// batches, with owners seed-0 … seed-(owners-1).
func seed(ctx context.Context, db *sqldb.DB, n, owners int) error {
	var have int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM status_cases WHERE client_id = 'seed'`).Scan(&have); err != nil {
		return err
	}
	start := time.Now()
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for from := have; from < n; from += 100_000 {
		to := min(n, from+100_000) - 1
		err := db.Tx(ctx, func(tx *sqldb.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO status_cases (id, reference, service, client_id, title, owner_kind, owner_id, viewable,
				submitted_by_sub, submitted_by_name, submission_id, expected_completion, test, status, outcome, deadline, closed,
				created_at, changed_at, events, notify_due)
				SELECT md5('seed' || g)::uuid::text, '2025-' || lpad(g::text, 7, '0') || '-0', 'wohnsitzbestaetigung', 'seed',
				'{"de":"Wohnsitzbestätigung"}', 'person', 'seed-' || (g % ?), true, '', '', '', '', false,
				CASE WHEN g % 3 = 0 THEN 'abgeschlossen' ELSE 'in-bearbeitung' END,
				CASE WHEN g % 3 = 0 THEN 'gutgeheissen' ELSE '' END, '', g % 3 = 0,
				?::timestamptz + g * interval '20 seconds', ?::timestamptz + g * interval '20 seconds', 1, NULL
				FROM generate_series(?::bigint, ?::bigint) g`, owners, base, base, from, to); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO status_events (case_id, seq, message_id, action, ref, event_date, status, note,
				deadline, outcome, notify, by_client, recorded_at)
				SELECT md5('seed' || g)::uuid::text, 1, 'seed-' || g, 'new', '', ?::timestamptz + g * interval '20 seconds', 'eingereicht', '{}',
				'', '', false, 'seed', ?::timestamptz + g * interval '20 seconds' FROM generate_series(?::bigint, ?::bigint) g`,
				base, base, from, to)
			return err
		})
		if err != nil {
			return fmt.Errorf("seed cases %d…%d: %w", from, to, err)
		}
		fmt.Fprintf(os.Stderr, "seeded %d of %d cases (%s)\n", to+1, n, time.Since(start).Round(time.Second))
	}
	if have < n {
		_, err := db.Exec(ctx, `ANALYZE status_cases`)
		return err
	}
	return nil
}

type discard struct{}

func (discard) Notify(context.Context, api.Notification) error { return nil }
