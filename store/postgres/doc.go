// Package postgres implements idp.Store on PostgreSQL through a pgx
// connection pool; it is the production store.
//
// It owns the SQL schema (embedded, numbered migrations recorded in
// schema_migrations, serialised across processes with
// pg_advisory_xact_lock), the translation of PostgreSQL errors into the idp
// sentinels, and the transactional outbox: every idp.Outgoing passed to a
// method becomes a River job (notify.MailArgs) inserted in the same
// transaction as the change, through an insert-only River client. River's
// own tables are migrated by Migrate too. It does not work jobs: cmd builds
// a River worker client on Pool() with river.Config.Schema set to Schema().
//
// OpenSchema confines the store to one PostgreSQL schema (its tables and
// River's), which lets tests and several installations share a database.
//
// Locking: UpdateAccount and ConsumeActionToken hold the account row
// (SELECT … FOR UPDATE) while their closure runs; RotateRefreshToken and
// ConsumeActionToken mark the token used with one conditional UPDATE, so of
// concurrent callers exactly one wins; family revocation locks rows in ID
// order so that concurrent revocations cannot deadlock.
package postgres
