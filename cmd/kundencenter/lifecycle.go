package main

import (
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/keyring"
	"github.com/kanton/kundencenter/notify"
	"github.com/kanton/kundencenter/wire"
)

// lifecycleInterval is how often the account lifecycle job runs (the rules
// count calendar days; an hourly run keeps every deadline within an hour).
const lifecycleInterval = time.Hour

// lifecycleService is the account service the lifecycle job runs on, wired
// like the IdP's (wire.NewAccounts): the same stores and key ring, and its
// deletions tell the other party of each representation.
func lifecycleService(issuer string, store wire.Store, eph idp.Ephemeral, ring *keyring.Ring, log *slog.Logger) (*idp.Service, error) {
	acc, err := wire.NewAccounts(wire.Config{Issuer: issuer, Store: store, Eph: eph, Ring: ring, Log: log.With("component", "lifecycle")})
	return acc.Service, err
}

// jobWorkers are River's workers: mail delivery, when life is set the
// account lifecycle, and when ev is set the tokens for relying parties
// (events.go); jobs are the periodic jobs that go with them.
func jobWorkers(ring *keyring.Ring, sender notify.Sender, log *slog.Logger, life *idp.Service, ev *notify.EventsConfig) (ws *river.Workers, jobs []*river.PeriodicJob) {
	ws = notify.Workers(ring, sender, log)
	if ev != nil {
		notify.AddEventWorkers(ws, *ev)
		jobs = append(jobs, notify.DispatchPeriodicJob(dispatchInterval))
	}
	if life != nil {
		notify.AddLifecycleWorker(ws, life, log.With("component", "lifecycle"))
		jobs = append(jobs, notify.LifecyclePeriodicJob(lifecycleInterval))
		notify.AddEndSessionsWorker(ws, life) // the second half of a reset, deletion, e-mail change
	}
	return ws, jobs
}
