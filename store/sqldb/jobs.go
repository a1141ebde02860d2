package sqldb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"
)

// Job states in kc_jobs.
const (
	jobPending = "pending" // waiting for run_at (also while leased: run_at is the lease's end)
	jobDone    = "done"
	jobFailed  = "failed" // gave up; kept for inspection
)

// Enqueue records a durable job in the transaction: it is worked after
// run_at once the transaction commits. A job with the same kind and key as
// an earlier one (pending, done or failed) is not added again; an empty key
// makes the job unique.
func (tx *Tx) Enqueue(ctx context.Context, kind, key string, payload []byte, runAt time.Time) error {
	return enqueue(ctx, tx.querier(), tx.db, kind, key, payload, runAt)
}

// Enqueue is Tx.Enqueue outside a transaction.
func (db *DB) Enqueue(ctx context.Context, kind, key string, payload []byte, runAt time.Time) error {
	return enqueue(ctx, db.querier(), db, kind, key, payload, runAt)
}

func enqueue(ctx context.Context, qr querier, db *DB, kind, key string, payload []byte, runAt time.Time) error {
	if kind == "" {
		return errors.New("sqldb: enqueue: empty kind")
	}
	if key == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		key = "random:" + hex.EncodeToString(b[:])
	}
	if payload == nil {
		payload = []byte{}
	}
	if runAt.IsZero() {
		return errors.New("sqldb: enqueue: zero run_at")
	}
	_, err := db.exec(ctx, qr, `INSERT INTO kc_jobs (kind, key, payload, state, run_at, attempts, last_error)
		VALUES (?, ?, ?, ?, ?, 0, '') ON CONFLICT (kind, key) DO NOTHING`,
		[]any{kind, key, payload, jobPending, runAt})
	if err != nil {
		return fmt.Errorf("sqldb: enqueue %s: %w", kind, err)
	}
	return nil
}

// Handler works one job. An error makes the job run again later (with
// exponential backoff) unless it is wrapped with Permanent or the job has
// used its attempts.
type Handler func(ctx context.Context, payload []byte) error

type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// Permanent marks a handler's error as final: the job is not retried.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// Worker defaults.
const (
	DefaultPoll        = time.Second
	DefaultLease       = 5 * time.Minute
	DefaultMaxAttempts = 10
	DefaultRetain      = 7 * 24 * time.Hour
	maxBackoff         = time.Hour
)

// Worker works the jobs of kc_jobs whose kind it has a handler for. Any
// number of workers (in any number of processes) may run on one database:
// a job is claimed in a transaction (FOR UPDATE SKIP LOCKED on PostgreSQL,
// the write lock on SQLite) and leased, so no two workers run it at once.
type Worker struct {
	DB       *DB
	Handlers map[string]Handler
	Now      func() time.Time // default time.Now
	Log      *slog.Logger     // default slog.Default()
	Poll     time.Duration    // pause between empty rounds, default DefaultPoll

	// Lease is how long a claimed job is invisible to other workers; the
	// handler's context ends with it. Default DefaultLease.
	Lease time.Duration
	// MaxAttempts is how often a job is tried before it is given up (with
	// an ERROR log); default DefaultMaxAttempts.
	MaxAttempts int
	// Backoff is the pause after the n-th failed attempt; default 1s·2^(n-1),
	// at most an hour.
	Backoff func(attempt int) time.Duration
	// Retain is how long done jobs are kept (their key keeps a repeated
	// Enqueue a no-op); default DefaultRetain. Failed jobs are kept.
	Retain time.Duration
}

