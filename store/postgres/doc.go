// Package postgres opens the IdP's store (package sqlstore, one
// implementation of idp.Store and delegation's stores for both databases)
// on PostgreSQL through a pgx connection pool; it is the production store.
//
// OpenSchema confines the store to one PostgreSQL schema (its tables and
// River's), which lets tests and several installations share a database.
// cmd builds a River worker client on Pool() with river.Config.Schema set
// to Schema().
//
// Locking: UpdateAccount and ConsumeActionToken hold the account row
// (SELECT … FOR UPDATE) while their closure runs; RotateRefreshToken and
// ConsumeActionToken mark the token used with one conditional UPDATE, so of
// concurrent callers exactly one wins; family revocation locks rows in ID
// order so that concurrent revocations cannot deadlock; transactions that
// still meet a deadlock or serialization failure are run again (sqldb.Tx).
package postgres
