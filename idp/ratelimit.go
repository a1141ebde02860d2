package idp

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Limiter counts requests in fixed windows on an Ephemeral store (ASVS 5.0
// 6.1.1 and 6.3.1; NIST SP 800-63B-4 §3.2.2). It holds no state of its own,
// so every instance sharing the store shares the counts. A store error is
// returned, never swallowed: the caller decides to fail closed.
//
// Buckets become store keys (Prefix + bucket) that live for one window; pass
// opaque values (an account ID, a blind-index prefix, an IP address) rather
// than e-mail addresses or names.
type Limiter struct {
	Store  Counters
	Prefix string // key prefix, e.g. "rl:"
}

// Counters are the fixed-window counters a Limiter keeps (an Ephemeral
// store has them).
type Counters interface {
	Incr(ctx context.Context, key string, window time.Duration) (int64, error)
	IncrAll(ctx context.Context, keys []string, windows []time.Duration) ([]int64, error)
	Delete(ctx context.Context, keys ...string) error
}

// Rule is one limit: at most Limit requests per Window in the bucket named
// Name plus the request's key (e.g. per IP address, per account).
type Rule struct {
	Name   string
	Limit  int64
	Window time.Duration
}

// Allow counts one request in bucket and reports whether the bucket is
// still within limit requests in the current window of the given length.
// The window starts with the bucket's first request (fixed window). A limit
// or window that is not positive is a configuration error.
func (l Limiter) Allow(ctx context.Context, bucket string, limit int64, window time.Duration) (bool, error) {
	if limit <= 0 || window <= 0 {
		return false, fmt.Errorf("rate limit: limit %d and window %s must be positive", limit, window)
	}
	n, err := l.Store.Incr(ctx, l.Prefix+bucket, window)
	if err != nil {
		return false, fmt.Errorf("rate limit: %w", err)
	}
	return n <= limit, nil
}

// AllowAll counts one request against every rule, rules[i] in the bucket
// Name + ":" + keys[i], and reports whether all of them are within their
// limits. Every bucket is counted even when an earlier one is already over,
// so each count stays true. An empty key is a bucket like any other (shared
// by every request without that key). All buckets are counted in one round
// trip (Ephemeral.IncrAll); a store error is returned.
func (l Limiter) AllowAll(ctx context.Context, rules []Rule, keys []string) (bool, error) {
	if len(rules) != len(keys) {
		return false, fmt.Errorf("rate limit: %d rules but %d keys", len(rules), len(keys))
	}
	if len(rules) == 0 {
		return false, errors.New("rate limit: no rules")
	}
	buckets := make([]string, len(rules))
	windows := make([]time.Duration, len(rules))
	for i, r := range rules {
		if r.Limit <= 0 || r.Window <= 0 {
			return false, fmt.Errorf("rate limit: rule %q: limit %d and window %s must be positive", r.Name, r.Limit, r.Window)
		}
		buckets[i], windows[i] = l.Prefix+r.Name+":"+keys[i], r.Window
	}
	// Every bucket in one round trip.
	counts, err := l.Store.IncrAll(ctx, buckets, windows)
	if err != nil {
		return false, fmt.Errorf("rate limit: %w", err)
	}
	all := true
	for i, r := range rules {
		all = all && counts[i] <= r.Limit
	}
	return all, nil
}

// Reset forgets the count of one bucket, e.g. the failed logins of an
// account after a successful one (NIST SP 800-63B-4 §3.2.2: a success
// SHOULD reset the count). For a Rule, the bucket is Name + ":" + key.
func (l Limiter) Reset(ctx context.Context, bucket string) error {
	if err := l.Store.Delete(ctx, l.Prefix+bucket); err != nil {
		return fmt.Errorf("rate limit reset: %w", err)
	}
	return nil
}
