// Package sqlite opens the IdP's store (package sqlstore, one
// implementation of idp.Store and delegation's stores for both databases)
// on an embedded SQLite database file (modernc.org/sqlite through
// database/sql, no cgo), for single-node installations and tests.
//
// Concurrency: SQLite has a single writer. Every transaction starts with
// BEGIN IMMEDIATE, so it takes the write lock before it reads and can never
// deadlock by upgrading a read lock; writers queue on busy_timeout. The
// journal is in WAL mode, so reads run beside the writer on the other
// pooled connections. Transactions hold the lock while the closures passed
// to UpdateAccount and ConsumeActionToken run, so those closures must not
// call the store themselves. cmd builds a River worker client on DB().
package sqlite
