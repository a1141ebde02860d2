package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
)

// txAttempts bounds how often Tx runs fn when the database reports a
// conflict with another transaction.
const txAttempts = 8

// Tx is a transaction handed to the function given to DB.Tx.
type Tx struct {
	db *DB
	pg pgx.Tx
	sq *sql.Tx
}

// Tx runs fn in a transaction and commits it unless fn returns an error.
// When the database reports a serialization failure or deadlock
// (PostgreSQL) or a busy database (SQLite), the transaction is rolled back
// and fn runs again, so fn must not have effects outside the transaction
// (or must tolerate repeating them). On SQLite the transaction starts with
// BEGIN IMMEDIATE: it holds the write lock from the start.
func (db *DB) Tx(ctx context.Context, fn func(tx *Tx) error) error {
	var err error
	for attempt := 1; ; attempt++ {
		err = db.tx(ctx, fn)
		if err == nil || !retryable(err) || attempt == txAttempts {
			return err
		}
		// Back off 2, 4, 8 … ms (at most ~250), with jitter.
		d := time.Duration(1<<min(attempt, 7)) * time.Millisecond
		d += rand.N(d)
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(d):
		}
	}
}

func (db *DB) tx(ctx context.Context, fn func(tx *Tx) error) (err error) {
	t := &Tx{db: db}
	if db.pool != nil {
		if t.pg, err = db.pool.Begin(ctx); err != nil {
			return fmt.Errorf("sqldb: begin: %w", err)
		}
		defer func() { _ = t.pg.Rollback(context.WithoutCancel(ctx)) }() // a no-op after Commit
	} else {
		if t.sq, err = db.sql.BeginTx(ctx, nil); err != nil {
			return fmt.Errorf("sqldb: begin: %w", translate(err))
		}
		defer func() { _ = t.sq.Rollback() }()
	}
	if err := fn(t); err != nil {
		return err
	}
	if t.pg != nil {
		err = t.pg.Commit(ctx)
	} else {
		err = t.sq.Commit()
	}
	if err != nil {
		return fmt.Errorf("sqldb: commit: %w", translate(err))
	}
	return nil
}

// Dialect reports which database this is.
func (tx *Tx) Dialect() Dialect { return tx.db.dialect }

// Pgx returns the pgx transaction (nil on SQLite), e.g. for River's
// InsertTx with riverpgxv5.
func (tx *Tx) Pgx() pgx.Tx { return tx.pg }

// SQL returns the database/sql transaction (nil on PostgreSQL), e.g. for
// River's InsertTx with riversqlite.
func (tx *Tx) SQL() *sql.Tx { return tx.sq }

func (tx *Tx) querier() querier {
	if tx.pg != nil {
		return querier{pg: tx.pg}
	}
	return querier{sq: tx.sq}
}

// Exec runs a statement in the transaction and returns the number of rows
// it affected.
func (tx *Tx) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	return tx.db.exec(ctx, tx.querier(), q, args)
}

// Query runs a query in the transaction; close the rows before the next
// statement.
func (tx *Tx) Query(ctx context.Context, q string, args ...any) (*Rows, error) {
	return tx.db.query(ctx, tx.querier(), q, args)
}

// QueryRow runs a query in the transaction; Row.Scan returns ErrNotFound
// when there is no row.
func (tx *Tx) QueryRow(ctx context.Context, q string, args ...any) *Row {
	rows, err := tx.db.query(ctx, tx.querier(), q, args)
	return &Row{rows: rows, err: err}
}
