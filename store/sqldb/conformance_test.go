package sqldb_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kanton/kundencenter/store/sqldb"
)

// testMigrations is a schema written the way stores write theirs: the same
// file names per dialect, DDL differing only in types.
var testMigrations = fstest.MapFS{
	"postgres/0001_things.sql": {Data: []byte(`
CREATE TABLE things (
    id      text PRIMARY KEY,
    n       bigint NOT NULL DEFAULT 0,
    flag    boolean NOT NULL DEFAULT false,
    data    bytea,
    at      timestamptz,
    note    text NOT NULL DEFAULT ''
);
CREATE TABLE parts (
    id       text PRIMARY KEY,
    thing_id text NOT NULL REFERENCES things (id)
);`)},
	"postgres/0002_legacy.sql": {Data: []byte(`
CREATE TABLE legacy (id text PRIMARY KEY, at timestamptz, tags text[] NOT NULL, doc jsonb NOT NULL DEFAULT '{}');`)},
	"sqlite/0002_legacy.sql": {Data: []byte(`
CREATE TABLE legacy (id TEXT PRIMARY KEY, at INTEGER, tags TEXT NOT NULL, doc TEXT NOT NULL DEFAULT '{}') STRICT;`)},
	"sqlite/0001_things.sql": {Data: []byte(`
CREATE TABLE things (
    id      TEXT PRIMARY KEY,
    n       INTEGER NOT NULL DEFAULT 0,
    flag    INTEGER NOT NULL DEFAULT 0,
    data    BLOB,
    at      TEXT,
    note    TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE TABLE parts (
    id       TEXT PRIMARY KEY,
    thing_id TEXT NOT NULL REFERENCES things (id)
) STRICT;`)},
}

func TestPlaceholders(t *testing.T) {
	each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		// A literal and a comment containing '?' are not placeholders.
		mustExec(t, db, `INSERT INTO things (id, n, note) VALUES (?, ?, 'what? it''s ?') -- really?
			/* a ? here too */`, "a", 7)
		var n int64
		var note string
		must(t, db.QueryRow(ctx, `SELECT n, note FROM things WHERE id = ? AND n = ?`, "a", 7).Scan(&n, &note))
		if n != 7 || note != "what? it's ?" {
			t.Fatalf("got %d %q", n, note)
		}
		// FOR UPDATE SKIP LOCKED works (PostgreSQL) or is dropped (SQLite).
		must(t, db.Tx(ctx, func(tx *sqldb.Tx) error {
			return tx.QueryRow(ctx, `SELECT n FROM things WHERE id = ? FOR UPDATE SKIP LOCKED`, "a").Scan(&n)
		}))
		must(t, db.Tx(ctx, func(tx *sqldb.Tx) error {
			return tx.QueryRow(ctx, `SELECT n FROM things WHERE id = ? for update`, "a").Scan(&n)
		}))
	})
}

