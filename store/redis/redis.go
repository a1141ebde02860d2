package redis

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/kanton/kundencenter/idp"
)

var _ idp.Ephemeral = (*Store)(nil)

// Store is an idp.Ephemeral on Redis, safe for concurrent use.
type Store struct {
	c      goredis.UniversalClient
	prefix string
	addr   string // names the server in error messages
}

// New returns a store that keeps its keys under prefix on client. The store
// takes over the client: Close closes it.
func New(client goredis.UniversalClient, prefix string) *Store {
	return &Store{c: client, prefix: prefix, addr: describe(client)}
}

// Open connects to the Redis named by rawURL, pings it and returns a store
// that keeps its keys under prefix. The URL is one of
//
//	redis://[user:password@]host:port/db[?option=value…]   a single server
//	rediss://…                                              the same over TLS
//	redis://…/db?master_name=NAME&addr=host:port…           Sentinel (host:port and each addr are sentinels)
//	redis://host:port?addr=host:port…                       Cluster (host:port and each addr are seed nodes)
//
// with go-redis' options such as dial_timeout, read_timeout and
// max_retries. Context deadlines bound every command unless the URL says
// context_timeout_enabled=false. An unreachable server is an error wrapping
// idp.ErrUnavailable that names its address.
//
// Options the URL leaves out fail fast (FastFail): a Redis that is down or
// hangs is noticed in a fraction of a second instead of go-redis' default
// of five dial attempts and five-second reads, so the IdP answers 503 at
// once and its readiness check turns red.
func Open(ctx context.Context, rawURL, prefix string) (*Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// Do not echo the URL: it may hold a password.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("redis URL: %w", err)
	}
	client, addr, err := newClient(u)
	if err != nil {
		return nil, fmt.Errorf("redis URL: %w", err)
	}
	s := &Store{c: client, prefix: prefix, addr: addr}
	if err := s.Ping(ctx); err != nil {
		_ = client.Close()
		return nil, err
	}
	return s, nil
}

// newClient builds the client that u asks for and a description of its
// address for error messages.
func newClient(u *url.URL) (goredis.UniversalClient, string, error) {
	q := u.Query()
	ctxTimeout := true
	if q.Has("context_timeout_enabled") {
		// go-redis' URL parser knows no such option; it is ours.
		v, err := strconv.ParseBool(q.Get("context_timeout_enabled"))
		if err != nil {
			return nil, "", fmt.Errorf("context_timeout_enabled: %w", err)
		}
		ctxTimeout = v
		q.Del("context_timeout_enabled")
	}
	ff := FastFail
	clean := *u
	clean.RawQuery = q.Encode()
	raw := clean.String()

	switch {
	case q.Has("master_name"):
		opt, err := goredis.ParseFailoverURL(raw)
		if err != nil {
			return nil, "", err
		}
		opt.ContextTimeoutEnabled = ctxTimeout
		ff.apply(q, &opt.DialTimeout, &opt.DialerRetries, &opt.DialerRetryTimeout, &opt.ReadTimeout, &opt.WriteTimeout,
			&opt.PoolTimeout, &opt.MaxRetries, &opt.MinRetryBackoff, &opt.MaxRetryBackoff)
		addr := "sentinel " + strings.Join(opt.SentinelAddrs, ",") + " master " + opt.MasterName
		return goredis.NewFailoverClient(opt), addr, nil
	case q.Has("addr"):
		opt, err := goredis.ParseClusterURL(raw)
		if err != nil {
			return nil, "", err
		}
		opt.ContextTimeoutEnabled = ctxTimeout
		ff.apply(q, &opt.DialTimeout, &opt.DialerRetries, &opt.DialerRetryTimeout, &opt.ReadTimeout, &opt.WriteTimeout,
			&opt.PoolTimeout, &opt.MaxRetries, &opt.MinRetryBackoff, &opt.MaxRetryBackoff)
		return goredis.NewClusterClient(opt), "cluster " + strings.Join(opt.Addrs, ","), nil
	default:
		opt, err := goredis.ParseURL(raw)
		if err != nil {
			return nil, "", err
		}
		opt.ContextTimeoutEnabled = ctxTimeout
		ff.apply(q, &opt.DialTimeout, &opt.DialerRetries, &opt.DialerRetryTimeout, &opt.ReadTimeout, &opt.WriteTimeout,
			&opt.PoolTimeout, &opt.MaxRetries, &opt.MinRetryBackoff, &opt.MaxRetryBackoff)
		return goredis.NewClient(opt), opt.Addr, nil
	}
}

