package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// txAttempts bounds how often Tx runs fn when the database reports a
// conflict with another transaction.
const txAttempts = 8

// Tx is a transaction handed to the function given to DB.Tx.
//
// On PostgreSQL the BEGIN is not a round trip of its own: it is sent in
// one batch with the transaction's first statement (or SendBatch), and a
// transaction that runs no statement sends neither BEGIN nor COMMIT.
type Tx struct {
	db *DB
	// PostgreSQL: either pg (a pgx transaction: migrations, or once Pgx
	// was asked for) or conn, on which BEGIN was sent when begun is set.
	pg    pgx.Tx
	conn  *pgxpool.Conn
	begun bool
	sq    *sql.Tx
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
		if t.conn, err = db.pool.Acquire(ctx); err != nil {
			return fmt.Errorf("sqldb: begin: %w", translate(err))
		}
		// Rolls back unless committed; a connection left inside a
		// transaction is closed by Release instead of being reused.
		defer func() {
			t.rollback(context.WithoutCancel(ctx))
			t.conn.Release()
		}()
	} else {
		if t.sq, err = db.sql.BeginTx(ctx, nil); err != nil {
			return fmt.Errorf("sqldb: begin: %w", translate(err))
		}
		defer func() { _ = t.sq.Rollback() }()
	}
	if err := fn(t); err != nil {
		return err
	}
	if err := t.commit(ctx); err != nil {
		return fmt.Errorf("sqldb: commit: %w", translate(err))
	}
	return nil
}

func (t *Tx) commit(ctx context.Context) error {
	switch {
	case t.sq != nil:
		return t.sq.Commit()
	case t.pg != nil:
		return t.pg.Commit(ctx)
	case !t.begun:
		return nil // no statement ran
	}
	t.begun = false
	tag, err := t.conn.Exec(ctx, "commit")
	if err != nil {
		return err
	}
	if tag.String() == "ROLLBACK" { // a statement failed and fn ignored it
		return pgx.ErrTxCommitRollback
	}
	return nil
}

// rollback ends a PostgreSQL transaction that was not committed.
func (t *Tx) rollback(ctx context.Context) {
	switch {
	case t.pg != nil:
		_ = t.pg.Rollback(ctx) // a no-op after Commit
	case t.begun:
		t.begun = false
		_, _ = t.conn.Exec(ctx, "rollback")
	}
}

// Dialect reports which database this is.
func (tx *Tx) Dialect() Dialect { return tx.db.dialect }

// Pgx returns the pgx transaction (nil on SQLite), e.g. for River's
// InsertTx with riverpgxv5. Its statements and the ones run through tx
// belong to the same transaction.
func (tx *Tx) Pgx(ctx context.Context) (pgx.Tx, error) {
	if tx.pg != nil || tx.conn == nil {
		return tx.pg, nil
	}
	opts := pgx.TxOptions{}
	if tx.begun {
		// BEGIN was sent with an earlier statement: pgx gets a transaction
		// object for it without beginning another one.
		opts.BeginQuery = "SELECT 1"
	}
	ptx, err := tx.conn.BeginTx(ctx, opts)
	if err != nil {
		return nil, translate(err)
	}
	tx.pg, tx.begun = ptx, true
	return ptx, nil
}

// SQL returns the database/sql transaction (nil on PostgreSQL), e.g. for
// River's InsertTx with riversqlite.
func (tx *Tx) SQL() *sql.Tx { return tx.sq }

func (tx *Tx) querier() querier {
	switch {
	case tx.pg != nil:
		return querier{pg: tx.pg}
	case tx.conn != nil:
		return querier{pg: lazyTx{tx}}
	}
	return querier{sq: tx.sq}
}

// lazyTx runs a PostgreSQL transaction's statements on its connection,
// the first one in a batch behind BEGIN.
type lazyTx struct{ t *Tx }

func (l lazyTx) Exec(ctx context.Context, q string, args ...any) (pgconn.CommandTag, error) {
	if l.t.begun {
		return l.t.conn.Exec(ctx, q, args...)
	}
	b := &pgx.Batch{}
	b.Queue(q, args...)
	br, err := l.t.sendWithBegin(ctx, b)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

func (l lazyTx) Query(ctx context.Context, q string, args ...any) (pgx.Rows, error) {
	if l.t.begun {
		return l.t.conn.Query(ctx, q, args...)
	}
	b := &pgx.Batch{}
	b.Queue(q, args...)
	br, err := l.t.sendWithBegin(ctx, b)
	if err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return nil, err
	}
	return batchRows{rows, br}, nil
}

// sendWithBegin sends BEGIN and b's statements in one round trip and
// returns the results of b's statements (close them before the next
// statement).
func (t *Tx) sendWithBegin(ctx context.Context, b *pgx.Batch) (pgx.BatchResults, error) {
	b.QueuedQueries = append([]*pgx.QueuedQuery{{SQL: "begin"}}, b.QueuedQueries...)
	br := t.conn.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		_ = br.Close()
		return nil, err
	}
	t.begun = true
	return br, nil
}

// batchRows are rows read from a batch; closing them closes the batch.
type batchRows struct {
	pgx.Rows
	br pgx.BatchResults
}

func (r batchRows) Close() {
	r.Rows.Close()
	_ = r.br.Close()
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
