// Package memory is the in-process implementation of idp.Ephemeral used in
// embedded mode: pending auth requests, SSO sessions, single-use codes,
// access tokens and rate-limit windows held in a sharded map in the memory
// of one process.
//
// It owns nothing durable and shares nothing between processes: a restart
// forgets every key, and two replicas never see each other's state (use the
// redis package for that). Expiry is checked on every read; a janitor
// goroutine removes expired keys in the background until Close.
package memory
