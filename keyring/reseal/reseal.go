// Package reseal re-encrypts values sealed with the key ring under its
// current key, so that an old key can be retired (phase three of a key
// rotation, see docs/keyring.md). It walks the sealed columns a store
// declares, in batches in key order; each value is rewritten only if it
// still holds what was read (a compare-and-set), so it runs safely beside
// the application. A run that is interrupted loses nothing: the next run
// reads past the values already sealed with the current key without
// rewriting them, and goes on where the last one stopped.
package reseal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"

	"github.com/kanton/kundencenter/keyring"
	"github.com/kanton/kundencenter/store/sqldb"
)

// Column is one sealed column of a store.
type Column struct {
	Name string // e.g. "accounts.sealed", for reports

	// Select reads one batch. Placeholders: the cursor (the last key read;
	// "" or 0 at the start) and the batch size. Columns: the row's key as
	// text, the stored value, then the AADParts values the AAD needs.
	// Rows with key > cursor, ordered by key.
	Select string
	// Update writes one value. Placeholders: the new stored value, the key,
	// the stored value that was read. It must not touch a row whose value
	// changed meanwhile.
	Update string
	// IntKey: the key is an integer (the cursor is passed as int64).
	IntKey bool
	// Text: the stored value is text (passed back as a string).
	Text bool
	// AADParts is the number of columns after the value.
	AADParts int
	// AAD returns the associated data the value was sealed with.
	AAD func(key string, parts []string) []byte
	// Decode takes the sealed bytes out of a stored value and Encode puts
	// them back (a JSON job argument, a prefixed text); nil: the stored value
	// is the sealed value. Decode returns ok false for a value that holds
	// nothing sealed.
	Decode func(stored []byte) (sealed []byte, ok bool, err error)
	Encode func(stored, sealed []byte) ([]byte, error)
}

// Simple is a sealed column col of a table with a single text key; extra
// names one more column the associated data needs ("" for none). NULL
// values are skipped.
func Simple(table, key, col, extra string, aad func(key string, parts []string) []byte) Column {
	sel, parts := key+", "+col, 0
	if extra != "" {
		sel, parts = sel+", "+extra, 1
	}
	return Column{
		Name: table + "." + col,
		Select: "SELECT " + sel + " FROM " + table + " WHERE " + key + " > ? AND " + col + " IS NOT NULL ORDER BY " +
			key + " LIMIT ?",
		Update:   "UPDATE " + table + " SET " + col + " = ? WHERE " + key + " = ? AND " + col + " = ?",
		AADParts: parts,
		AAD:      aad,
	}
}

// Result is what a run did to one column.
type Result struct {
	Column   string
	Scanned  int // values read
	Resealed int // values rewritten with the current key
	Changed  int // values the application changed meanwhile (left to it)
	Failed   int // values that could not be opened (see the log)
	// Remaining counts, per key ID, the values not sealed with the
	// current key after the run (for Count: all values per key ID).
	Remaining map[string]int
}

// DefaultBatch is the number of rows read per query.
const DefaultBatch = 200

// Run re-seals every value of cols in db that is not sealed with ring's
// current key, batch rows per query (DefaultBatch if <= 0), and reports
// per column. A value that cannot be opened is logged and counted, and the
// run goes on.
func Run(ctx context.Context, db *sqldb.DB, ring *keyring.Ring, cols []Column, batch int, log *slog.Logger) ([]Result, error) {
	return walk(ctx, db, ring, cols, batch, log, true)
}

// Count reports, per column, how many values each key ID seals (in
// Remaining), without changing anything. ring may be nil.
func Count(ctx context.Context, db *sqldb.DB, cols []Column) ([]Result, error) {
	return walk(ctx, db, nil, cols, 0, slog.New(slog.DiscardHandler), false)
}

// InUse sums the values sealed with key id over results of Count or Run.
func InUse(results []Result, id string) int {
	n := 0
	for _, r := range results {
		n += r.Remaining[id]
	}
	return n
}

func walk(ctx context.Context, db *sqldb.DB, ring *keyring.Ring, cols []Column, batch int, log *slog.Logger, write bool) ([]Result, error) {
	if batch <= 0 {
		batch = DefaultBatch
	}
	var out []Result
	for _, c := range cols {
		r, err := walkColumn(ctx, db, ring, c, batch, log, write)
		if err != nil {
			return out, fmt.Errorf("reseal %s: %w", c.Name, err)
		}
		out = append(out, r)
	}
	return out, nil
}

type row struct {
	key    string
	stored []byte
	parts  []string
}

