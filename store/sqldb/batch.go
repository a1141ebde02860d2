package sqldb

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Batch is a list of statements that a transaction sends together
// (Tx.SendBatch): on PostgreSQL in one round trip, on SQLite one after the
// other. Statements are written with ? placeholders like everywhere else.
type Batch struct {
	items []batchItem
}

type batchItem struct {
	q    string
	args []any
	scan func(*Row) error // nil for Exec
}

// Exec queues a statement whose result is not read.
func (b *Batch) Exec(q string, args ...any) {
	b.items = append(b.items, batchItem{q: q, args: args})
}

// QueryRow queues a query; scan gets its Row (whose Scan returns
// ErrNotFound when there is no row) when the batch's results are read.
func (b *Batch) QueryRow(scan func(*Row) error, q string, args ...any) {
	b.items = append(b.items, batchItem{q: q, args: args, scan: scan})
}

// SendBatch runs b's statements in order in the transaction and returns
// the first error (a statement's or one returned by a scan function); the
// statements after a failed one do not take effect.
func (tx *Tx) SendBatch(ctx context.Context, b *Batch) error {
	if tx.pg == nil && tx.conn == nil { // SQLite
		for _, it := range b.items {
			if it.scan == nil {
				if _, err := tx.Exec(ctx, it.q, it.args...); err != nil {
					return err
				}
				continue
			}
			if err := it.scan(tx.QueryRow(ctx, it.q, it.args...)); err != nil {
				return err
			}
		}
		return nil
	}
	pb := &pgx.Batch{}
	for _, it := range b.items {
		pb.Queue(tx.db.rewrite(it.q), pgArgs(it.args)...)
	}
	var (
		br  pgx.BatchResults
		err error
	)
	switch {
	case tx.pg != nil:
		br = tx.pg.SendBatch(ctx, pb)
	case tx.begun:
		br = tx.conn.SendBatch(ctx, pb)
	default:
		if br, err = tx.sendWithBegin(ctx, pb); err != nil {
			return translate(err)
		}
	}
	for _, it := range b.items {
		if it.scan == nil {
			if _, err = br.Exec(); err != nil {
				err = translate(err)
				break
			}
			continue
		}
		rows, qerr := br.Query()
		if qerr != nil {
			err = translate(qerr)
			break
		}
		r := &Rows{pg: rows}
		err = it.scan(&Row{rows: r})
		rows.Close()
		if err != nil {
			break
		}
	}
	if cerr := br.Close(); err == nil && cerr != nil {
		err = translate(cerr)
	}
	return err
}

// CommitBatch runs b's statements, which must all be Exec ones, and
// commits the transaction: on PostgreSQL in one round trip with COMMIT
// (and BEGIN, when b holds the transaction's first statements). The
// function given to DB.Tx must return right after it, without running
// another statement. If a statement fails, nothing is committed and its
// error is returned.
func (tx *Tx) CommitBatch(ctx context.Context, b *Batch) error {
	for _, it := range b.items {
		if it.scan != nil {
			return errors.New("sqldb: CommitBatch with a query")
		}
	}
	if tx.conn == nil || tx.pg != nil {
		// SQLite, or a pgx transaction: DB.Tx commits after fn.
		return tx.SendBatch(ctx, b)
	}
	pb := &pgx.Batch{}
	for _, it := range b.items {
		pb.Queue(tx.db.rewrite(it.q), pgArgs(it.args)...)
	}
	pb.Queue("commit")
	var (
		br  pgx.BatchResults
		err error
	)
	if tx.begun {
		br = tx.conn.SendBatch(ctx, pb)
	} else if br, err = tx.sendWithBegin(ctx, pb); err != nil {
		return translate(err)
	}
	stmtFailed := false
	for range b.items {
		if _, err = br.Exec(); err != nil {
			stmtFailed = true
			break
		}
	}
	if err == nil {
		var tag pgconn.CommandTag
		if tag, err = br.Exec(); err == nil {
			tx.begun = false // committed (or rolled back by the server)
			if tag.String() == "ROLLBACK" {
				err = pgx.ErrTxCommitRollback
			}
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	switch {
	case stmtFailed:
		return translate(err)
	case err != nil:
		return fmt.Errorf("sqldb: commit: %w", translate(err))
	}
	return nil
}