// Timeouts are go-redis settings that make a Redis outage show at once.
type Timeouts struct {
	Dial         time.Duration // per connection attempt (go-redis default 5 s)
	DialAttempts int           // connection attempts per new connection (default 5)
	DialBackoff  time.Duration // pause between them (default 100 ms)
	Read, Write  time.Duration // per socket read / write (default 5 s)
	Pool         time.Duration // wait for a free connection (default read + 1 s)
	Retries      int           // command retries after a network error (default 3; -1 none)
	MinBackoff   time.Duration // between command retries (default 8 ms)
	MaxBackoff   time.Duration // (default 512 ms)
}

// FastFail is what Open uses for every option its URL does not set: a
// refused connection fails a command after two dial attempts and one
// retry (a few milliseconds), a server that accepts but does not answer
// after the read timeout plus one retry (about 0.6 s).
var FastFail = Timeouts{Dial: 250 * time.Millisecond, DialAttempts: 2, DialBackoff: 20 * time.Millisecond,
	Read: 250 * time.Millisecond, Write: 250 * time.Millisecond, Pool: 300 * time.Millisecond,
	Retries: 1, MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}

// apply sets each option the query q does not name.
func (t Timeouts) apply(q url.Values, dial *time.Duration, dialAttempts *int, dialBackoff, read, write, pool *time.Duration,
	retries *int, minBackoff, maxBackoff *time.Duration) {
	set := func(name string, dst *time.Duration, v time.Duration) {
		if !q.Has(name) {
			*dst = v
		}
	}
	set("dial_timeout", dial, t.Dial)
	set("dialer_retry_timeout", dialBackoff, t.DialBackoff)
	set("read_timeout", read, t.Read)
	set("write_timeout", write, t.Write)
	set("pool_timeout", pool, t.Pool)
	set("min_retry_backoff", minBackoff, t.MinBackoff)
	set("max_retry_backoff", maxBackoff, t.MaxBackoff)
	if !q.Has("dialer_retries") {
		*dialAttempts = t.DialAttempts
	}
	if !q.Has("max_retries") {
		*retries = t.Retries
	}
}

// describe names the server of a client that New was given.
func describe(c goredis.UniversalClient) string {
	switch c := c.(type) {
	case *goredis.Client:
		return c.Options().Addr
	case *goredis.ClusterClient:
		return "cluster " + strings.Join(c.Options().Addrs, ",")
	default:
		return fmt.Sprintf("%T", c)
	}
}

// Close closes the client.
func (s *Store) Close() error {
	if err := s.c.Close(); err != nil {
		return fmt.Errorf("close redis %s: %w", s.addr, err)
	}
	return nil
}

func (s *Store) key(k string) string { return s.prefix + k }

// fail translates a go-redis error of operation op.
func (s *Store) fail(op string, err error) error {
	switch {
	case errors.Is(err, goredis.Nil):
		return fmt.Errorf("redis %s: %w", op, idp.ErrNotFound)
	case unavailable(err):
		return fmt.Errorf("redis %s: %s: %w: %w", s.addr, op, idp.ErrUnavailable, err)
	default:
		return fmt.Errorf("redis %s: %s: %w", s.addr, op, err)
	}
}