func TestTimes(t *testing.T) {
	each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		zurich, err := time.LoadLocation("Europe/Zurich")
		must(t, err)
		base := time.Date(2026, 3, 29, 0, 30, 0, 123456789, time.UTC) // DST change in Zurich
		// In local text these would sort the other way round.
		times := []time.Time{
			base.In(zurich),                       // 01:30+01:00
			base.Add(30 * time.Minute),            // 01:00Z
			base.Add(90 * time.Minute).In(zurich), // 04:00+02:00
			base.Add(-24 * time.Hour * 365 * 30),  // 1996
			base.Add(time.Microsecond),
		}
		for i, tm := range times {
			mustExec(t, db, `INSERT INTO things (id, at) VALUES (?, ?)`, fmt.Sprint("t", i), tm)
		}
		var nilTime *time.Time
		mustExec(t, db, `INSERT INTO things (id, at) VALUES (?, ?)`, "null-ptr", nilTime)
		mustExec(t, db, `INSERT INTO things (id, at) VALUES (?, ?)`, "zero", time.Time{})

		rows, err := db.Query(ctx, `SELECT id, at FROM things WHERE at IS NOT NULL ORDER BY at`)
		must(t, err)
		var got []time.Time
		for rows.Next() {
			var id string
			var at time.Time
			must(t, rows.Scan(&id, &at))
			if at.Location() != time.UTC {
				t.Errorf("%s: location %v, want UTC", id, at.Location())
			}
			got = append(got, at)
		}
		must(t, rows.Err())
		must(t, rows.Close())
		want := []time.Time{times[3], times[0], times[4], times[1], times[2]}
		if len(got) != len(want) {
			t.Fatalf("got %d times, want %d", len(got), len(want))
		}
		for i := range want {
			if w := want[i].UTC().Truncate(time.Microsecond); !got[i].Equal(w) {
				t.Errorf("time %d: got %v, want %v", i, got[i], w)
			}
		}

		// Comparison with a parameter.
		var n int
		must(t, db.QueryRow(ctx, `SELECT count(*) FROM things WHERE at > ?`, base.In(zurich)).Scan(&n))
		if n != 3 {
			t.Errorf("count after base = %d, want 3", n)
		}

		// NULL into *time.Time is nil, into time.Time the zero time.
		for _, id := range []string{"null-ptr", "zero"} {
			var p *time.Time
			var v time.Time
			must(t, db.QueryRow(ctx, `SELECT at, at FROM things WHERE id = ?`, id).Scan(&p, &v))
			if p != nil || !v.IsZero() {
				t.Errorf("%s: got %v, %v; want nil, zero", id, p, v)
			}
		}
		var p *time.Time
		must(t, db.QueryRow(ctx, `SELECT at FROM things WHERE id = ?`, "t1").Scan(&p))
		if p == nil || !p.Equal(times[1].Truncate(time.Microsecond)) || p.Location() != time.UTC {
			t.Errorf("*time.Time: got %v", p)
		}
		// A *time.Time argument.
		mustExec(t, db, `UPDATE things SET at = ? WHERE id = ?`, &base, "null-ptr")
		var v time.Time
		must(t, db.QueryRow(ctx, `SELECT at FROM things WHERE id = ?`, "null-ptr").Scan(&v))
		if !v.Equal(base.Truncate(time.Microsecond)) {
			t.Errorf("after update: %v", v)
		}
	})
}

// IntTime and List: integer-microsecond times (older SQLite tables) and
// lists (text[] / JSON), with JSON documents as strings.
func TestIntTimeAndList(t *testing.T) {
	each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		at := time.Date(2026, 12, 3, 10, 0, 0, 123456789, time.FixedZone("x", 3600))
		mustExec(t, db, `INSERT INTO legacy (id, at, tags, doc) VALUES (?, ?, ?, ?)`, "a", sqldb.IntTime(at),
			sqldb.List{"x", "y z"}, `{"k": [1, "?"]}`)
		mustExec(t, db, `INSERT INTO legacy (id, at, tags) VALUES (?, ?, ?)`, "b", sqldb.IntTime{}, sqldb.List(nil))
		var got time.Time
		var tags []string
		var doc []byte
		must(t, db.QueryRow(ctx, `SELECT at, tags, doc FROM legacy WHERE id = ? AND at < ?`, "a",
			sqldb.IntTime(at.Add(time.Second))).Scan(&got, sqldb.ScanList(&tags), &doc))
		if !got.Equal(at.Truncate(time.Microsecond)) || len(tags) != 2 || tags[1] != "y z" {
			t.Errorf("got %v %q", got, tags)
		}
		var m map[string]any
		must(t, json.Unmarshal(doc, &m))
		tags = []string{"old"}
		must(t, db.QueryRow(ctx, `SELECT at, tags FROM legacy WHERE id = ?`, "b").Scan(&got, sqldb.ScanList(&tags)))
		if !got.IsZero() || tags != nil {
			t.Errorf("got %v %q", got, tags)
		}
	})
}

