// Package storetest is the conformance suite for Store: every durable
// store adapter (store/sqlite, store/postgres) runs Run from its own tests
// and must pass it unchanged.
//
// The suite owns the behaviour the adapters share: sentinel errors,
// time precision and time zones, the transactional outbox (a failed method
// enqueues nothing), single use of action and refresh tokens under
// concurrency, and refresh-token reuse detection. It opens no database
// itself; each adapter passes a function that opens a fresh, empty store and
// a function that reads the mail jobs back from River's job table.
package storetest
