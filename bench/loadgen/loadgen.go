// Package loadgen is the load loop the bench scenarios share: conc workers
// call a function for a while, and one line reports requests, rate per
// second and per core, p50, p99 and errors.
package loadgen

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Result is one scenario's outcome.
type Result struct {
	Name     string
	N, Errs  int64
	Rate     float64 // successful calls per second
	P50, P99 time.Duration
}

// Run calls fn from conc workers (fn gets the worker's number) for d and
// prints one line, and the first error if any.
func Run(name string, d time.Duration, conc int, fn func(worker int) error) Result {
	var n, errs atomic.Int64
	lat := make([][]time.Duration, conc)
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for w := range conc {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				t0 := time.Now()
				err := fn(w)
				lat[w] = append(lat[w], time.Since(t0))
				n.Add(1)
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	all := slices.Concat(lat...)
	slices.Sort(all)
	r := Result{Name: name, N: n.Load(), Errs: errs.Load(), Rate: float64(n.Load()-errs.Load()) / elapsed.Seconds()}
	if len(all) > 0 {
		r.P50, r.P99 = all[len(all)*50/100], all[min(len(all)-1, len(all)*99/100)]
	}
	fmt.Printf("%-22s %10d %10.0f %12.0f %10s %10s %8d\n", name, r.N, r.Rate, r.Rate/float64(runtime.GOMAXPROCS(0)),
		r.P50.Round(10*time.Microsecond), r.P99.Round(10*time.Microsecond), r.Errs)
	if e := firstErr.Load(); e != nil {
		fmt.Printf("  first error: %v\n", e)
	}
	return r
}

// RandHex returns n random bytes in hex.
func RandHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
