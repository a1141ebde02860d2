package sqldb

import (
	"context"

	"github.com/jackc/pgx/v5"
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
