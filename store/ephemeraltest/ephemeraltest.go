package ephemeraltest

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kanton/kundencenter/idp"
)

// Options adapts the suite to a store.
type Options struct {
	// Advance moves the store's clock forward by d. Nil means the store runs
	// on real time: expiry tests then use short TTLs, sleep and poll, and the
	// subtests run in parallel.
	Advance func(d time.Duration)
}

const (
	// short is the TTL that the expiry tests wait out.
	short = 150 * time.Millisecond
	// long is a TTL that no test waits out.
	long = time.Hour
	// margin is added to short when a test waits past it.
	margin = 60 * time.Millisecond
	// patience bounds polling for an expiry on real time.
	patience = 5 * time.Second
	// concurrency is the number of goroutines racing in the concurrency tests.
	concurrency = 50
)

// suite carries what every subtest needs.
type suite struct {
	open func(t *testing.T) idp.Ephemeral
	opts Options
}

// Run tests the store returned by open against the idp.Ephemeral contract.
// open is called once per subtest and must return an empty store (or one
// isolated by a fresh key prefix) and register its own cleanup.
func Run(t *testing.T, open func(t *testing.T) idp.Ephemeral, opts Options) {
	t.Helper()
	s := &suite{open: open, opts: opts}
	tests := []struct {
		name string
		fn   func(t *testing.T, e idp.Ephemeral)
	}{
		{"SetGet", s.testSetGet},
		{"GetMissing", s.testGetMissing},
		{"Overwrite", s.testOverwrite},
		{"ValuesAreCopied", s.testValuesAreCopied},
		{"Expiry", s.testExpiry},
		{"SetNX", s.testSetNX},
		{"SetNXConcurrent", s.testSetNXConcurrent},
		{"Take", s.testTake},
		{"TakeConcurrent", s.testTakeConcurrent},
		{"TakeWithSets", s.testTakeWithSets},
		{"TakeWithSetsConcurrent", s.testTakeWithSetsConcurrent},
		{"Delete", s.testDelete},
		{"Incr", s.testIncr},
		{"IncrConcurrent", s.testIncrConcurrent},
		{"IncrFixedWindow", s.testIncrFixedWindow},
		{"IncrAll", s.testIncrAll},
		{"IncrAllWindows", s.testIncrAllWindows},
		{"Sets", s.testSets},
		{"SetExpiry", s.testSetExpiry},
		{"SetTTLExtended", s.testSetTTLExtended},
		{"SetTTLNotShortened", s.testSetTTLNotShortened},
		{"SetIndexed", s.testSetIndexed},
		{"SetIndexedExpiry", s.testSetIndexedExpiry},
		{"Ping", s.testPing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if s.opts.Advance == nil {
				t.Parallel()
			}
			tt.fn(t, s.open(t))
		})
	}
}

// wait lets d pass on the store's clock.
func (s *suite) wait(d time.Duration) {
	if s.opts.Advance != nil {
		s.opts.Advance(d)
		return
	}
	time.Sleep(d)
}

// expire lets ttl pass and then checks gone, polling on real time until it
// reports true.
func (s *suite) expire(t *testing.T, ttl time.Duration, what string, gone func() bool) {
	t.Helper()
	if s.opts.Advance != nil {
		s.opts.Advance(ttl + time.Millisecond)
		if !gone() {
			t.Fatalf("%s: still there after its TTL of %s", what, ttl)
		}
		return
	}
	deadline := time.Now().Add(ttl + patience)
	for !gone() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: still there %s after its TTL of %s", what, patience, ttl)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func mustSet(t *testing.T, e idp.Ephemeral, key string, value []byte, ttl time.Duration) {
	t.Helper()
	if err := e.Set(t.Context(), key, value, ttl); err != nil {
		t.Fatalf("Set(%q): %v", key, err)
	}
}

func mustGet(t *testing.T, e idp.Ephemeral, key string, want []byte) {
	t.Helper()
	got, err := e.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Get(%q) = %s, want %s", key, show(got), show(want))
	}
}