func TestBoolsAndBytes(t *testing.T) {
	each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		blob := []byte{0, 1, 2, 0xff, 0}
		mustExec(t, db, `INSERT INTO things (id, flag, data) VALUES (?, ?, ?)`, "yes", true, blob)
		mustExec(t, db, `INSERT INTO things (id, flag, data) VALUES (?, ?, ?)`, "no", false, []byte{})
		var id string
		var flag bool
		var data []byte
		must(t, db.QueryRow(ctx, `SELECT id, flag, data FROM things WHERE flag = ?`, true).Scan(&id, &flag, &data))
		if id != "yes" || !flag || !bytes.Equal(data, blob) {
			t.Errorf("got %q %v %x", id, flag, data)
		}
		must(t, db.QueryRow(ctx, `SELECT id, flag, data FROM things WHERE flag = ?`, false).Scan(&id, &flag, &data))
		if id != "no" || flag || len(data) != 0 {
			t.Errorf("got %q %v %x", id, flag, data)
		}
		// Blobs compare by value.
		must(t, db.QueryRow(ctx, `SELECT id FROM things WHERE data = ?`, blob).Scan(&id))
		if id != "yes" {
			t.Errorf("by blob: %q", id)
		}
		// RETURNING and ON CONFLICT … DO UPDATE.
		var n int64
		must(t, db.QueryRow(ctx, `INSERT INTO things (id, n) VALUES (?, ?)
			ON CONFLICT (id) DO UPDATE SET n = things.n + excluded.n RETURNING n`, "yes", 5).Scan(&n))
		if n != 5 {
			t.Errorf("upsert returned %d", n)
		}
	})
}

func TestErrors(t *testing.T) {
	each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		var id string
		wantErr(t, db.QueryRow(ctx, `SELECT id FROM things WHERE id = ?`, "none").Scan(&id), sqldb.ErrNotFound)
		mustExec(t, db, `INSERT INTO things (id) VALUES (?)`, "a")
		_, err := db.Exec(ctx, `INSERT INTO things (id) VALUES (?)`, "a")
		wantErr(t, err, sqldb.ErrConflict)
		// INSERT … RETURNING reports the conflict through Scan.
		wantErr(t, db.QueryRow(ctx, `INSERT INTO things (id) VALUES (?) RETURNING id`, "a").Scan(&id), sqldb.ErrConflict)
		// Inside a transaction, and the transaction's error is the same.
		err = db.Tx(ctx, func(tx *sqldb.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO things (id) VALUES (?)`, "a")
			return err
		})
		wantErr(t, err, sqldb.ErrConflict)
		_, err = db.Exec(ctx, `INSERT INTO parts (id, thing_id) VALUES (?, ?)`, "p", "missing")
		wantErr(t, err, sqldb.ErrReference)
		// Updates report how many rows they touched.
		if n := mustExec(t, db, `UPDATE things SET n = n + 1 WHERE id IN (?, ?)`, "a", "none"); n != 1 {
			t.Errorf("rows affected = %d", n)
		}
		// A syntax error is neither.
		_, err = db.Exec(ctx, `SELEKT 1`)
		if err == nil || errors.Is(err, sqldb.ErrNotFound) || errors.Is(err, sqldb.ErrConflict) {
			t.Errorf("syntax error: %v", err)
		}
	})
}

func TestTxRollback(t *testing.T) {
	each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		boom := errors.New("boom")
		err := db.Tx(ctx, func(tx *sqldb.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO things (id) VALUES (?)`, "a"); err != nil {
				return err
			}
			must(t, tx.Enqueue(ctx, "k", "a", nil, time.Now()))
			return boom
		})
		wantErr(t, err, boom)
		var n int
		must(t, db.QueryRow(ctx, `SELECT (SELECT count(*) FROM things) + (SELECT count(*) FROM kc_jobs)`).Scan(&n))
		if n != 0 {
			t.Errorf("%d rows after rollback", n)
		}
		// The driver's transaction is exposed for River.
		must(t, db.Tx(ctx, func(tx *sqldb.Tx) error {
			ptx, err := tx.Pgx(ctx)
			if err != nil {
				return err
			}
			if (ptx != nil) != (db.Dialect() == sqldb.Postgres) || (tx.SQL() != nil) != (db.Dialect() == sqldb.SQLite) {
				t.Errorf("Pgx %v, SQL %v on %v", ptx, tx.SQL(), db.Dialect())
			}
			return nil
		}))
	})
}

