// Package redis is the production implementation of idp.Ephemeral on Redis
// (7.0 or newer) through go-redis/v9's UniversalClient, so that a single
// server, Sentinel and Cluster all work: pending auth requests, SSO
// sessions, single-use codes, access tokens and rate-limit windows shared
// by every replica of the identity provider.
//
// Every key is prefixed, so that several deployments (or test runs) can
// share one Redis. Each method touches one key per command, so no command
// crosses Cluster hash slots. Redis' "no such key" becomes idp.ErrNotFound;
// an unreachable or unready server becomes an error wrapping
// idp.ErrUnavailable, so that callers fail closed. Error messages name the
// server and the operation, never a key or a value, since keys may carry
// codes or token hashes.
//
// It owns no durable state: losing Redis costs in-flight logins, never
// accounts.
package redis
