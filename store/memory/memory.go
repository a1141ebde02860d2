package memory

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"strconv"
	"sync"
	"time"

	"github.com/kanton/kundencenter/idp"
)

var _ idp.Ephemeral = (*Store)(nil)

// shardCount is the number of independently locked maps; a power of two so
// that the shard is picked with a mask.
const shardCount = 64

// sweepInterval is how often the janitor removes expired keys.
const sweepInterval = time.Minute

// errWrongType mirrors Redis' WRONGTYPE: a key holds another kind of value.
var errWrongType = errors.New("key holds a value of another type")

// kind tells which of an entry's fields is in use.
type kind uint8

const (
	kindValue kind = iota
	kindCounter
	kindSet
)

// entry is one key's state; exactly one of value, n and set is in use.
type entry struct {
	kind    kind
	expires int64 // Unix nanoseconds; the entry is gone once now >= expires
	value   []byte
	n       int64
	set     map[string]struct{}
}

// shard is one independently locked part of the key space, padded to its
// own cache line so that cores locking neighbouring shards do not contend.
type shard struct {
	mu sync.Mutex
	m  map[string]*entry
	_  [64 - 16]byte
}

// Store is an in-process idp.Ephemeral, safe for concurrent use.
type Store struct {
	now    func() time.Time
	seed   maphash.Seed
	shards [shardCount]shard
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
}

// New returns an empty store that reads the time from now (nil means
// time.Now) and starts its janitor; call Close to stop it.
func New(now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	s := &Store{
		now:  now,
		seed: maphash.MakeSeed(),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	for i := range s.shards {
		s.shards[i].m = make(map[string]*entry)
	}
	go s.janitor()
	return s
}

// Close stops the janitor. The store stays usable (expiry is still checked
// on read); Close may be called more than once.
func (s *Store) Close() error {
	s.once.Do(func() {
		close(s.stop)
		<-s.done
	})
	return nil
}

func (s *Store) janitor() {
	defer close(s.done)
	t := time.NewTicker(sweepInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.sweep()
		}
	}
}

// sweep removes every expired key, one shard at a time.
func (s *Store) sweep() {
	for i := range s.shards {
		now := s.now().UnixNano()
		sh := &s.shards[i]
		sh.mu.Lock()
		for k, e := range sh.m {
			if now >= e.expires {
				delete(sh.m, k)
			}
		}
		sh.mu.Unlock()
	}
}

func (s *Store) shard(key string) *shard {
	return &s.shards[maphash.String(s.seed, key)&(shardCount-1)]
}

// live returns the unexpired entry under key, removing an expired one.
// The shard's lock must be held.
func (sh *shard) live(key string, now int64) *entry {
	e := sh.m[key]
	if e == nil {
		return nil
	}
	if now >= e.expires {
		delete(sh.m, key)
		return nil
	}
	return e
}

func checkTTL(ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("ttl %s: must be positive", ttl)
	}
	return nil
}

// Set stores a copy of value under key for ttl, replacing whatever was there.
func (s *Store) Set(_ context.Context, key string, value []byte, ttl time.Duration) error {
	if err := checkTTL(ttl); err != nil {
		return fmt.Errorf("set: %w", err)
	}
	e := &entry{kind: kindValue, value: clone(value), expires: s.now().Add(ttl).UnixNano()}
	sh := s.shard(key)
	sh.mu.Lock()
	sh.m[key] = e
	sh.mu.Unlock()
	return nil
}

// SetNX stores a copy of value only if key is absent; it reports whether it did.
func (s *Store) SetNX(_ context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if err := checkTTL(ttl); err != nil {
		return false, fmt.Errorf("setnx: %w", err)
	}
	v := clone(value)
	now := s.now()
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.live(key, now.UnixNano()) != nil {
		return false, nil
	}
	sh.m[key] = &entry{kind: kindValue, value: v, expires: now.Add(ttl).UnixNano()}
	return true, nil
}