// unavailable reports whether err means that Redis cannot serve right now,
// as opposed to a reply rejecting the command or a caller giving up.
func unavailable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	var rerr goredis.Error
	if errors.As(err, &rerr) {
		for _, p := range []string{"LOADING", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "READONLY", "BUSY"} {
			if goredis.HasErrorPrefix(err, p) {
				return true
			}
		}
		return false
	}
	// Dial and network errors, timeouts, a closed client or an exhausted pool.
	return true
}

func checkTTL(op string, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("redis %s: ttl %s: must be positive", op, ttl)
	}
	return nil
}

// millis is d in whole milliseconds, at least one.
func millis(d time.Duration) int64 { return max(d.Milliseconds(), 1) }

// Set stores value under key for ttl (SET PX).
func (s *Store) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := checkTTL("set", ttl); err != nil {
		return err
	}
	if err := s.c.Set(ctx, s.key(key), value, ttl).Err(); err != nil {
		return s.fail("set", err)
	}
	return nil
}

// SetNX stores value only if key is absent and reports whether it did
// (SET NX PX).
func (s *Store) SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if err := checkTTL("setnx", ttl); err != nil {
		return false, err
	}
	ok, err := s.c.SetNX(ctx, s.key(key), value, ttl).Result()
	if err != nil {
		return false, s.fail("setnx", err)
	}
	return ok, nil
}

// Get returns the value under key or idp.ErrNotFound.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	v, err := s.c.Get(ctx, s.key(key)).Bytes()
	if err != nil {
		return nil, s.fail("get", err)
	}
	return v, nil
}

// Take returns the value under key and deletes the key in one command
// (GETDEL), or idp.ErrNotFound.
func (s *Store) Take(ctx context.Context, key string) ([]byte, error) {
	v, err := s.c.GetDel(ctx, s.key(key)).Bytes()
	if err != nil {
		return nil, s.fail("take", err)
	}
	return v, nil
}

// TakeWithSets takes the value under key (nil when absent) and the
// members of each set in sets, deleting all of them, in one MULTI (GETDEL,
// then SMEMBERS and DEL per set): one round trip.
func (s *Store) TakeWithSets(ctx context.Context, key string, sets ...string) ([]byte, [][]string, error) {
	var (
		v       *goredis.StringCmd
		members = make([]*goredis.StringSliceCmd, len(sets))
	)
	_, err := s.c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		v = p.GetDel(ctx, s.key(key))
		for i, set := range sets {
			members[i] = p.SMembers(ctx, s.key(set))
			p.Del(ctx, s.key(set))
		}
		return nil
	})
	if err != nil && !errors.Is(err, goredis.Nil) {
		return nil, nil, s.fail("takewithsets", err)
	}
	value, err := v.Bytes()
	if errors.Is(err, goredis.Nil) {
		value = nil
	} else if err != nil {
		return nil, nil, s.fail("takewithsets", err)
	}
	out := make([][]string, len(sets))
	for i, m := range members {
		if out[i], err = m.Result(); err != nil {
			return nil, nil, s.fail("takewithsets", err)
		}
	}
	return value, out, nil
}

// Delete removes keys, one DEL per key in one pipeline so that no command
// crosses Cluster slots; absent keys are no error.
func (s *Store) Delete(ctx context.Context, keys ...string) error {
	var err error
	switch len(keys) {
	case 0:
		return nil
	case 1:
		err = s.c.Del(ctx, s.key(keys[0])).Err()
	default:
		_, err = s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for _, k := range keys {
				p.Del(ctx, s.key(k))
			}
			return nil
		})
	}
	if err != nil {
		return s.fail("delete", err)
	}
	return nil
}

