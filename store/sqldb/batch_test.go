package sqldb_test

import (
	"context"
	"testing"

	"github.com/kanton/kundencenter/store/sqldb"
)

// A batch's statements run in order inside the transaction; CommitBatch
// commits with its statements, and a failing statement commits nothing.
func TestBatch(t *testing.T) {
	each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		mustExec(t, db, `INSERT INTO things (id, n) VALUES (?, ?)`, "a", 1)
		var n int
		must(t, db.Tx(ctx, func(tx *sqldb.Tx) error {
			b := &sqldb.Batch{}
			b.Exec(`UPDATE things SET n = n + ? WHERE id = ?`, 10, "a")
			b.QueryRow(func(r *sqldb.Row) error { return r.Scan(&n) }, `SELECT n FROM things WHERE id = ?`, "a")
			if err := tx.SendBatch(ctx, b); err != nil {
				return err
			}
			c := &sqldb.Batch{}
			c.Exec(`INSERT INTO things (id, n) VALUES (?, ?)`, "b", n)
			return tx.CommitBatch(ctx, c)
		}))
		if n != 11 {
			t.Errorf("n read in the batch = %d, want 11", n)
		}
		var sum int
		must(t, db.QueryRow(ctx, `SELECT sum(n) FROM things`).Scan(&sum))
		if sum != 22 {
			t.Errorf("sum after commit = %d, want 22", sum)
		}

		// A row not found is ErrNotFound for the scan function.
		err := db.Tx(ctx, func(tx *sqldb.Tx) error {
			b := &sqldb.Batch{}
			b.QueryRow(func(r *sqldb.Row) error { return r.Scan(&n) }, `SELECT n FROM things WHERE id = ?`, "nope")
			return tx.SendBatch(ctx, b)
		})
		wantErr(t, err, sqldb.ErrNotFound)

		// The conflict in the last statement undoes the first one.
		err = db.Tx(ctx, func(tx *sqldb.Tx) error {
			if _, err := tx.Exec(ctx, `UPDATE things SET n = 100 WHERE id = ?`, "a"); err != nil {
				return err
			}
			c := &sqldb.Batch{}
			c.Exec(`INSERT INTO things (id) VALUES (?)`, "c")
			c.Exec(`INSERT INTO things (id) VALUES (?)`, "b")
			return tx.CommitBatch(ctx, c)
		})
		wantErr(t, err, sqldb.ErrConflict)
		must(t, db.QueryRow(ctx, `SELECT sum(n) FROM things`).Scan(&sum))
		var count int
		must(t, db.QueryRow(ctx, `SELECT count(*) FROM things`).Scan(&count))
		if sum != 22 || count != 2 {
			t.Errorf("after the failed commit: sum %d, %d rows, want 22 and 2", sum, count)
		}

		// A transaction without statements commits nothing and fails nothing.
		must(t, db.Tx(ctx, func(*sqldb.Tx) error { return nil }))
	})
}