func walkColumn(ctx context.Context, db *sqldb.DB, ring *keyring.Ring, c Column, batch int, log *slog.Logger, write bool) (Result, error) {
	res := Result{Column: c.Name, Remaining: map[string]int{}}
	cursor := ""
	for {
		rows, err := readBatch(ctx, db, c, cursor, batch)
		if err != nil {
			return res, err
		}
		for _, rw := range rows {
			res.Scanned++
			cursor = rw.key
			sealed, ok, err := decode(c, rw.stored)
			if err != nil {
				res.Failed++
				log.WarnContext(ctx, "reseal: cannot decode value", "column", c.Name, "key", rw.key, "err", err)
				continue
			}
			if !ok {
				continue
			}
			id, _ := keyring.KeyID(sealed)
			if !write || !ring.NeedsReseal(sealed) {
				if write && id == ring.Current() {
					continue
				}
				res.Remaining[id]++
				continue
			}
			done, err := resealOne(ctx, db, ring, c, rw, sealed)
			switch {
			case err != nil && ctx.Err() != nil:
				return res, ctx.Err()
			case err != nil:
				res.Failed++
				res.Remaining[id]++
				log.WarnContext(ctx, "reseal: value not resealed", "column", c.Name, "key", rw.key, "key_id", id, "err", err)
			case done:
				res.Resealed++
			default:
				res.Changed++
			}
		}
		if len(rows) < batch {
			return res, nil
		}
	}
}

func readBatch(ctx context.Context, db *sqldb.DB, c Column, cursor string, batch int) ([]row, error) {
	var cur any = cursor
	if c.IntKey {
		n := int64(0)
		if cursor != "" {
			var err error
			if n, err = strconv.ParseInt(cursor, 10, 64); err != nil {
				return nil, err
			}
		}
		cur = n
	}
	rows, err := db.Query(ctx, c.Select, cur, batch)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []row
	for rows.Next() {
		rw := row{parts: make([]string, c.AADParts)}
		dest := []any{&rw.key, &rw.stored}
		for i := range rw.parts {
			dest = append(dest, &rw.parts[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		out = append(out, rw)
	}
	return out, rows.Err()
}

func decode(c Column, stored []byte) ([]byte, bool, error) {
	if c.Decode == nil {
		return stored, len(stored) > 0, nil
	}
	return c.Decode(stored)
}

func resealOne(ctx context.Context, db *sqldb.DB, ring *keyring.Ring, c Column, rw row, sealed []byte) (bool, error) {
	fresh, _, err := ring.Reseal(sealed, c.AAD(rw.key, rw.parts))
	if err != nil {
		return false, err
	}
	stored := fresh
	if c.Encode != nil {
		if stored, err = c.Encode(rw.stored, fresh); err != nil {
			return false, err
		}
	}
	var key any = rw.key
	if c.IntKey {
		if key, err = strconv.ParseInt(rw.key, 10, 64); err != nil {
			return false, err
		}
	}
	var newV, oldV any = stored, rw.stored
	if c.Text {
		newV, oldV = string(stored), string(rw.stored)
	}
	n, err := db.Exec(ctx, c.Update, newV, key, oldV)
	if err != nil {
		return false, err
	}
	return n == 1, nil
}

// ErrInUse is returned by Retire when values sealed with the key remain.
var ErrInUse = errors.New("values sealed with this key remain; run keyring reseal first")

// Retire returns the ring text without the key id once no value of cols in
// db is sealed with it; otherwise ErrInUse (with the count per column).
func Retire(ctx context.Context, db *sqldb.DB, cols []Column, ringText, id string) (string, error) {
	results, err := Count(ctx, db, cols)
	if err != nil {
		return "", err
	}
	if n := InUse(results, id); n > 0 {
		var where []string
		for _, r := range results {
			if r.Remaining[id] > 0 {
				where = append(where, fmt.Sprintf("%s: %d", r.Column, r.Remaining[id]))
			}
		}
		return "", fmt.Errorf("keyring: retire %q: %w (%d: %s)", id, ErrInUse, n, strings.Join(where, ", "))
	}
	return keyring.Remove(ringText, id)
}

// Summary formats results as lines "column: scanned N, resealed N, …".
func Summary(results []Result) []string {
	var lines []string
	for _, r := range results {
		ids := make([]string, 0, len(r.Remaining))
		for id := range r.Remaining {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		rem := ""
		for _, id := range ids {
			rem += fmt.Sprintf(" %s=%d", id, r.Remaining[id])
		}
		if rem == "" {
			rem = " none"
		}
		lines = append(lines, fmt.Sprintf("%s: scanned %d, resealed %d, changed meanwhile %d, failed %d; not current:%s",
			r.Column, r.Scanned, r.Resealed, r.Changed, r.Failed, rem))
	}
	return lines
}