func mustNotFound(t *testing.T, e idp.Ephemeral, key string) {
	t.Helper()
	got, err := e.Get(t.Context(), key)
	if !errors.Is(err, idp.ErrNotFound) {
		t.Fatalf("Get(%q) = %s, %v; want ErrNotFound", key, show(got), err)
	}
}

func mustMembers(t *testing.T, e idp.Ephemeral, key string, want ...string) {
	t.Helper()
	got, err := e.SMembers(t.Context(), key)
	if err != nil {
		t.Fatalf("SMembers(%q): %v", key, err)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("SMembers(%q) = %q, want %q", key, got, want)
	}
}

func mustSAdd(t *testing.T, e idp.Ephemeral, key, member string, ttl time.Duration) {
	t.Helper()
	if err := e.SAdd(t.Context(), key, member, ttl); err != nil {
		t.Fatalf("SAdd(%q, %q): %v", key, member, err)
	}
}

func mustIncr(t *testing.T, e idp.Ephemeral, key string, window time.Duration) int64 {
	t.Helper()
	n, err := e.Incr(t.Context(), key, window)
	if err != nil {
		t.Fatalf("Incr(%q): %v", key, err)
	}
	return n
}

// show prints a value short enough for a failure message.
func show(b []byte) string {
	if len(b) > 32 {
		return fmt.Sprintf("%q… (%d bytes)", b[:32], len(b))
	}
	return fmt.Sprintf("%q", b)
}

// randomBytes returns n bytes from a fixed seed, so failures repeat.
func randomBytes(n int) []byte {
	r := rand.NewChaCha8([32]byte{1})
	b := make([]byte, n)
	_, _ = r.Read(b)
	return b
}

func (s *suite) testSetGet(t *testing.T, e idp.Ephemeral) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	tests := []struct {
		name  string
		key   string
		value []byte
	}{
		{"text", "text", []byte("hello")},
		{"empty", "empty", []byte{}},
		{"nul bytes", "nul", []byte{0, 0, 'a', 0}},
		{"every byte", "every", all},
		{"64 KiB", "large", randomBytes(64 << 10)},
		{"key with odd characters", "auth:req/ä ö\x00:{tag}*", []byte("odd")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustSet(t, e, tt.key, tt.value, long)
			mustGet(t, e, tt.key, tt.value)
		})
	}
}

func (s *suite) testGetMissing(t *testing.T, e idp.Ephemeral) {
	ctx := t.Context()
	if _, err := e.Get(ctx, "absent"); !errors.Is(err, idp.ErrNotFound) {
		t.Errorf("Get(absent) error = %v, want ErrNotFound", err)
	}
	if _, err := e.Take(ctx, "absent"); !errors.Is(err, idp.ErrNotFound) {
		t.Errorf("Take(absent) error = %v, want ErrNotFound", err)
	}
}

func (s *suite) testOverwrite(t *testing.T, e idp.Ephemeral) {
	mustSet(t, e, "k", []byte("first"), short)
	mustSet(t, e, "k", []byte("second"), long)
	mustGet(t, e, "k", []byte("second"))
	// The second Set's TTL replaces the first one.
	s.wait(short + margin)
	mustGet(t, e, "k", []byte("second"))
}

func (s *suite) testValuesAreCopied(t *testing.T, e idp.Ephemeral) {
	in := []byte("original")
	mustSet(t, e, "k", in, long)
	copy(in, "XXXXXXXX")
	mustGet(t, e, "k", []byte("original"))

	out, err := e.Get(t.Context(), "k")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	copy(out, "YYYYYYYY")
	mustGet(t, e, "k", []byte("original"))
}