// A transaction that fails with a serialization error is run again.
func TestTxRetry(t *testing.T) {
	each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		calls := 0
		must(t, db.Tx(ctx, func(tx *sqldb.Tx) error {
			calls++
			if _, err := tx.Exec(ctx, `INSERT INTO things (id) VALUES (?)`, "a"); err != nil {
				return err
			}
			if calls < 3 {
				return fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: "40001"})
			}
			return nil
		}))
		if calls != 3 {
			t.Errorf("calls = %d", calls)
		}
		// Other errors are not retried.
		calls = 0
		_ = db.Tx(ctx, func(tx *sqldb.Tx) error { calls++; return errors.New("no") })
		if calls != 1 {
			t.Errorf("calls = %d", calls)
		}
	})
}

// Concurrent read-modify-write transactions lose no update.
func TestTxConcurrent(t *testing.T) {
	each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		mustExec(t, db, `INSERT INTO things (id, n) VALUES (?, 0)`, "a")
		const workers, rounds = 4, 10
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range rounds {
					err := db.Tx(ctx, func(tx *sqldb.Tx) error {
						var n int64
						if err := tx.QueryRow(ctx, `SELECT n FROM things WHERE id = ? FOR UPDATE`, "a").Scan(&n); err != nil {
							return err
						}
						_, err := tx.Exec(ctx, `UPDATE things SET n = ? WHERE id = ?`, n+1, "a")
						return err
					})
					if err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		var n int64
		must(t, db.QueryRow(ctx, `SELECT n FROM things WHERE id = ?`, "a").Scan(&n))
		if n != workers*rounds {
			t.Errorf("n = %d, want %d", n, workers*rounds)
		}
	})
}

