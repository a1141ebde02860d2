package main

import (
	"context"
	"errors"

	"github.com/kanton/kundencenter/health"
	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/provider"
	"github.com/kanton/kundencenter/store/redis"
)

// idpChecks are the IdP's readiness checks (GET /readyz): its database,
// its ephemeral store ("redis" in production) and a loaded signing key.
func idpChecks(store idp.Store, eph idp.Ephemeral, keys *provider.KeyCache) []health.Check {
	ephName := "ephemeral"
	if _, ok := eph.(*redis.Store); ok {
		ephName = "redis"
	}
	return []health.Check{
		{Name: "database", Run: store.Ping},
		{Name: ephName, Run: eph.Ping},
		{Name: "keys", Run: func(context.Context) error {
			if keys.SigningKey() == nil {
				return errors.New("no active signing key loaded")
			}
			return nil
		}},
	}
}