func (s *suite) testExpiry(t *testing.T, e idp.Ephemeral) {
	ctx := t.Context()
	mustSet(t, e, "k", []byte("v"), short)
	mustSet(t, e, "stays", []byte("v"), long)
	s.expire(t, short, "Set key", func() bool {
		_, err := e.Get(ctx, "k")
		return errors.Is(err, idp.ErrNotFound)
	})
	if _, err := e.Take(ctx, "k"); !errors.Is(err, idp.ErrNotFound) {
		t.Errorf("Take after expiry error = %v, want ErrNotFound", err)
	}
	ok, err := e.SetNX(ctx, "k", []byte("new"), long)
	if err != nil || !ok {
		t.Fatalf("SetNX after expiry = %v, %v; want true", ok, err)
	}
	mustGet(t, e, "k", []byte("new"))
	mustGet(t, e, "stays", []byte("v"))
}

func (s *suite) testSetNX(t *testing.T, e idp.Ephemeral) {
	ctx := t.Context()
	steps := []struct {
		name  string
		value string
		want  bool
	}{
		{"first stores", "first", true},
		{"second refused", "second", false},
		{"third refused", "third", false},
	}
	for _, st := range steps {
		ok, err := e.SetNX(ctx, "k", []byte(st.value), long)
		if err != nil {
			t.Fatalf("%s: SetNX: %v", st.name, err)
		}
		if ok != st.want {
			t.Fatalf("%s: SetNX = %v, want %v", st.name, ok, st.want)
		}
	}
	mustGet(t, e, "k", []byte("first"))

	if err := e.Delete(ctx, "k"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	ok, err := e.SetNX(ctx, "k", []byte("again"), long)
	if err != nil || !ok {
		t.Fatalf("SetNX after Delete = %v, %v; want true", ok, err)
	}
	mustGet(t, e, "k", []byte("again"))
}

// race runs fn in concurrency goroutines released at the same moment.
func race(fn func(i int)) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range concurrency {
		wg.Go(func() {
			<-start
			fn(i)
		})
	}
	close(start)
	wg.Wait()
}

func (s *suite) testSetNXConcurrent(t *testing.T, e idp.Ephemeral) {
	ctx := t.Context()
	var wins atomic.Int32
	var winner atomic.Int64
	errs := make(chan error, concurrency)
	race(func(i int) {
		ok, err := e.SetNX(ctx, "k", []byte(strconv.Itoa(i)), long)
		if err != nil {
			errs <- err
			return
		}
		if ok {
			wins.Add(1)
			winner.Store(int64(i))
		}
	})
	close(errs)
	for err := range errs {
		t.Errorf("SetNX: %v", err)
	}
	if n := wins.Load(); n != 1 {
		t.Fatalf("%d of %d concurrent SetNX calls stored, want exactly 1", n, concurrency)
	}
	mustGet(t, e, "k", []byte(strconv.FormatInt(winner.Load(), 10)))
}

func (s *suite) testTake(t *testing.T, e idp.Ephemeral) {
	ctx := t.Context()
	mustSet(t, e, "k", []byte{0, 1, 2}, long)
	got, err := e.Take(ctx, "k")
	if err != nil {
		t.Fatalf("Take: %v", err)
	}
	if !bytes.Equal(got, []byte{0, 1, 2}) {
		t.Fatalf("Take = %s, want %s", show(got), show([]byte{0, 1, 2}))
	}
	if got, err := e.Take(ctx, "k"); !errors.Is(err, idp.ErrNotFound) {
		t.Fatalf("second Take = %s, %v; want ErrNotFound", show(got), err)
	}
	mustNotFound(t, e, "k")
}

func (s *suite) testTakeConcurrent(t *testing.T, e idp.Ephemeral) {
	ctx := t.Context()
	const rounds = 5
	for round := range rounds {
		key := "code" + strconv.Itoa(round)
		mustSet(t, e, key, []byte("secret"), long)
		var wins, misses atomic.Int32
		errs := make(chan error, concurrency)
		race(func(int) {
			v, err := e.Take(ctx, key)
			switch {
			case err == nil && string(v) == "secret":
				wins.Add(1)
			case errors.Is(err, idp.ErrNotFound):
				misses.Add(1)
			case err != nil:
				errs <- err
			default:
				errs <- fmt.Errorf("Take returned %s", show(v))
			}
		})
		close(errs)
		for err := range errs {
			t.Errorf("round %d: %v", round, err)
		}
		if w, m := wins.Load(), misses.Load(); w != 1 || m != concurrency-1 {
			t.Fatalf("round %d: %d takers got the value and %d ErrNotFound, want 1 and %d",
				round, w, m, concurrency-1)
		}
	}
}