// A real deadlock on PostgreSQL (40P01) is retried. (SQLite cannot
// deadlock: BEGIN IMMEDIATE serialises writers.)
func TestTxDeadlockRetried(t *testing.T) {
	t.Parallel()
	db := targets(t)[1].open(t)
	ctx := context.Background()
	must(t, db.Migrate(ctx, testMigrations))
	mustExec(t, db, `INSERT INTO things (id, n) VALUES (?, 0), (?, 0)`, "a", "b")
	locked := make(chan struct{}, 2)
	var attempts atomic.Int32
	var wg sync.WaitGroup
	for _, order := range [][2]string{{"a", "b"}, {"b", "a"}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := true
			err := db.Tx(ctx, func(tx *sqldb.Tx) error {
				attempts.Add(1)
				for i, id := range order {
					if _, err := tx.Exec(ctx, `UPDATE things SET n = n + 1 WHERE id = ?`, id); err != nil {
						return err
					}
					if i == 0 && first { // both hold their first row, then cross
						first = false
						locked <- struct{}{}
						for len(locked) < 2 {
							time.Sleep(time.Millisecond)
						}
					}
				}
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if attempts.Load() != 3 {
		t.Errorf("%d attempts, want 3 (one deadlock victim retried)", attempts.Load())
	}
	var a, b int64
	must(t, db.QueryRow(ctx, `SELECT (SELECT n FROM things WHERE id = 'a'), (SELECT n FROM things WHERE id = 'b')`).Scan(&a, &b))
	if a != 2 || b != 2 {
		t.Errorf("a = %d, b = %d", a, b)
	}
}

func TestMigrate(t *testing.T) {
	eachTarget(t, func(t *testing.T, tg target) {
		ctx := context.Background()
		fsys := fstest.MapFS{}
		for _, d := range []string{"postgres", "sqlite"} {
			fsys[d+"/0001_a.sql"] = &fstest.MapFile{Data: []byte(`CREATE TABLE a (id TEXT PRIMARY KEY);`)}
			fsys[d+"/0002_b.sql"] = &fstest.MapFile{Data: []byte(`CREATE TABLE b (id TEXT PRIMARY KEY);
				INSERT INTO a (id) VALUES ('from 0002');`)}
		}
		// Two processes migrating at once.
		dbs := []*sqldb.DB{tg.open(t), tg.open(t), tg.open(t)}
		var wg sync.WaitGroup
		for _, db := range dbs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := db.Migrate(ctx, fsys); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		db := dbs[0]
		var n int
		must(t, db.QueryRow(ctx, `SELECT count(*) FROM a`).Scan(&n))
		if n != 1 {
			t.Errorf("0002 ran %d times", n)
		}
		// A failing file is rolled back entirely and not recorded; the
		// pending file before it (ending in a comment) stays applied, and
		// the error names the failing file.
		dir := db.Dialect().String()
		fsys[dir+"/0003_c.sql"] = &fstest.MapFile{Data: []byte(`CREATE TABLE c (id TEXT) -- no semicolon`)}
		fsys[dir+"/0004_bad.sql"] = &fstest.MapFile{Data: []byte(`CREATE TABLE d (id TEXT);
			INSERT INTO nowhere VALUES (1);`)}
		fsys[dir+"/0005_e.sql"] = &fstest.MapFile{Data: []byte(`CREATE TABLE e (id TEXT);`)}
		err := db.Migrate(ctx, fsys)
		if err == nil {
			t.Fatal("bad migration succeeded")
		}
		if !strings.Contains(err.Error(), dir+"/0004_bad.sql") {
			t.Errorf("error %q does not name %s/0004_bad.sql", err, dir)
		}
		if _, err := db.Exec(ctx, `SELECT * FROM c`); err != nil {
			t.Errorf("table c of the migration before the failed one: %v", err)
		}
		for _, table := range []string{"d", "e"} {
			if _, err := db.Exec(ctx, `SELECT * FROM `+table); err == nil {
				t.Errorf("table %s of the failed migration or the one after it exists", table)
			}
		}
		fsys[dir+"/0004_bad.sql"] = &fstest.MapFile{Data: []byte(`CREATE TABLE d (id TEXT);`)}
		must(t, db.Migrate(ctx, fsys))
		must(t, db.QueryRow(ctx, `SELECT count(*) FROM kc_schema_migrations`).Scan(&n))
		if n != 5 {
			t.Errorf("%d migrations recorded", n)
		}
		must(t, db.QueryRow(ctx, `SELECT count(*) FROM e`).Scan(&n))
	})
}

func TestEnqueueIdempotent(t *testing.T) {
	each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
		must(t, db.Enqueue(ctx, "mail", "m1", []byte("first"), now))
		must(t, db.Tx(ctx, func(tx *sqldb.Tx) error {
			return tx.Enqueue(ctx, "mail", "m1", []byte("second"), now)
		}))
		must(t, db.Enqueue(ctx, "other", "m1", nil, now)) // another kind
		must(t, db.Enqueue(ctx, "mail", "", nil, now))    // empty key: always new
		must(t, db.Enqueue(ctx, "mail", "", nil, now))    //
		var got [][]byte
		w := &sqldb.Worker{DB: db, Now: func() time.Time { return now }, Handlers: map[string]sqldb.Handler{
			"mail": func(ctx context.Context, p []byte) error { got = append(got, p); return nil },
		}}
		n, err := w.RunDue(ctx)
		must(t, err)
		if n != 3 || string(got[0]) != "first" {
			t.Errorf("worked %d: %q", n, got)
		}
		// Enqueued again after it was done: still a no-op.
		must(t, db.Enqueue(ctx, "mail", "m1", []byte("third"), now))
		if n, err := w.RunDue(ctx); err != nil || n != 0 {
			t.Errorf("second round: %d, %v", n, err)
		}
	})
}

func TestWorkerRetries(t *testing.T) {
	each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
		clock := func() time.Time { return now }
		calls := map[string]int{}
		fail := errors.New("temporary")
		w := &sqldb.Worker{DB: db, Now: clock, MaxAttempts: 3, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Handlers: map[string]sqldb.Handler{
			"flaky": func(ctx context.Context, p []byte) error {
				calls[string(p)]++
				if string(p) == "later" || string(p) == "ok-2nd" && calls[string(p)] == 2 {
					return nil
				}
				if string(p) == "perm" {
					return sqldb.Permanent(errors.New("bad address"))
				}
				return fail
			},
		}}
		must(t, db.Enqueue(ctx, "flaky", "a", []byte("ok-2nd"), now))
		must(t, db.Enqueue(ctx, "flaky", "b", []byte("always"), now))
		must(t, db.Enqueue(ctx, "flaky", "c", []byte("perm"), now))
		must(t, db.Enqueue(ctx, "flaky", "d", []byte("later"), now.Add(time.Hour)))
		must(t, db.Enqueue(ctx, "nobody", "e", []byte("x"), now)) // no handler here

		step := func(want int) {
			t.Helper()
			n, err := w.RunDue(ctx)
			must(t, err)
			if n != want {
				t.Errorf("at %v: worked %d, want %d", now, n, want)
			}
		}
		step(3)                        // a, b, c; c fails permanently
		step(0)                        // nothing due before the backoff
		now = now.Add(1 * time.Second) // backoff after attempt 1: 1s
		step(2)                        // a succeeds, b fails again
		now = now.Add(2 * time.Second)
		step(1) // b's third attempt: gives up
		now = now.Add(time.Hour)
		step(1) // d
		now = now.Add(24 * time.Hour)
		step(0)
		want := map[string]int{"ok-2nd": 2, "always": 3, "perm": 1, "later": 1}
		for k, v := range want {
			if calls[k] != v {
				t.Errorf("%s: %d calls, want %d", k, calls[k], v)
			}
		}
		var states string
		rows, err := db.Query(ctx, `SELECT key, state FROM kc_jobs ORDER BY key`)
		must(t, err)
		for rows.Next() {
			var k, s string
			must(t, rows.Scan(&k, &s))
			states += k + "=" + s + " "
		}
		must(t, rows.Close())
		if states != "a=done b=failed c=failed d=done e=pending " {
			t.Errorf("states: %s", states)
		}
		// Done jobs are deleted after Retain, failed ones kept.
		now = now.Add(8 * 24 * time.Hour)
		step(0)
		var n int
		must(t, db.QueryRow(ctx, `SELECT count(*) FROM kc_jobs`).Scan(&n))
		if n != 3 {
			t.Errorf("%d jobs after retention", n)
		}
	})
}

