package ephemeraltest

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kanton/kundencenter/idp"
)

// benchKeys is the number of distinct keys the benchmarks spread over.
const benchKeys = 1024

// Bench measures the hot-path methods of e with b.RunParallel: Get of an
// existing access-token-sized value, Take of a freshly Set single-use code
// (each op is one Set plus one Take), and Incr of rate-limit counters.
func Bench(b *testing.B, e idp.Ephemeral) {
	b.Helper()
	keys := make([]string, benchKeys)
	counters := make([]string, benchKeys)
	for i := range keys {
		keys[i] = "bench:" + strconv.Itoa(i)
		counters[i] = "bench:n:" + strconv.Itoa(i)
	}
	value := randomBytes(256)

	b.Run("Get", func(b *testing.B) {
		ctx := b.Context()
		for _, k := range keys {
			if err := e.Set(ctx, k, value, time.Hour); err != nil {
				b.Fatalf("Set: %v", err)
			}
		}
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := e.Get(ctx, keys[i%benchKeys]); err != nil {
					b.Errorf("Get: %v", err)
					return
				}
				i += 7
			}
		})
	})

	b.Run("Take", func(b *testing.B) {
		ctx := b.Context()
		var worker atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			prefix := "bench:take:" + strconv.FormatInt(worker.Add(1), 10) + ":"
			i := 0
			for pb.Next() {
				k := prefix + strconv.Itoa(i%benchKeys)
				if err := e.Set(ctx, k, value, time.Hour); err != nil {
					b.Errorf("Set: %v", err)
					return
				}
				if _, err := e.Take(ctx, k); err != nil {
					b.Errorf("Take: %v", err)
					return
				}
				i++
			}
		})
	})

	b.Run("Incr", func(b *testing.B) {
		ctx := b.Context()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := e.Incr(ctx, counters[i%benchKeys], time.Hour); err != nil {
					b.Errorf("Incr: %v", err)
					return
				}
				i += 13
			}
		})
	})
}
