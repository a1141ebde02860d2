// Package sqlite implements idp.Store on an embedded SQLite database file
// (modernc.org/sqlite through database/sql, no cgo), for single-node
// installations and tests.
//
// It owns the SQL schema (embedded, numbered migrations recorded in
// schema_migrations), the translation of SQLite errors into the idp
// sentinels, and the transactional outbox: every idp.Outgoing passed to a
// method becomes a River job (notify.MailArgs) inserted in the same
// transaction as the change, through an insert-only River client. River's
// own tables are migrated by Migrate too. It does not work jobs: cmd builds
// a River worker client on DB().
//
// Concurrency: SQLite has a single writer. Every transaction starts with
// BEGIN IMMEDIATE (the _txlock DSN parameter), so it takes the write lock
// before it reads and can never deadlock by upgrading a read lock; writers
// queue on busy_timeout. The journal is in WAL mode, so reads run beside the
// writer on the other pooled connections. Transactions hold the lock while
// the closures passed to UpdateAccount and ConsumeActionToken run, so those
// closures must not call the store themselves.
package sqlite
