package idp_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/store/memory"
)

// clock is a settable time source for the in-process store.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newLimiter returns a Limiter on a fresh in-process store and its clock.
func newLimiter(t *testing.T) (idp.Limiter, *clock) {
	t.Helper()
	c := &clock{now: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	s := memory.New(c.Now)
	t.Cleanup(func() { s.Close() })
	return idp.Limiter{Store: s, Prefix: "rl:"}, c
}

func TestLimiterAllow(t *testing.T) {
	ctx := t.Context()
	l, c := newLimiter(t)
	for i := 1; i <= 5; i++ {
		ok, err := l.Allow(ctx, "login_ip:192.0.2.1", 3, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if want := i <= 3; ok != want {
			t.Errorf("request %d: Allow = %v, want %v", i, ok, want)
		}
	}
	if ok, _ := l.Allow(ctx, "login_ip:192.0.2.2", 3, time.Minute); !ok {
		t.Error("another bucket is limited too")
	}
	other := idp.Limiter{Store: l.Store, Prefix: "other:"}
	if ok, _ := other.Allow(ctx, "login_ip:192.0.2.1", 3, time.Minute); !ok {
		t.Error("another prefix shares the bucket")
	}
	c.Advance(time.Minute)
	if ok, _ := l.Allow(ctx, "login_ip:192.0.2.1", 3, time.Minute); !ok {
		t.Error("still limited in the next window")
	}
}

func TestLimiterReset(t *testing.T) {
	ctx := t.Context()
	l, _ := newLimiter(t)
	for range 3 {
		l.Allow(ctx, "login_acct:a1", 2, time.Hour)
	}
	if ok, _ := l.Allow(ctx, "login_acct:a1", 2, time.Hour); ok {
		t.Fatal("not limited after three requests")
	}
	if err := l.Reset(ctx, "login_acct:a1"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := l.Allow(ctx, "login_acct:a1", 2, time.Hour); !ok {
		t.Error("still limited after Reset")
	}
}

func TestLimiterAllowBadConfig(t *testing.T) {
	l, _ := newLimiter(t)
	tests := []struct {
		name   string
		limit  int64
		window time.Duration
	}{
		{name: "zero limit", limit: 0, window: time.Minute},
		{name: "negative limit", limit: -1, window: time.Minute},
		{name: "zero window", limit: 5, window: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := l.Allow(t.Context(), "b", tt.limit, tt.window)
			if err == nil || ok {
				t.Errorf("Allow = %v, %v; want false and an error", ok, err)
			}
		})
	}
}

func TestLimiterAllowAll(t *testing.T) {
	perIP := idp.Rule{Name: "login_ip", Limit: 5, Window: time.Hour}
	perAcct := idp.Rule{Name: "login_acct", Limit: 2, Window: time.Hour}
	rules := []idp.Rule{perIP, perAcct}

	t.Run("any bucket over means no", func(t *testing.T) {
		ctx := t.Context()
		l, _ := newLimiter(t)
		// One IP tries one account: the account limit trips first.
		want := []bool{true, true, false, false}
		for i, w := range want {
			ok, err := l.AllowAll(ctx, rules, []string{"192.0.2.1", "acct-1"})
			if err != nil {
				t.Fatal(err)
			}
			if ok != w {
				t.Errorf("attempt %d: AllowAll = %v, want %v", i+1, ok, w)
			}
		}
		// The IP bucket counted the refused attempts too: 4 so far, so
		// one more account passes once and then the IP limit holds.
		if ok, _ := l.AllowAll(ctx, rules, []string{"192.0.2.1", "acct-2"}); !ok {
			t.Error("fifth request from the IP refused")
		}
		if ok, _ := l.AllowAll(ctx, rules, []string{"192.0.2.1", "acct-3"}); ok {
			t.Error("sixth request from the IP allowed")
		}
		// Another IP on a fresh account is unaffected.
		if ok, _ := l.AllowAll(ctx, rules, []string{"192.0.2.9", "acct-4"}); !ok {
			t.Error("unrelated request refused")
		}
	})

	t.Run("stuffing from one IP trips the IP limit", func(t *testing.T) {
		ctx := t.Context()
		l, _ := newLimiter(t)
		allowed := 0
		for i := range 50 {
			ok, err := l.AllowAll(ctx, rules, []string{"198.51.100.7", fmt.Sprintf("acct-%d", i)})
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				allowed++
			}
		}
		if allowed != int(perIP.Limit) {
			t.Errorf("%d of 50 accounts tried, want %d", allowed, perIP.Limit)
		}
	})

	t.Run("empty key is its own bucket", func(t *testing.T) {
		ctx := t.Context()
		l, _ := newLimiter(t)
		one := []idp.Rule{{Name: "register_ip", Limit: 1, Window: time.Hour}}
		if ok, _ := l.AllowAll(ctx, one, []string{""}); !ok {
			t.Error("first keyless request refused")
		}
		if ok, _ := l.AllowAll(ctx, one, []string{""}); ok {
			t.Error("second keyless request allowed")
		}
	})

	errTests := []struct {
		name  string
		rules []idp.Rule
		keys  []string
	}{
		{name: "fewer keys than rules", rules: rules, keys: []string{"192.0.2.1"}},
		{name: "no rules", rules: nil, keys: nil},
		{name: "rule without limit", rules: []idp.Rule{{Name: "x", Window: time.Minute}}, keys: []string{"k"}},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			l, _ := newLimiter(t)
			if ok, err := l.AllowAll(t.Context(), tt.rules, tt.keys); err == nil || ok {
				t.Errorf("AllowAll = %v, %v; want false and an error", ok, err)
			}
		})
	}
}

// downStore is the in-process store with a broken Incr and Delete, as when
// Redis is unreachable.
type downStore struct {
	idp.Ephemeral
}

func (downStore) Incr(context.Context, string, time.Duration) (int64, error) {
	return 0, idp.ErrUnavailable
}

func (downStore) IncrAll(context.Context, []string, []time.Duration) ([]int64, error) {
	return nil, idp.ErrUnavailable
}

func (downStore) Delete(context.Context, ...string) error { return idp.ErrUnavailable }

func TestLimiterStoreErrorPropagates(t *testing.T) {
	base := memory.New(nil)
	t.Cleanup(func() { base.Close() })
	l := idp.Limiter{Store: downStore{base}, Prefix: "rl:"}
	ctx := t.Context()
	if ok, err := l.Allow(ctx, "b", 10, time.Minute); ok || !errors.Is(err, idp.ErrUnavailable) {
		t.Errorf("Allow = %v, %v; want false, ErrUnavailable", ok, err)
	}
	rules := []idp.Rule{{Name: "login_ip", Limit: 10, Window: time.Minute}}
	if ok, err := l.AllowAll(ctx, rules, []string{"192.0.2.1"}); ok || !errors.Is(err, idp.ErrUnavailable) {
		t.Errorf("AllowAll = %v, %v; want false, ErrUnavailable", ok, err)
	}
	if err := l.Reset(ctx, "b"); !errors.Is(err, idp.ErrUnavailable) {
		t.Errorf("Reset = %v, want ErrUnavailable", err)
	}
}

func TestLimiterConcurrent(t *testing.T) {
	ctx := t.Context()
	l, _ := newLimiter(t)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		allowed int
	)
	for range 100 {
		wg.Go(func() {
			ok, err := l.Allow(ctx, "burst", 10, time.Minute)
			if err != nil {
				t.Error(err)
				return
			}
			if ok {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if allowed != 10 {
		t.Errorf("%d of 100 concurrent requests allowed, want exactly 10", allowed)
	}
}
