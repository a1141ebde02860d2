package idptest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	goredis "github.com/redis/go-redis/v9"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/store/postgres"
	"github.com/kanton/kundencenter/store/redis"
	"github.com/kanton/kundencenter/store/sqldb/sqldbtest"
)

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func randomSuffix() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Postgres opens the production store in a fresh schema of the test
// database (KC_TEST_POSTGRES_URL), dropped at cleanup. It fails, never
// skips, when PostgreSQL cannot be reached.
func Postgres(t testing.TB) idp.Store {
	t.Helper()
	url := sqldbtest.PostgresURL()
	schema := "kc_test_" + randomSuffix()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, url); err == nil {
			c.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
			c.Close(ctx)
		}
	})
	s, err := postgres.OpenSchema(context.Background(), url, schema)
	if err != nil {
		t.Fatalf("%v\nthis test needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth, database test) "+
			"or KC_TEST_POSTGRES_URL; ./scripts/test starts or installs it", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Redis opens the production ephemeral store under a fresh key prefix
// (KC_TEST_REDIS_URL), whose keys are deleted at cleanup. It fails, never
// skips, when Redis cannot be reached.
func Redis(t testing.TB) idp.Ephemeral {
	t.Helper()
	url := envOr("KC_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
	prefix := "kctest:" + randomSuffix() + ":"
	s, err := redis.Open(context.Background(), url, prefix)
	if err != nil {
		t.Fatalf("%v\nthis test needs Redis on 127.0.0.1:6379 or KC_TEST_REDIS_URL; ./scripts/test starts or installs it", err)
	}
	t.Cleanup(func() {
		s.Close()
		opt, err := goredis.ParseURL(url)
		if err != nil {
			return
		}
		c := goredis.NewClient(opt)
		defer c.Close()
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
	return s
}
