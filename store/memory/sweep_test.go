package memory

import (
	"testing"
	"time"
)

func TestSweepRemovesOnlyExpiredKeys(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	s := New(func() time.Time { return now })
	t.Cleanup(func() { _ = s.Close() })
	ctx := t.Context()

	tests := []struct {
		name string
		put  func(key string) error
		kept bool
	}{
		{"expired value", func(k string) error { return s.Set(ctx, k, []byte("v"), time.Second) }, false},
		{"live value", func(k string) error { return s.Set(ctx, k, []byte("v"), time.Hour) }, true},
		{"expired counter", func(k string) error { _, err := s.Incr(ctx, k, time.Second); return err }, false},
		{"live set", func(k string) error { return s.SAdd(ctx, k, "m", time.Hour) }, true},
	}
	for _, tt := range tests {
		if err := tt.put(tt.name); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
	}
	now = now.Add(time.Minute)
	s.sweep()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sh := s.shard(tt.name)
			sh.mu.Lock()
			_, kept := sh.m[tt.name]
			sh.mu.Unlock()
			if kept != tt.kept {
				t.Fatalf("kept after sweep = %v, want %v", kept, tt.kept)
			}
		})
	}
}