func (s *suite) testDelete(t *testing.T, e idp.Ephemeral) {
	ctx := t.Context()
	mustSet(t, e, "a", []byte("1"), long)
	mustSet(t, e, "b", []byte("2"), long)
	mustSet(t, e, "keep", []byte("3"), long)
	mustIncr(t, e, "counter", long)
	mustSAdd(t, e, "set", "m", long)

	tests := []struct {
		name string
		keys []string
	}{
		{"no keys", nil},
		{"absent key", []string{"absent"}},
		{"present and absent keys", []string{"a", "absent", "b"}},
		{"counter and set", []string{"counter", "set"}},
		{"already deleted", []string{"a", "b"}},
	}
	for _, tt := range tests {
		if err := e.Delete(ctx, tt.keys...); err != nil {
			t.Fatalf("%s: Delete(%q): %v", tt.name, tt.keys, err)
		}
	}
	mustNotFound(t, e, "a")
	mustNotFound(t, e, "b")
	mustGet(t, e, "keep", []byte("3"))
	mustMembers(t, e, "set")
	if n := mustIncr(t, e, "counter", long); n != 1 {
		t.Fatalf("Incr after Delete = %d, want 1", n)
	}
}

func (s *suite) testIncr(t *testing.T, e idp.Ephemeral) {
	steps := []struct {
		key  string
		want int64
	}{
		{"a", 1}, {"a", 2}, {"b", 1}, {"a", 3}, {"b", 2},
	}
	for i, st := range steps {
		if n := mustIncr(t, e, st.key, long); n != st.want {
			t.Fatalf("step %d: Incr(%q) = %d, want %d", i, st.key, n, st.want)
		}
	}
}

func (s *suite) testIncrConcurrent(t *testing.T, e idp.Ephemeral) {
	ctx := t.Context()
	const each = 10
	seen := make([]atomic.Bool, concurrency*each+1)
	errs := make(chan error, concurrency)
	race(func(int) {
		for range each {
			n, err := e.Incr(ctx, "k", long)
			if err != nil {
				errs <- err
				return
			}
			if n < 1 || int(n) >= len(seen) || seen[n].Swap(true) {
				errs <- fmt.Errorf("Incr returned %d twice or out of range", n)
				return
			}
		}
	})
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := mustIncr(t, e, "k", long); n != concurrency*each+1 {
		t.Fatalf("Incr after %d concurrent increments = %d, want %d", concurrency*each, n, concurrency*each+1)
	}
}

func (s *suite) testIncrFixedWindow(t *testing.T, e idp.Ephemeral) {
	// Keep incrementing faster than the window: a fixed window still resets
	// once window has passed since the first increment; a sliding one would
	// not.
	const step = short / 6
	if n := mustIncr(t, e, "k", short); n != 1 {
		t.Fatalf("first Incr = %d, want 1", n)
	}
	want := int64(2)
	deadline := time.Now().Add(short + patience)
	for {
		s.wait(step)
		n := mustIncr(t, e, "k", short)
		if n == 1 {
			if want > 2 {
				return // the window reset after counting on
			}
			continue // the real clock stalled past the window; count again
		}
		if n != want {
			t.Fatalf("Incr = %d, want %d (or 1 once the window passed)", n, want)
		}
		want++
		if time.Now().After(deadline) || (s.opts.Advance != nil && want > 12) {
			t.Fatalf("counter still counting (%d) well after its window of %s: the window slides", n, short)
		}
	}
}

