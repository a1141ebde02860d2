package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/provider"
	"github.com/kanton/kundencenter/keyring"
	"github.com/kanton/kundencenter/notify"
)

// dispatchInterval is how often undelivered account-purged events are
// queued (again) for delivery.
const dispatchInterval = time.Minute

// eventsConfig wires the workers that push Security Event Tokens and
// back-channel logout tokens: they sign with the IdP's active key, from a
// key cache of their own that follows rotations until ctx ends.
func eventsConfig(ctx context.Context, issuer string, store idp.Store, ring *keyring.Ring, log *slog.Logger) (*notify.EventsConfig, error) {
	keys := provider.NewKeyCache(store, ring)
	if err := keys.Load(ctx); err != nil {
		return nil, err
	}
	go keys.Run(ctx, func(err error) { log.Error("reload signing keys (events)", "err", err) })
	return &notify.EventsConfig{Issuer: issuer, Signer: keys, Store: store, Subjects: idp.NewSubjects(ring),
		Log: log.With("component", "events")}, nil
}