// Incr increments the counter under key and returns the new value. INCR and
// PEXPIRE NX run in one MULTI, so the window is set exactly once, by the
// first increment, and a counter is never left without expiry.
func (s *Store) Incr(ctx context.Context, key string, window time.Duration) (int64, error) {
	if err := checkTTL("incr", window); err != nil {
		return 0, err
	}
	k := s.key(key)
	var n *goredis.IntCmd
	_, err := s.c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		n = p.Incr(ctx, k)
		p.Do(ctx, "pexpire", k, millis(window), "nx")
		return nil
	})
	if err != nil {
		return 0, s.fail("incr", err)
	}
	return n.Val(), nil
}

// IncrAll is Incr on every key (keys[i] with windows[i]) in one MULTI,
// one round trip; each counter's window is set by its first increment.
func (s *Store) IncrAll(ctx context.Context, keys []string, windows []time.Duration) ([]int64, error) {
	if len(keys) != len(windows) {
		return nil, fmt.Errorf("redis incrall: %d keys but %d windows", len(keys), len(windows))
	}
	for _, w := range windows {
		if err := checkTTL("incrall", w); err != nil {
			return nil, err
		}
	}
	ns := make([]*goredis.IntCmd, len(keys))
	_, err := s.c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		for i, key := range keys {
			k := s.key(key)
			ns[i] = p.Incr(ctx, k)
			p.Do(ctx, "pexpire", k, millis(windows[i]), "nx")
		}
		return nil
	})
	if err != nil {
		return nil, s.fail("incrall", err)
	}
	out := make([]int64, len(ns))
	for i, n := range ns {
		out[i] = n.Val()
	}
	return out, nil
}

// SAdd adds member to the set under key and extends the set's expiry to at
// least ttl from now: SADD, PEXPIRE NX (a new set) and PEXPIRE GT (an
// existing one) in one MULTI.
func (s *Store) SAdd(ctx context.Context, key, member string, ttl time.Duration) error {
	if err := checkTTL("sadd", ttl); err != nil {
		return err
	}
	_, err := s.c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		queueSAdd(ctx, p, s.key(key), member, millis(ttl))
		return nil
	})
	if err != nil {
		return s.fail("sadd", err)
	}
	return nil
}

// queueSAdd queues SADD and the expiry extension of the set k: PEXPIRE NX
// sets it on a new set, PEXPIRE GT only lengthens it.
func queueSAdd(ctx context.Context, p goredis.Pipeliner, k, member string, ms int64) {
	p.SAdd(ctx, k, member)
	p.Do(ctx, "pexpire", k, ms, "nx")
	p.Do(ctx, "pexpire", k, ms, "gt")
}

// SetIndexed stores value under key and adds member to the sets under
// indexes in one MULTI/EXEC transaction (SET PX, then SADD and PEXPIRE NX/GT
// per set, as SAdd does).
func (s *Store) SetIndexed(ctx context.Context, key string, value []byte, ttl time.Duration, member string, indexes ...string) error {
	if err := checkTTL("setindexed", ttl); err != nil {
		return err
	}
	_, err := s.c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.Set(ctx, s.key(key), value, ttl)
		for _, ix := range indexes {
			queueSAdd(ctx, p, s.key(ix), member, millis(ttl))
		}
		return nil
	})
	if err != nil {
		return s.fail("setindexed", err)
	}
	return nil
}

// SMembers returns the members of the set under key; none for an absent set.
func (s *Store) SMembers(ctx context.Context, key string) ([]string, error) {
	m, err := s.c.SMembers(ctx, s.key(key)).Result()
	if err != nil {
		return nil, s.fail("smembers", err)
	}
	return m, nil
}

// SRem removes members from the set under key; Redis deletes an emptied set.
func (s *Store) SRem(ctx context.Context, key string, members ...string) error {
	if len(members) == 0 {
		return nil
	}
	args := make([]any, len(members))
	for i, m := range members {
		args[i] = m
	}
	if err := s.c.SRem(ctx, s.key(key), args...).Err(); err != nil {
		return s.fail("srem", err)
	}
	return nil
}

// Ping reports whether Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.c.Ping(ctx).Err(); err != nil {
		return s.fail("ping", err)
	}
	return nil
}
