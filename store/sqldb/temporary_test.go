package sqldb_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/kanton/kundencenter/store/sqldb"
)

// temporaryError is an error that says it is temporary, like
// keyring.ErrUnknownKey while a key rotation is rolled out.
type temporaryError struct{}

func (temporaryError) Error() string   { return "sealed with a key not in this ring" }
func (temporaryError) Temporary() bool { return true }

// A temporary error is retried with backoff even when a handler marks it
// permanent and after MaxAttempts: the job is never given up.
func TestWorkerTemporaryNeverGivesUp(t *testing.T) {
	each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
		calls := 0
		w := &sqldb.Worker{DB: db, Now: func() time.Time { return now }, MaxAttempts: 2,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Handlers: map[string]sqldb.Handler{
				"sealed": func(ctx context.Context, p []byte) error {
					calls++
					if calls < 5 {
						return sqldb.Permanent(temporaryError{})
					}
					return nil
				},
			}}
		must(t, db.Enqueue(ctx, "sealed", "s1", []byte("x"), now))
		for range 5 {
			if _, err := w.RunDue(ctx); err != nil {
				t.Fatal(err)
			}
			now = now.Add(time.Hour)
		}
		var state string
		must(t, db.QueryRow(ctx, `SELECT state FROM kc_jobs WHERE key = ?`, "s1").Scan(&state))
		if calls != 5 || state != "done" {
			t.Fatalf("after %d calls the job is %s, want done after 5", calls, state)
		}
	})
}
