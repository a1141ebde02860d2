package ephemeraltest

// Conformance tests of the operations that do several things in one round
// trip: IncrAll and TakeWithSets.

import (
	"errors"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kanton/kundencenter/idp"
)

func (s *suite) testIncrAll(t *testing.T, e idp.Ephemeral) {
	ctx := t.Context()
	mustIncr(t, e, "a", long)
	got, err := e.IncrAll(ctx, []string{"a", "b", "a"}, []time.Duration{long, long, long})
	if err != nil {
		t.Fatalf("IncrAll: %v", err)
	}
	if want := []int64{2, 1, 3}; !slices.Equal(got, want) {
		t.Fatalf("IncrAll = %v, want %v", got, want)
	}
	if n := mustIncr(t, e, "b", long); n != 2 {
		t.Fatalf("Incr after IncrAll = %d, want 2", n)
	}
	if _, err := e.IncrAll(ctx, []string{"a", "b"}, []time.Duration{long}); err == nil {
		t.Fatal("IncrAll with fewer windows than keys: no error")
	}
	if _, err := e.IncrAll(ctx, []string{"c"}, []time.Duration{0}); err == nil {
		t.Fatal("IncrAll with a zero window: no error")
	}
}

// testIncrAllWindows: each counter gets its own window, from its first
// increment.
func (s *suite) testIncrAllWindows(t *testing.T, e idp.Ephemeral) {
	ctx := t.Context()
	if _, err := e.IncrAll(ctx, []string{"short", "long"}, []time.Duration{short, long}); err != nil {
		t.Fatalf("IncrAll: %v", err)
	}
	s.expire(t, short, "counter with the short window", func() bool {
		_, err := e.Get(ctx, "short")
		return errors.Is(err, idp.ErrNotFound)
	})
	if n := mustIncr(t, e, "long", long); n != 2 {
		t.Fatalf("counter with the long window = %d after its second increment, want 2", n)
	}
}

func (s *suite) testTakeWithSets(t *testing.T, e idp.Ephemeral) {
	ctx := t.Context()
	mustSet(t, e, "k", []byte("v"), long)
	mustSAdd(t, e, "s1", "a", long)
	mustSAdd(t, e, "s1", "b", long)
	mustSAdd(t, e, "other", "x", long)
	v, sets, err := e.TakeWithSets(ctx, "k", "s1", "s2")
	if err != nil {
		t.Fatalf("TakeWithSets: %v", err)
	}
	if string(v) != "v" || len(sets) != 2 {
		t.Fatalf("TakeWithSets = %s, %q; want \"v\" and two sets", show(v), sets)
	}
	slices.Sort(sets[0])
	if !slices.Equal(sets[0], []string{"a", "b"}) || len(sets[1]) != 0 {
		t.Fatalf("TakeWithSets sets = %q, want [a b] and none", sets)
	}
	mustNotFound(t, e, "k")
	mustMembers(t, e, "s1")
	mustMembers(t, e, "other", "x")
	// An absent value is nil, not an error; its sets are still taken.
	mustSAdd(t, e, "s1", "c", long)
	v, sets, err = e.TakeWithSets(ctx, "k", "s1")
	if err != nil || v != nil || len(sets) != 1 || !slices.Equal(sets[0], []string{"c"}) {
		t.Fatalf("TakeWithSets of an absent value = %s, %q, %v; want nil, [[c]], nil", show(v), sets, err)
	}
	mustMembers(t, e, "s1")
	// No sets at all is a Take that does not fail on absence.
	mustSet(t, e, "k", []byte("w"), long)
	if v, sets, err = e.TakeWithSets(ctx, "k"); err != nil || string(v) != "w" || len(sets) != 0 {
		t.Fatalf("TakeWithSets without sets = %s, %q, %v", show(v), sets, err)
	}
	mustNotFound(t, e, "k")
}

// testTakeWithSetsConcurrent: of concurrent calls exactly one gets the
// value, and every member is returned exactly once.
func (s *suite) testTakeWithSetsConcurrent(t *testing.T, e idp.Ephemeral) {
	ctx := t.Context()
	mustSet(t, e, "k", []byte("v"), long)
	const members = 20
	for i := range members {
		mustSAdd(t, e, "s", strconv.Itoa(i), long)
	}
	var wins atomic.Int32
	var mu sync.Mutex
	seen := map[string]int{}
	errs := make(chan error, concurrency)
	race(func(int) {
		v, sets, err := e.TakeWithSets(ctx, "k", "s")
		if err != nil {
			errs <- err
			return
		}
		if v != nil {
			wins.Add(1)
		}
		mu.Lock()
		for _, m := range sets[0] {
			seen[m]++
		}
		mu.Unlock()
	})
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if w := wins.Load(); w != 1 {
		t.Errorf("%d calls got the value, want exactly 1", w)
	}
	if len(seen) != members {
		t.Errorf("%d of %d members returned", len(seen), members)
	}
	for m, n := range seen {
		if n != 1 {
			t.Errorf("member %s returned %d times", m, n)
		}
	}
}