// Get returns a copy of the value under key or idp.ErrNotFound. A counter
// reads as its decimal value, as in Redis.
func (s *Store) Get(_ context.Context, key string) ([]byte, error) {
	now := s.now().UnixNano()
	sh := s.shard(key)
	sh.mu.Lock()
	e := sh.live(key, now)
	if e == nil {
		sh.mu.Unlock()
		return nil, fmt.Errorf("get: %w", idp.ErrNotFound)
	}
	var v []byte
	var err error
	switch e.kind {
	case kindValue:
		v = clone(e.value)
	case kindCounter:
		v = strconv.AppendInt(nil, e.n, 10)
	default:
		err = errWrongType
	}
	sh.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	return v, nil
}

// Take returns the value under key and deletes the key in one step, or
// idp.ErrNotFound.
func (s *Store) Take(_ context.Context, key string) ([]byte, error) {
	now := s.now().UnixNano()
	sh := s.shard(key)
	sh.mu.Lock()
	e := sh.live(key, now)
	if e == nil {
		sh.mu.Unlock()
		return nil, fmt.Errorf("take: %w", idp.ErrNotFound)
	}
	var v []byte
	switch e.kind {
	case kindValue:
		v = e.value // the entry is gone, so the slice is the caller's now
	case kindCounter:
		v = strconv.AppendInt(nil, e.n, 10)
	default:
		sh.mu.Unlock()
		return nil, fmt.Errorf("take: %w", errWrongType)
	}
	delete(sh.m, key)
	sh.mu.Unlock()
	return v, nil
}

// TakeWithSets takes the value under key (nil when absent) and the
// members of each set in sets, deleting all of them. Each key is taken
// under its shard's lock, one at a time: of two concurrent calls exactly
// one gets the value and each member is returned once.
func (s *Store) TakeWithSets(ctx context.Context, key string, sets ...string) ([]byte, [][]string, error) {
	value, err := s.Take(ctx, key)
	if errors.Is(err, idp.ErrNotFound) {
		value, err = nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("takewithsets: %w", err)
	}
	out := make([][]string, len(sets))
	now := s.now().UnixNano()
	for i, set := range sets {
		sh := s.shard(set)
		sh.mu.Lock()
		e := sh.live(set, now)
		if e != nil && e.kind != kindSet {
			sh.mu.Unlock()
			return nil, nil, fmt.Errorf("takewithsets: %w", errWrongType)
		}
		if e != nil {
			for m := range e.set {
				out[i] = append(out[i], m)
			}
			delete(sh.m, set)
		}
		sh.mu.Unlock()
	}
	return value, out, nil
}

// Delete removes keys; absent keys are no error.
func (s *Store) Delete(_ context.Context, keys ...string) error {
	for _, k := range keys {
		sh := s.shard(k)
		sh.mu.Lock()
		delete(sh.m, k)
		sh.mu.Unlock()
	}
	return nil
}

// Incr increments the counter under key and returns the new value; a new
// counter expires window after this first increment, later increments keep
// that expiry (fixed window).
func (s *Store) Incr(_ context.Context, key string, window time.Duration) (int64, error) {
	if err := checkTTL(window); err != nil {
		return 0, fmt.Errorf("incr: %w", err)
	}
	now := s.now()
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := sh.live(key, now.UnixNano())
	if e == nil {
		sh.m[key] = &entry{kind: kindCounter, n: 1, expires: now.Add(window).UnixNano()}
		return 1, nil
	}
	switch e.kind {
	case kindCounter:
	case kindValue:
		// A value set by Set that holds an integer counts on, as in Redis.
		n, err := strconv.ParseInt(string(e.value), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("incr: value is not an integer")
		}
		e.kind, e.n, e.value = kindCounter, n, nil
	default:
		return 0, fmt.Errorf("incr: %w", errWrongType)
	}
	e.n++
	return e.n, nil
}

