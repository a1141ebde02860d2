package notify

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/kanton/kundencenter/idp"
)

// SessionEnder ends an account's sessions and access tokens issued before a
// time (*idp.Service implements it).
type SessionEnder interface {
	EndSessionsBefore(ctx context.Context, accountID string, before time.Time, reason string) error
}

// EndSessionsWorker works idp.EndSessionsArgs jobs, the second half of a
// password reset, deletion or e-mail change committed in the store.
type EndSessionsWorker struct {
	river.WorkerDefaults[idp.EndSessionsArgs]
	end SessionEnder
}

var _ river.Worker[idp.EndSessionsArgs] = (*EndSessionsWorker)(nil)

// Work ends the sessions and tokens; an error (Redis down) retries.
func (w *EndSessionsWorker) Work(ctx context.Context, job *river.Job[idp.EndSessionsArgs]) error {
	a := job.Args
	return w.end.EndSessionsBefore(ctx, a.AccountID, a.Before, a.Reason)
}

// NextRetry retries soon: 1 s, 2 s, 4 s … at most every 30 minutes (River's
// default backoff waits attempt⁴ seconds, minutes after a short outage).
func (w *EndSessionsWorker) NextRetry(job *river.Job[idp.EndSessionsArgs]) time.Time {
	d := time.Second << min(max(job.Attempt-1, 0), 11)
	return time.Now().Add(min(d, 30*time.Minute))
}

// AddEndSessionsWorker registers the worker over end in ws.
func AddEndSessionsWorker(ws *river.Workers, end SessionEnder) {
	river.AddWorker(ws, &EndSessionsWorker{end: end})
}
