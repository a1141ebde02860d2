package memory_test

import (
	"sync"
	"testing"
	"time"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/store/ephemeraltest"
	"github.com/kanton/kundencenter/store/memory"
)

// clock is a fake clock that only moves when told to.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

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

func TestConformance(t *testing.T) {
	c := &clock{t: time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)}
	ephemeraltest.Run(t, func(t *testing.T) idp.Ephemeral {
		s := memory.New(c.Now)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}, ephemeraltest.Options{Advance: c.Advance})
}

func TestCloseTwice(t *testing.T) {
	s := memory.New(nil)
	if err := s.Close(); err != nil {
		t.Fatalf("first Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestRejectsNonPositiveTTL(t *testing.T) {
	s := memory.New(nil)
	t.Cleanup(func() { _ = s.Close() })
	ctx := t.Context()
	tests := []struct {
		name string
		call func() error
	}{
		{"Set", func() error { return s.Set(ctx, "k", nil, 0) }},
		{"SetNX", func() error { _, err := s.SetNX(ctx, "k", nil, -time.Second); return err }},
		{"Incr", func() error { _, err := s.Incr(ctx, "k", 0); return err }},
		{"SAdd", func() error { return s.SAdd(ctx, "k", "m", 0) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); err == nil {
				t.Fatal("no error for a TTL <= 0")
			}
		})
	}
}

func BenchmarkStore(b *testing.B) {
	s := memory.New(nil)
	b.Cleanup(func() { _ = s.Close() })
	ephemeraltest.Bench(b, s)
}