// IncrAll is Incr on every key (keys[i] with windows[i]).
func (s *Store) IncrAll(ctx context.Context, keys []string, windows []time.Duration) ([]int64, error) {
	if len(keys) != len(windows) {
		return nil, fmt.Errorf("incrall: %d keys but %d windows", len(keys), len(windows))
	}
	for _, w := range windows {
		if err := checkTTL(w); err != nil {
			return nil, fmt.Errorf("incrall: %w", err)
		}
	}
	out := make([]int64, len(keys))
	for i, k := range keys {
		n, err := s.Incr(ctx, k, windows[i])
		if err != nil {
			return nil, fmt.Errorf("incrall: %w", err)
		}
		out[i] = n
	}
	return out, nil
}

// SAdd adds member to the set under key and extends the set's expiry to at
// least ttl from now.
func (s *Store) SAdd(_ context.Context, key, member string, ttl time.Duration) error {
	if err := checkTTL(ttl); err != nil {
		return fmt.Errorf("sadd: %w", err)
	}
	now := s.now()
	exp := now.Add(ttl).UnixNano()
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := sh.live(key, now.UnixNano())
	if e == nil {
		sh.m[key] = &entry{kind: kindSet, set: map[string]struct{}{member: {}}, expires: exp}
		return nil
	}
	if e.kind != kindSet {
		return fmt.Errorf("sadd: %w", errWrongType)
	}
	e.set[member] = struct{}{}
	e.expires = max(e.expires, exp)
	return nil
}

// SetIndexed stores a copy of value under key and adds member to the sets
// under indexes. Nothing is written when one of them holds a value that is
// not a set.
func (s *Store) SetIndexed(_ context.Context, key string, value []byte, ttl time.Duration, member string, indexes ...string) error {
	if err := checkTTL(ttl); err != nil {
		return fmt.Errorf("setindexed: %w", err)
	}
	now := s.now()
	exp := now.Add(ttl).UnixNano()
	// One shard lock at a time (never two: no lock order to keep); a
	// concurrent reader may see the value before its index entries, as with
	// separate calls, but a wrong type is found before anything is written.
	for _, ix := range indexes {
		sh := s.shard(ix)
		sh.mu.Lock()
		e := sh.live(ix, now.UnixNano())
		sh.mu.Unlock()
		if e != nil && e.kind != kindSet {
			return fmt.Errorf("setindexed: %w", errWrongType)
		}
	}
	sh := s.shard(key)
	sh.mu.Lock()
	sh.m[key] = &entry{kind: kindValue, value: clone(value), expires: exp}
	sh.mu.Unlock()
	for _, ix := range indexes {
		if err := s.SAdd(context.Background(), ix, member, ttl); err != nil {
			return fmt.Errorf("setindexed: %w", err)
		}
	}
	return nil
}

// SMembers returns the members of the set under key in no particular order;
// none for an absent set.
func (s *Store) SMembers(_ context.Context, key string) ([]string, error) {
	now := s.now().UnixNano()
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := sh.live(key, now)
	if e == nil {
		return nil, nil
	}
	if e.kind != kindSet {
		return nil, fmt.Errorf("smembers: %w", errWrongType)
	}
	out := make([]string, 0, len(e.set))
	for m := range e.set {
		out = append(out, m)
	}
	return out, nil
}

// SRem removes members from the set under key; an emptied set is deleted.
func (s *Store) SRem(_ context.Context, key string, members ...string) error {
	now := s.now().UnixNano()
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := sh.live(key, now)
	if e == nil {
		return nil
	}
	if e.kind != kindSet {
		return fmt.Errorf("srem: %w", errWrongType)
	}
	for _, m := range members {
		delete(e.set, m)
	}
	if len(e.set) == 0 {
		delete(sh.m, key)
	}
	return nil
}

// Ping always succeeds: the store lives in this process.
func (s *Store) Ping(context.Context) error { return nil }

// clone copies b so that neither the caller nor the store can change the
// other's bytes later; it keeps a non-nil empty slice non-nil.
func clone(b []byte) []byte {
	return append(make([]byte, 0, len(b)), b...)
}
