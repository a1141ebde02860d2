package redis_test

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/store/ephemeraltest"
	"github.com/kanton/kundencenter/store/redis"
)

// redisURL is the server the tests use.
func redisURL() string {
	if u := os.Getenv("KC_TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// open returns a store on the test server under a fresh random prefix and
// deletes every key under that prefix at cleanup. It fails the test when
// the server is unreachable.
func open(tb testing.TB) *redis.Store {
	tb.Helper()
	prefix := "kctest:" + rand.Text()[:12] + ":"
	s, err := redis.Open(tb.Context(), redisURL(), prefix)
	if err != nil {
		tb.Fatalf("Redis at %s unreachable: %v\n"+
			"start it (e.g. `redis-server` or `docker compose up -d redis`) or point KC_TEST_REDIS_URL at one",
			redisURL(), err)
	}
	tb.Cleanup(func() {
		defer func() { _ = s.Close() }()
		if err := deletePrefix(prefix); err != nil {
			tb.Errorf("clean up keys %s*: %v", prefix, err)
		}
	})
	return s
}

// deletePrefix removes every key that starts with prefix.
func deletePrefix(prefix string) error {
	ctx := context.Background() // the test's context is done by cleanup time
	opt, err := goredis.ParseURL(redisURL())
	if err != nil {
		return err
	}
	c := goredis.NewClient(opt)
	defer func() { _ = c.Close() }()
	iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		if err := c.Del(ctx, iter.Val()).Err(); err != nil {
			return err
		}
	}
	return iter.Err()
}

func TestConformance(t *testing.T) {
	ephemeraltest.Run(t, func(t *testing.T) idp.Ephemeral { return open(t) }, ephemeraltest.Options{})
}

// closedAddr returns a loopback address on which nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

func TestUnreachableIsUnavailable(t *testing.T) {
	addr := closedAddr(t)
	s := redis.New(goredis.NewClient(&goredis.Options{
		Addr:          addr,
		DialTimeout:   200 * time.Millisecond,
		ReadTimeout:   200 * time.Millisecond,
		WriteTimeout:  200 * time.Millisecond,
		MaxRetries:    -1,
		DialerRetries: 1,
	}), "kctest:")
	t.Cleanup(func() { _ = s.Close() })
	ctx := t.Context()

	tests := []struct {
		name string
		call func() error
	}{
		{"Ping", func() error { return s.Ping(ctx) }},
		{"Set", func() error { return s.Set(ctx, "k", []byte("v"), time.Minute) }},
		{"SetNX", func() error { _, err := s.SetNX(ctx, "k", []byte("v"), time.Minute); return err }},
		{"Get", func() error { _, err := s.Get(ctx, "k"); return err }},
		{"Take", func() error { _, err := s.Take(ctx, "k"); return err }},
		{"Delete", func() error { return s.Delete(ctx, "a", "b") }},
		{"Incr", func() error { _, err := s.Incr(ctx, "k", time.Minute); return err }},
		{"SAdd", func() error { return s.SAdd(ctx, "k", "m", time.Minute) }},
		{"SMembers", func() error { _, err := s.SMembers(ctx, "k"); return err }},
		{"SRem", func() error { return s.SRem(ctx, "k", "m") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, idp.ErrUnavailable) {
				t.Fatalf("error = %v, want one wrapping ErrUnavailable", err)
			}
			if errors.Is(err, idp.ErrNotFound) {
				t.Fatalf("error %v wraps ErrNotFound too", err)
			}
			if !strings.Contains(err.Error(), addr) {
				t.Fatalf("error %q does not name the address %s", err, addr)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	closed := closedAddr(t)
	tests := []struct {
		name        string
		url         string
		unavailable bool   // the error wraps idp.ErrUnavailable
		mention     string // the error message contains this
	}{
		{"closed port", "redis://" + closed + "/0?dial_timeout=200ms&max_retries=-1", true, closed},
		{"wrong scheme", "http://127.0.0.1:6379/0", false, "scheme"},
		{"bad database", "redis://127.0.0.1:6379/x", false, "database"},
		{"unknown option", "redis://127.0.0.1:6379/0?nonsense=1", false, "nonsense"},
		{"bad context_timeout_enabled", "redis://127.0.0.1:6379/0?context_timeout_enabled=maybe", false, "context_timeout_enabled"},
		{"password not echoed", "redis://user:s3cret@127.0.0.1:6379/%zz", false, "redis URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := redis.Open(t.Context(), tt.url, "kctest:")
			if err == nil {
				_ = s.Close()
				t.Fatal("Open succeeded")
			}
			if got := errors.Is(err, idp.ErrUnavailable); got != tt.unavailable {
				t.Errorf("errors.Is(%v, ErrUnavailable) = %v, want %v", err, got, tt.unavailable)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("error %q does not mention %q", err, tt.mention)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

func TestOpenOptions(t *testing.T) {
	tests := []struct {
		name  string
		query string
	}{
		{"defaults", ""},
		{"context timeouts off", "?context_timeout_enabled=false"},
		{"go-redis options", "?dial_timeout=1s&read_timeout=2s&max_retries=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := redisURL()
			if tt.query != "" {
				sep := "?"
				if strings.Contains(u, "?") {
					sep = "&"
				}
				u += sep + tt.query[1:]
			}
			s, err := redis.Open(t.Context(), u, "kctest:")
			if err != nil {
				t.Fatalf("Open(%s): %v (is Redis running? set KC_TEST_REDIS_URL)", u, err)
			}
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
		})
	}
}

func TestServerErrorsAreNotUnavailable(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	if err := s.Set(ctx, "plain", []byte("v"), time.Minute); err != nil {
		t.Fatalf("Set: %v", err)
	}
	// A set command on a string key: Redis answers WRONGTYPE.
	err := s.SAdd(ctx, "plain", "m", time.Minute)
	if err == nil {
		t.Fatal("SAdd on a string key succeeded")
	}
	if errors.Is(err, idp.ErrUnavailable) || errors.Is(err, idp.ErrNotFound) {
		t.Fatalf("WRONGTYPE error %v wraps ErrUnavailable or ErrNotFound", err)
	}
}

func TestCanceledContextIsNotUnavailable(t *testing.T) {
	s := open(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := s.Get(ctx, "k")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want one wrapping context.Canceled", err)
	}
	if errors.Is(err, idp.ErrUnavailable) {
		t.Fatalf("error %v wraps ErrUnavailable for a caller that gave up", err)
	}
}

func TestPrefixIsolatesStores(t *testing.T) {
	a, b := open(t), open(t)
	ctx := t.Context()
	if err := a.Set(ctx, "k", []byte("a"), time.Minute); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if _, err := b.Get(ctx, "k"); !errors.Is(err, idp.ErrNotFound) {
		t.Fatalf("other prefix Get error = %v, want ErrNotFound", err)
	}
}

func BenchmarkStore(b *testing.B) {
	ephemeraltest.Bench(b, open(b))
}

// TestFailFast: with the URL's defaults (FastFail) a Redis that accepts
// connections but never answers costs at most two connections per command
// (one try, one retry) instead of go-redis' four, and a closed port a few
// milliseconds; the time each takes is logged, not asserted.
func TestFailFast(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	accepted := make(chan net.Conn, 64)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c // held open, never answered
		}
	}()
	t.Cleanup(func() {
		for len(accepted) > 0 {
			_ = (<-accepted).Close()
		}
	})
	start := time.Now()
	_, err = redis.Open(t.Context(), "redis://"+ln.Addr().String()+"/0", "kctest:")
	hung := time.Since(start)
	if !errors.Is(err, idp.ErrUnavailable) {
		t.Fatalf("Open on a silent server: %v, want ErrUnavailable", err)
	}
	if n := len(accepted); n == 0 || n > 2 {
		t.Fatalf("%d connections for one ping, want 1 or 2 (one retry)", n)
	}
	closed := closedAddr(t)
	start = time.Now()
	_, err = redis.Open(t.Context(), "redis://"+closed+"/0", "kctest:")
	refused := time.Since(start)
	if !errors.Is(err, idp.ErrUnavailable) {
		t.Fatalf("Open on a closed port: %v, want ErrUnavailable", err)
	}
	t.Logf("a silent Redis is noticed after %v, a closed port after %v", hung.Round(time.Millisecond), refused.Round(time.Millisecond))
}
