package servers_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/kanton/kundencenter/testenv/servers"
)

// TestRedisSnapshot: a key saved in a snapshot comes back after a kill and
// restart, a key written after it does not.
func TestRedisSnapshot(t *testing.T) {
	r := servers.StartRedis(t)
	r.Do(t, "SET", "old", "1")
	r.Save(t)
	r.Do(t, "SET", "new", "1")
	r.Kill(t)
	r.Start(t)
	if v := r.Do(t, "EXISTS", "old"); v != int64(1) {
		t.Errorf("old key after restart: EXISTS = %v, want 1", v)
	}
	if v := r.Do(t, "EXISTS", "new"); v != int64(0) {
		t.Errorf("key written after the snapshot: EXISTS = %v, want 0", v)
	}
}

// TestPostgresRestart: the cluster refuses connections while stopped and
// keeps its data across an immediate stop.
func TestPostgresRestart(t *testing.T) {
	p := servers.StartPostgres(t)
	ctx := t.Context()
	exec := func(q string) error {
		c, err := pgx.Connect(ctx, p.URL)
		if err != nil {
			return err
		}
		defer c.Close(context.Background())
		_, err = c.Exec(ctx, q)
		return err
	}
	if err := exec("CREATE TABLE t (x int); INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	p.Stop(t)
	if err := exec("SELECT 1"); err == nil {
		t.Fatal("a stopped server answered")
	}
	p.Start(t)
	if err := exec("SELECT x FROM t"); err != nil {
		t.Fatalf("after restart: %v", err)
	}
}