// Run works due jobs until ctx ends, pausing Poll between empty rounds.
// It returns nil when ctx ends.
func (w *Worker) Run(ctx context.Context) error {
	for {
		n, err := w.RunDue(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			w.log().ErrorContext(ctx, "job worker", "err", err)
		}
		if n > 0 && err == nil {
			continue
		}
		poll := w.Poll
		if poll <= 0 {
			poll = DefaultPoll
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// RunDue works every job that is due now (by Now) once and returns how many
// it worked. A failed job is due again only after its backoff, so RunDue
// ends; with a fake Now, tests advance the clock and call it again.
func (w *Worker) RunDue(ctx context.Context) (int, error) {
	if err := w.cleanup(ctx); err != nil {
		return 0, err
	}
	cutoff := w.now() // jobs retried in this round are due after it
	n := 0
	for ctx.Err() == nil {
		j, ok, err := w.claim(ctx, cutoff)
		if err != nil || !ok {
			return n, err
		}
		n++
		if err := w.work(ctx, j); err != nil {
			return n, err
		}
	}
	return n, nil
}

type job struct {
	id       int64
	kind     string
	key      string
	payload  []byte
	attempts int
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *Worker) log() *slog.Logger {
	if w.Log != nil {
		return w.Log
	}
	return slog.Default()
}

func (w *Worker) lease() time.Duration {
	if w.Lease > 0 {
		return w.Lease
	}
	return DefaultLease
}

// claim takes the next due job and leases it: run_at moves to the lease's
// end and attempts counts up, in one transaction.
func (w *Worker) claim(ctx context.Context, cutoff time.Time) (job, bool, error) {
	kinds := make([]string, 0, len(w.Handlers))
	for k := range w.Handlers {
		kinds = append(kinds, k)
	}
	if len(kinds) == 0 {
		return job{}, false, errors.New("sqldb: worker has no handlers")
	}
	sort.Strings(kinds) // one query text, one cache entry
	args := []any{jobPending, cutoff}
	for _, k := range kinds {
		args = append(args, k)
	}
	q := `SELECT id, kind, key, payload, attempts FROM kc_jobs
		WHERE state = ? AND run_at <= ? AND kind IN (?` + strings.Repeat(", ?", len(kinds)-1) + `)
		ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED`
	var j job
	found := false
	err := w.DB.Tx(ctx, func(tx *Tx) error {
		err := tx.QueryRow(ctx, q, args...).Scan(&j.id, &j.kind, &j.key, &j.payload, &j.attempts)
		if errors.Is(err, ErrNotFound) {
			found = false
			return nil
		}
		if err != nil {
			return err
		}
		j.attempts++
		found = true
		_, err = tx.Exec(ctx, `UPDATE kc_jobs SET run_at = ?, attempts = ? WHERE id = ?`,
			w.now().Add(w.lease()), j.attempts, j.id)
		return err
	})
	if err != nil {
		return job{}, false, fmt.Errorf("sqldb: claim job: %w", err)
	}
	return j, found, nil
}

// work runs the handler and records the outcome. The update is conditional
// on the attempt, so a worker whose lease ran out and whose job was claimed
// again does not overwrite the newer outcome.
func (w *Worker) work(ctx context.Context, j job) error {
	hctx, cancel := context.WithTimeout(ctx, w.lease())
	herr := runHandler(hctx, w.Handlers[j.kind], j.payload)
	cancel()
	if ctx.Err() != nil && herr != nil {
		// Shutting down: the lease runs out and the job is tried again.
		return nil
	}
	now := w.now()
	if herr == nil {
		_, err := w.DB.Exec(ctx, `UPDATE kc_jobs SET state = ?, finished_at = ?, last_error = '' WHERE id = ? AND attempts = ?`,
			jobDone, now, j.id, j.attempts)
		if err != nil {
			return fmt.Errorf("sqldb: job %s %s done: %w", j.kind, j.key, err)
		}
		return nil
	}
	maxAttempts := w.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = DefaultMaxAttempts
	}
	var perm permanentError
	// An error that says it is temporary (keyring.ErrUnknownKey during a key
	// rotation) is retried even when marked permanent or out of attempts.
	var tmp interface{ Temporary() bool }
	temporary := errors.As(herr, &tmp) && tmp.Temporary()
	if !temporary && (errors.As(herr, &perm) || j.attempts >= maxAttempts) {
		w.log().ErrorContext(ctx, "job failed, giving up", "kind", j.kind, "key", j.key,
			"attempts", j.attempts, "err", herr)
		_, err := w.DB.Exec(ctx, `UPDATE kc_jobs SET state = ?, finished_at = ?, last_error = ? WHERE id = ? AND attempts = ?`,
			jobFailed, now, herr.Error(), j.id, j.attempts)
		if err != nil {
			return fmt.Errorf("sqldb: job %s %s failed: %w", j.kind, j.key, err)
		}
		return nil
	}
	backoff := w.backoff(j.attempts)
	w.log().WarnContext(ctx, "job failed, will retry", "kind", j.kind, "key", j.key,
		"attempts", j.attempts, "retry_in", backoff, "err", herr)
	_, err := w.DB.Exec(ctx, `UPDATE kc_jobs SET run_at = ?, last_error = ? WHERE id = ? AND attempts = ?`,
		now.Add(backoff), herr.Error(), j.id, j.attempts)
	if err != nil {
		return fmt.Errorf("sqldb: job %s %s retry: %w", j.kind, j.key, err)
	}
	return nil
}

func runHandler(ctx context.Context, h Handler, payload []byte) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panicked: %v", p)
		}
	}()
	return h(ctx, payload)
}

func (w *Worker) backoff(attempt int) time.Duration {
	var d time.Duration
	if w.Backoff != nil {
		d = w.Backoff(attempt)
	} else {
		d = time.Second << min(attempt-1, 12)
	}
	if d > maxBackoff && w.Backoff == nil {
		d = maxBackoff
	}
	if d <= 0 {
		d = time.Millisecond // due again only after the clock moves
	}
	return d
}

// cleanup deletes done jobs older than Retain.
func (w *Worker) cleanup(ctx context.Context) error {
	retain := w.Retain
	if retain <= 0 {
		retain = DefaultRetain
	}
	_, err := w.DB.Exec(ctx, `DELETE FROM kc_jobs WHERE state = ? AND finished_at < ?`, jobDone, w.now().Add(-retain))
	if err != nil {
		return fmt.Errorf("sqldb: clean up jobs: %w", err)
	}
	return nil
}