// Workers in parallel never run one job twice.
func TestWorkersConcurrent(t *testing.T) {
	eachTarget(t, func(t *testing.T, tg target) {
		ctx := context.Background()
		const jobs, workers = 40, 4
		first := tg.open(t)
		must(t, first.Migrate(ctx, nil))
		now := time.Now()
		var wg sync.WaitGroup
		for i := range jobs { // concurrent enqueues, every key twice
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 2 {
					if err := first.Enqueue(ctx, "k", fmt.Sprint(i), []byte(fmt.Sprint(i)), now); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		var runs [jobs]atomic.Int32
		var total atomic.Int32
		for range workers {
			db := tg.open(t) // one handle (pool) per worker, like separate processes
			wg.Add(1)
			go func() {
				defer wg.Done()
				w := &sqldb.Worker{DB: db, Handlers: map[string]sqldb.Handler{"k": func(ctx context.Context, p []byte) error {
					var i int
					_, _ = fmt.Sscan(string(p), &i)
					runs[i].Add(1)
					return nil
				}}}
				n, err := w.RunDue(ctx)
				if err != nil {
					t.Error(err)
				}
				total.Add(int32(n))
			}()
		}
		wg.Wait()
		if total.Load() != jobs {
			t.Errorf("worked %d jobs, want %d", total.Load(), jobs)
		}
		for i := range runs {
			if r := runs[i].Load(); r != 1 {
				t.Errorf("job %d ran %d times", i, r)
			}
		}
	})
}
