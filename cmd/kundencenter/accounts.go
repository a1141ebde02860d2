package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/keyring"
	"github.com/kanton/kundencenter/store/memory"
	"github.com/kanton/kundencenter/store/redis"
)

// adminAccounts runs "admin accounts disable|enable|sessions-end ACCOUNT".
// The end of sessions and tokens is recorded in the database, which every
// instance checks; with KC_REDIS_URL the sessions' records in Redis go at
// once too, and the services they logged in to get a back-channel logout
// token. (The embedded mode's sessions live in the running process: they
// end through the database record alone.)
func adminAccounts(ctx context.Context, cfg config, store adminStore, ring *keyring.Ring, verb string, args []string) error {
	fs := flag.NewFlagSet("accounts "+verb, flag.ContinueOnError)
	reason := fs.String("reason", "", "disable: why, as RISC 1.0 names it (hijacking or bulk-account); sent to the services")
	if err := fs.Parse(args); err != nil {
		return err
	}
	args = fs.Args()
	if len(args) != 1 {
		return fmt.Errorf("usage: kundencenter admin accounts %s ACCOUNT (account ID or Konto-ID)", verb)
	}
	if *reason != "" && verb != "disable" {
		return fmt.Errorf("accounts %s: -reason belongs to disable", verb)
	}
	if !idp.ValidDisableReason(*reason) {
		return fmt.Errorf("accounts disable: -reason %q: use %s or %s", *reason, idp.DisabledHijacking, idp.DisabledBulkAccount)
	}
	st, ok := store.(idp.Store)
	if !ok {
		return errors.New("accounts: the store holds no accounts")
	}
	var eph idp.Ephemeral = memory.New(nil)
	if cfg.RedisURL != "" {
		r, err := redis.Open(ctx, cfg.RedisURL, "kc:")
		if err != nil {
			return fmt.Errorf("KC_REDIS_URL: %w", err)
		}
		defer r.Close()
		eph = r
	}
	a, err := st.GetAccount(ctx, args[0])
	if errors.Is(err, idp.ErrNotFound) {
		a, err = st.GetAccountByKontoID(ctx, args[0])
	}
	if err != nil {
		return fmt.Errorf("account %q: %w", args[0], err)
	}
	svc := idp.NewService(idp.Config{}, st, eph, ring, nil, nil)
	switch verb {
	case "disable":
		err = svc.DisableAccount(ctx, a.ID, *reason)
	case "enable":
		err = svc.EnableAccount(ctx, a.ID)
	default:
		err = svc.EndAllSessions(ctx, a.ID)
	}
	if err != nil {
		return err
	}
	fmt.Printf("account %s: %s done\n", a.ID, verb)
	return nil
}
