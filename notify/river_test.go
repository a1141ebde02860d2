package notify

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	_ "modernc.org/sqlite"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/notify/smtptest"
)

// TestRiverDeliversCommittedMail runs River on SQLite with the mail worker
// and a real SMTP server on loopback: a job inserted in a transaction that
// commits is delivered once; one whose transaction rolls back never is; a
// job that cannot be opened is cancelled.
func TestRiverDeliversCommittedMail(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second) // a safety net, not a timing assertion
	defer cancel()

	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "river.db")+
		"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_txlock=immediate")
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	db.SetMaxOpenConns(1) // SQLite allows one writer; see the riversqlite package doc
	t.Cleanup(func() { _ = db.Close() })
	driver := riversqlite.New(db)
	migrator, err := rivermigrate.New(driver, nil)
	if err != nil {
		t.Fatalf("rivermigrate.New: %v", err)
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		t.Fatalf("migrate: %v", err)
	}

	ring := testRing(t)
	srv := smtptest.Start(t)
	sender, err := NewSMTP(SMTPConfig{Host: srv.Host(), Port: srv.Port(), TLS: TLSNone, From: "noreply@kanton.example"})
	if err != nil {
		t.Fatalf("NewSMTP: %v", err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	client, err := river.NewClient(driver, &river.Config{
		Queues:  map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 2}},
		Workers: Workers(ring, sender, quiet),
		// SQLite has no LISTEN/NOTIFY and a job inserted in a transaction
		// does not wake the producer, so poll often to keep the test short.
		FetchCooldown:     5 * time.Millisecond,
		FetchPollInterval: 20 * time.Millisecond,
		Logger:            quiet,
		TestOnly:          true,
	})
	if err != nil {
		t.Fatalf("river.NewClient: %v", err)
	}
	events, unsubscribe := client.Subscribe(river.EventKindJobCompleted, river.EventKindJobCancelled,
		river.EventKindJobFailed)
	defer unsubscribe()
	if err := client.Start(ctx); err != nil {
		t.Fatalf("start River: %v", err)
	}
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := client.Stop(stopCtx); err != nil {
			t.Errorf("stop River: %v", err)
		}
	})

	insert := func(m idp.Mail, sealed []byte, commit bool) int64 {
		t.Helper()
		if sealed == nil {
			out, err := SealMail(ring, m)
			if err != nil {
				t.Fatalf("SealMail: %v", err)
			}
			sealed = out.Sealed
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatalf("begin: %v", err)
		}
		res, err := client.InsertTx(ctx, tx, MailArgs{Sealed: sealed}, nil)
		if err != nil {
			_ = tx.Rollback()
			t.Fatalf("InsertTx: %v", err)
		}
		if commit {
			err = tx.Commit()
		} else {
			err = tx.Rollback()
		}
		if err != nil {
			t.Fatalf("end transaction: %v", err)
		}
		return res.Job.ID
	}
	waitFor := func(jobID int64) *river.Event {
		t.Helper()
		for {
			select {
			case ev := <-events:
				if ev.Job.ID == jobID {
					return ev
				}
				t.Errorf("unexpected event %s for job %d", ev.Kind, ev.Job.ID)
			case <-ctx.Done():
				t.Fatalf("job %d did not finish: %v", jobID, ctx.Err())
			}
		}
	}

	rolledBack := testMail(idp.MailActivate, "de")
	rolledBack.To = "rolled.back@example.ch"
	insert(rolledBack, nil, false)
	committed := testMail(idp.MailActivate, "fr")
	jobID := insert(committed, nil, true)

	if ev := waitFor(jobID); ev.Kind != river.EventKindJobCompleted {
		t.Fatalf("job %d ended %s, want completed (errors: %v)", jobID, ev.Kind, ev.Job.Errors)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("SMTP server received %d messages, want exactly 1", len(msgs))
	}
	m := msgs[0]
	if m.Err != nil {
		t.Fatalf("decode: %v", m.Err)
	}
	if m.To[0] != committed.To || !strings.Contains(m.Text, "KC-4821-7733-9") || m.Subject != "Veuillez confirmer votre adresse e-mail" {
		t.Errorf("received to %v, subject %q, text:\n%s", m.To, m.Subject, m.Text)
	}
	if id := m.Header.Get("Message-ID"); !strings.HasPrefix(id, "<kc-mail."+strconv.FormatInt(jobID, 10)+".") {
		t.Errorf("Message-ID = %q, want it derived from job %d", id, jobID)
	}

	badID := insert(idp.Mail{}, []byte("not sealed"), true)
	if ev := waitFor(badID); ev.Kind != river.EventKindJobCancelled {
		t.Fatalf("job %d ended %s, want cancelled", badID, ev.Kind)
	}

	var jobs int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM river_job`).Scan(&jobs); err != nil {
		t.Fatalf("count jobs: %v", err)
	}
	if jobs != 2 {
		t.Errorf("river_job has %d rows, want 2 (the rolled-back insert must not exist)", jobs)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("SMTP server received %d messages in the end, want 1", n)
	}
}