func (s *suite) testSets(t *testing.T, e idp.Ephemeral) {
	ctx := t.Context()
	mustMembers(t, e, "absent")
	if err := e.SRem(ctx, "absent", "x"); err != nil {
		t.Fatalf("SRem on an absent set: %v", err)
	}

	for _, m := range []string{"a", "b", "c", "a", "with\x00nul"} {
		mustSAdd(t, e, "s", m, long)
	}
	mustMembers(t, e, "s", "a", "b", "c", "with\x00nul")

	steps := []struct {
		name    string
		remove  []string
		members []string
	}{
		{"one member and an absent one", []string{"b", "x"}, []string{"a", "c", "with\x00nul"}},
		{"no members", nil, []string{"a", "c", "with\x00nul"}},
		{"every member", []string{"a", "c", "with\x00nul"}, nil},
		{"from the emptied set", []string{"a"}, nil},
	}
	for _, st := range steps {
		if err := e.SRem(ctx, "s", st.remove...); err != nil {
			t.Fatalf("%s: SRem(%q): %v", st.name, st.remove, err)
		}
		mustMembers(t, e, "s", st.members...)
	}

	// An emptied set can be filled again.
	mustSAdd(t, e, "s", "d", long)
	mustMembers(t, e, "s", "d")
}

func (s *suite) testSetExpiry(t *testing.T, e idp.Ephemeral) {
	ctx := t.Context()
	mustSAdd(t, e, "s", "a", short)
	mustSAdd(t, e, "s", "b", short)
	s.expire(t, short, "set", func() bool {
		got, err := e.SMembers(ctx, "s")
		return err == nil && len(got) == 0
	})
	mustSAdd(t, e, "s", "c", long)
	mustMembers(t, e, "s", "c")
}

func (s *suite) testSetTTLExtended(t *testing.T, e idp.Ephemeral) {
	mustSAdd(t, e, "s", "a", short)
	mustSAdd(t, e, "s", "b", long)
	s.wait(short + margin)
	mustMembers(t, e, "s", "a", "b")
}

func (s *suite) testSetTTLNotShortened(t *testing.T, e idp.Ephemeral) {
	mustSAdd(t, e, "s", "a", long)
	mustSAdd(t, e, "s", "b", short)
	s.wait(short + margin)
	mustMembers(t, e, "s", "a", "b")
}

func (s *suite) testSetIndexed(t *testing.T, e idp.Ephemeral) {
	ctx := t.Context()
	mustSAdd(t, e, "i1", "earlier", long)
	if err := e.SetIndexed(ctx, "k", []byte("v"), long, "k", "i1", "i2"); err != nil {
		t.Fatalf("SetIndexed: %v", err)
	}
	mustGet(t, e, "k", []byte("v"))
	mustMembers(t, e, "i1", "earlier", "k")
	mustMembers(t, e, "i2", "k")
	// No index at all is a plain Set.
	if err := e.SetIndexed(ctx, "k2", []byte("w"), long, "k2"); err != nil {
		t.Fatalf("SetIndexed without indexes: %v", err)
	}
	mustGet(t, e, "k2", []byte("w"))
	if err := e.SetIndexed(ctx, "k3", []byte("x"), 0, "k3", "i1"); err == nil {
		t.Fatal("SetIndexed with a zero TTL: no error")
	}
	mustMembers(t, e, "i1", "earlier", "k")
}

func (s *suite) testSetIndexedExpiry(t *testing.T, e idp.Ephemeral) {
	ctx := t.Context()
	mustSAdd(t, e, "long", "a", long)
	if err := e.SetIndexed(ctx, "k", []byte("v"), short, "k", "long", "short"); err != nil {
		t.Fatalf("SetIndexed: %v", err)
	}
	s.expire(t, short, "value and its short index", func() bool {
		_, err := e.Get(ctx, "k")
		m, err2 := e.SMembers(ctx, "short")
		return errors.Is(err, idp.ErrNotFound) && err2 == nil && len(m) == 0
	})
	// An index that lives longer is not shortened.
	mustMembers(t, e, "long", "a", "k")
}

func (s *suite) testPing(t *testing.T, e idp.Ephemeral) {
	if err := e.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}
