package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/kanton/kundencenter/health"
	"github.com/kanton/kundencenter/idp/provider"
	"github.com/kanton/kundencenter/keyring"
	"github.com/kanton/kundencenter/store/postgres"
	"github.com/kanton/kundencenter/store/redis"
	"github.com/kanton/kundencenter/testenv/servers"
)

// TestIdPReadiness: /readyz of the IdP's checks turns 503 naming the
// dependency while a private Redis is killed or a private PostgreSQL is
// stopped, and 200 once it is back; /livez (and /healthz) stay 200.
func TestIdPReadiness(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pg := servers.StartPostgres(t)
	store, err := postgres.Open(ctx, pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	r := servers.StartRedis(t)
	eph, err := redis.Open(ctx, r.URL, "kc:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eph.Close() })
	ring, err := keyring.Parse(keyring.Generate())
	if err != nil {
		t.Fatal(err)
	}
	keys := provider.NewKeyCache(store, ring)
	if err := keys.Load(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(health.Wrap(http.NotFoundHandler(), nil, idpChecks(store, eph, keys)...))
	t.Cleanup(srv.Close)

	ready := func() (int, []string) {
		t.Helper()
		resp, err := http.Get(srv.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var rep health.Report
		if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, rep.Failed
	}
	live := func() {
		t.Helper()
		for _, p := range []string{"/livez", "/healthz"} {
			resp, err := http.Get(srv.URL + p)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("%s: %v %v", p, resp, err)
			}
			resp.Body.Close()
		}
	}
	want := func(step string, status int, failed ...string) {
		t.Helper()
		var got int
		var names []string
		// PostgreSQL's pool reconnects on its own after a restart; give it a moment.
		deadline := time.Now().Add(15 * time.Second)
		for {
			got, names = ready()
			if (got == status && slices.Equal(names, failed)) || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if got != status || !slices.Equal(names, failed) {
			t.Fatalf("%s: /readyz %d failed %v, want %d %v", step, got, names, status, failed)
		}
		live()
	}
	want("all up", 200)
	r.Kill(t)
	start := time.Now()
	code, _ := ready()
	t.Logf("/readyz with Redis killed answered %d in %v", code, time.Since(start).Round(time.Millisecond))
	want("redis killed", 503, "redis")
	r.Start(t)
	want("redis back", 200)
	pg.Stop(t)
	want("postgres stopped", 503, "database")
	pg.Start(t)
	want("postgres back", 200)
}
