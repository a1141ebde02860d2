package mfa_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/mfa"
	"github.com/kanton/kundencenter/mfa/twilio"
	"github.com/kanton/kundencenter/mfa/twilio/twiliotest"
	"github.com/kanton/kundencenter/store/memory"
	"github.com/kanton/kundencenter/store/redis"
)

// clock is a fake clock that only moves when told to.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// tracked wraps a store and remembers every key written, so that a test
// can look for leftovers and delete its keys at the end.
type tracked struct {
	idp.Ephemeral
	mu   sync.Mutex
	keys map[string]bool
}

func track(s idp.Ephemeral) *tracked { return &tracked{Ephemeral: s, keys: map[string]bool{}} }

func (t *tracked) note(k string) {
	t.mu.Lock()
	t.keys[k] = true
	t.mu.Unlock()
}

func (t *tracked) Set(ctx context.Context, k string, v []byte, ttl time.Duration) error {
	t.note(k)
	return t.Ephemeral.Set(ctx, k, v, ttl)
}

func (t *tracked) SetNX(ctx context.Context, k string, v []byte, ttl time.Duration) (bool, error) {
	t.note(k)
	return t.Ephemeral.SetNX(ctx, k, v, ttl)
}

func (t *tracked) Incr(ctx context.Context, k string, w time.Duration) (int64, error) {
	t.note(k)
	return t.Ephemeral.Incr(ctx, k, w)
}

func (t *tracked) IncrAll(ctx context.Context, ks []string, ws []time.Duration) ([]int64, error) {
	for _, k := range ks {
		t.note(k)
	}
	return t.Ephemeral.IncrAll(ctx, ks, ws)
}

// live returns the written keys containing part that still exist.
func (t *tracked) live(tb testing.TB, part string) []string {
	tb.Helper()
	t.mu.Lock()
	var keys []string
	for k := range t.keys {
		if strings.Contains(k, part) {
			keys = append(keys, k)
		}
	}
	t.mu.Unlock()
	var out []string
	for _, k := range keys {
		_, err := t.Ephemeral.Get(context.Background(), k)
		switch {
		case err == nil:
			out = append(out, k)
		case !errors.Is(err, idp.ErrNotFound):
			tb.Fatalf("Get(%s): %v", k, err)
		}
	}
	return out
}

func (t *tracked) cleanup() {
	t.mu.Lock()
	keys := make([]string, 0, len(t.keys))
	for k := range t.keys {
		keys = append(keys, k)
	}
	t.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = t.Ephemeral.Delete(ctx, keys...)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func redisURL() string {
	if u := os.Getenv("KC_TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// openRedis opens the production ephemeral store under a fresh key prefix;
// it fails, never skips, without Redis.
func openRedis(t testing.TB) *redis.Store {
	t.Helper()
	s, err := redis.Open(t.Context(), redisURL(), "kctest:mfa:"+randomHex(6)+":")
	if err != nil {
		t.Fatalf("%v\nthis test needs Redis on 127.0.0.1:6379 or KC_TEST_REDIS_URL; "+
			"start it (`redis-server`, or ./scripts/test starts or installs it)", err)
	}
	return s
}

// storeKind names an ephemeral store to run a test on.
type storeKind struct {
	name string
	open func(t *testing.T, c *clock) *tracked
}

var stores = []storeKind{
	{"memory", func(t *testing.T, c *clock) *tracked {
		s := memory.New(c.Now)
		t.Cleanup(func() { _ = s.Close() })
		return track(s)
	}},
	{"redis", func(t *testing.T, _ *clock) *tracked {
		s := openRedis(t)
		tr := track(s)
		t.Cleanup(func() {
			tr.cleanup()
			_ = s.Close()
		})
		return tr
	}},
}

// syncBuffer is a bytes.Buffer safe for concurrent log writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// env is an mfa.Service sending through the real twilio-go client to a
// twiliotest server.
type env struct {
	svc   *mfa.Service
	tw    *twiliotest.Server
	clock *clock
	store *tracked
	logs  *syncBuffer
}

// newEnv builds an env on the store opened by open; adjust changes the
// configuration before the service is built.
func newEnv(t *testing.T, open func(*testing.T, *clock) *tracked, adjust func(*mfa.Config)) *env {
	t.Helper()
	c := newClock()
	st := open(t, c)
	tw := twiliotest.New()
	t.Cleanup(tw.Close)
	sender, err := twilio.New(twilio.Config{
		AccountSID: tw.AccountSID, AuthToken: tw.AuthToken, From: "Kanton",
		BaseURL: tw.URL, Validity: 5 * time.Minute,
	})
	if err != nil {
		t.Fatalf("twilio.New: %v", err)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	cfg := mfa.Config{Key: key, Now: c.Now}
	if adjust != nil {
		adjust(&cfg)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	svc, err := mfa.New(cfg, st, sender, log)
	if err != nil {
		t.Fatalf("mfa.New: %v", err)
	}
	return &env{svc: svc, tw: tw, clock: c, store: st, logs: logs}
}

// start starts a challenge and returns it with the code that was sent.
func (e *env) start(t *testing.T, req mfa.StartRequest) (mfa.Challenge, string) {
	t.Helper()
	ch, err := e.svc.Start(t.Context(), req)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return ch, e.code(t, req.Phone)
}

// code returns the code of the newest SMS to the number (as typed).
func (e *env) code(t *testing.T, phone string) string {
	t.Helper()
	p, err := e.svc.ParsePhone(phone)
	if err != nil {
		t.Fatalf("ParsePhone: %v", err)
	}
	code, ok := e.tw.LastCode(p.E164)
	if !ok {
		t.Fatalf("no SMS with a code to %s", p)
	}
	return code
}

// wrong returns a six-digit code that differs from code.
func wrong(code string) string {
	b := []byte(code)
	b[0] = '0' + (b[0]-'0'+1)%10
	return string(b)
}
