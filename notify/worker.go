package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/riverqueue/river"

	"github.com/kanton/kundencenter/keyring"
)

// MailWorker is the River worker for MailArgs jobs: it opens the sealed
// mail, renders it and sends it.
type MailWorker struct {
	river.WorkerDefaults[MailArgs]

	ring   *keyring.Ring
	render *Renderer
	send   Sender
	log    *slog.Logger
}

var _ river.Worker[MailArgs] = (*MailWorker)(nil)

// NewMailWorker returns a worker that opens jobs with r, renders them with
// render and delivers them through s, logging to log.
func NewMailWorker(r *keyring.Ring, render *Renderer, s Sender, log *slog.Logger) *MailWorker {
	return &MailWorker{ring: r, render: render, send: s, log: log}
}

// Work delivers one mail. A job sealed with a key this instance does not
// have (a key rotation in progress: another instance already seals with
// the new key) is snoozed with backoff, never cancelled: River's snooze
// does not use up the job's attempts, and another instance or this one
// after its restart delivers it. A job that cannot be opened for any other
// reason, decoded or rendered is cancelled; a send error is returned so
// that River retries with backoff.
func (w *MailWorker) Work(ctx context.Context, job *river.Job[MailArgs]) error {
	log := w.log.With("job_id", job.ID, "attempt", job.Attempt)
	m, err := OpenMail(w.ring, job.Args.Sealed)
	if errors.Is(err, keyring.ErrUnknownKey) {
		d := unknownKeyBackoff(job.Attempt)
		log.Warn("mail sealed with a key this instance does not have yet; retrying", "error", err, "retry_in", d)
		return river.JobSnooze(d)
	}
	if err != nil {
		log.Error("mail job cancelled", "error", err)
		return river.JobCancel(err)
	}
	log = log.With("template", m.Template)
	msg, err := w.render.Render(m)
	if err != nil {
		log.Error("mail job cancelled", "error", err)
		return river.JobCancel(err)
	}
	msg.MessageID = MessageID(job.ID, job.Args.Sealed)
	if err := w.send.Send(ctx, msg); err != nil {
		err = redact(fmt.Errorf("send mail: %w", err), msg.To)
		log.Warn("mail not sent, River will retry", "error", err)
		return err
	}
	log.Info("mail sent")
	return nil
}

// unknownKeyBackoff is the pause before a job sealed with an unknown key is
// tried again: 1 s doubling per attempt, at most 5 minutes.
func unknownKeyBackoff(attempt int) time.Duration {
	return min(time.Second<<min(max(attempt-1, 0), 16), 5*time.Minute)
}

// MessageID derives the left part of a Message-ID from a job: stable across
// the job's retries, and unique even when job IDs start again at 1 (a new
// database), because the sealed payload contains a random nonce.
func MessageID(jobID int64, sealed []byte) string {
	h := sha256.Sum256(sealed)
	return fmt.Sprintf("kc-mail.%d.%s", jobID, hex.EncodeToString(h[:8]))
}

// Workers returns River's worker set with the MailWorker, rendering with
// the embedded templates. It panics if the templates do not parse, which
// the templates package's tests rule out.
func Workers(r *keyring.Ring, s Sender, log *slog.Logger) *river.Workers {
	render, err := NewRenderer()
	if err != nil {
		panic(err)
	}
	ws := river.NewWorkers()
	river.AddWorker(ws, NewMailWorker(r, render, s, log))
	return ws
}

// redactedError hides the recipient address in an error's text (SMTP
// servers like to quote it) while keeping the error chain for errors.Is.
type redactedError struct {
	err error
	msg string
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func redact(err error, address string) error {
	if address == "" {
		return err
	}
	re := regexp.MustCompile(`(?i)` + regexp.QuoteMeta(address))
	return &redactedError{err: err, msg: re.ReplaceAllString(err.Error(), "[recipient]")}
}
