package notify

import (
	"context"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/kanton/kundencenter/idp"
)

// LifecycleRunner applies the account lifecycle rules once
// (*idp.Service implements it).
type LifecycleRunner interface {
	RunLifecycle(ctx context.Context) (idp.LifecycleResult, error)
}

// LifecycleArgs is the River job that runs the lifecycle rules once.
type LifecycleArgs struct{}

// Kind names the job for River.
func (LifecycleArgs) Kind() string { return "account_lifecycle" }

// LifecycleWorker runs LifecycleArgs jobs through a LifecycleRunner.
type LifecycleWorker struct {
	river.WorkerDefaults[LifecycleArgs]
	run LifecycleRunner
	log *slog.Logger
}

var _ river.Worker[LifecycleArgs] = (*LifecycleWorker)(nil)

// NewLifecycleWorker returns the worker over run, logging each run to log.
func NewLifecycleWorker(run LifecycleRunner, log *slog.Logger) *LifecycleWorker {
	if log == nil {
		log = slog.Default()
	}
	return &LifecycleWorker{run: run, log: log}
}

// Work runs the rules once. An account that fails is skipped and the run
// goes on with the others; if any failed, the run's error makes River
// retry the job, and the retry applies the rules to every account again:
// finished steps are committed and not repeated (the store records each
// reminder and deletion at most once), so only the failed ones remain.
func (w *LifecycleWorker) Work(ctx context.Context, job *river.Job[LifecycleArgs]) error {
	res, err := w.run.RunLifecycle(ctx)
	w.log.InfoContext(ctx, "account lifecycle run", "job_id", job.ID, "reminded", res.Reminded,
		"deleted_never_used", res.DeletedNeverUsed, "deleted_inactive", res.DeletedInactive, "failed", res.Failed, "err", err)
	return err
}

// LifecyclePeriodicJob schedules the lifecycle run every interval (and at
// start). River's leader inserts periodic jobs, and the job is unique per
// interval, so N instances still run it once per interval; the run itself
// is idempotent anyway.
func LifecyclePeriodicJob(interval time.Duration) *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) {
			return LifecycleArgs{}, &river.InsertOpts{MaxAttempts: 5, UniqueOpts: river.UniqueOpts{ByPeriod: interval}}
		}, &river.PeriodicJobOpts{RunOnStart: true})
}

// AddLifecycleWorker registers the lifecycle worker over run in ws.
func AddLifecycleWorker(ws *river.Workers, run LifecycleRunner, log *slog.Logger) {
	river.AddWorker(ws, NewLifecycleWorker(run, log))
}
