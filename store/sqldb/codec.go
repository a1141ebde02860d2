package sqldb

import (
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// sqliteTimeFormat is how SQLite stores a time: UTC, fixed width, to the
// microsecond (PostgreSQL's precision), so that text order is time order.
const sqliteTimeFormat = "2006-01-02T15:04:05.000000Z"

// The zero time.Time is stored as NULL on both dialects, and NULL scans
// into a time.Time as the zero time; a nil *time.Time is NULL as well.

// pgArgs converts arguments for pgx: zero times become NULL, IntTime a
// time, List a text[].
func pgArgs(args []any) []any {
	var out []any
	for i, a := range args {
		v, ok := pgValue(a)
		if !ok {
			continue
		}
		if out == nil {
			out = append([]any(nil), args...)
		}
		out[i] = v
	}
	if out == nil {
		return args
	}
	return out
}

// sqliteArgs converts arguments for SQLite: times to fixed-width UTC text
// (IntTime to microseconds), booleans to 0/1, lists to JSON.
func sqliteArgs(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		out[i] = sqliteValue(a)
	}
	return out
}

func sqliteTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(sqliteTimeFormat)
}

// scanPostgres scans with pgx, taking NULL into a time.Time as the zero
// time, returning every time in UTC and empty lists as nil. Time
// destinations are scanned through one slice of pgtype.Timestamptz.
func scanPostgres(scan func(dest ...any) error, dest []any) error {
	var (
		d     = dest
		times []pgtype.Timestamptz
	)
	for i, x := range dest {
		var sub any
		switch p := x.(type) {
		case *time.Time:
			if times == nil {
				times = make([]pgtype.Timestamptz, len(dest))
			}
			sub = &times[i]
		case listDest:
			sub = p.p
		default:
			continue
		}
		if len(d) > 0 && &d[0] == &dest[0] {
			d = append([]any(nil), dest...) // the caller's slice stays as it is
		}
		d[i] = sub
	}
	if err := scan(d...); err != nil {
		return err
	}
	for i, x := range dest {
		switch p := x.(type) {
		case *time.Time:
			*p = time.Time{}
			if times[i].Valid {
				*p = times[i].Time.UTC()
			}
		case **time.Time:
			if *p != nil {
				u := (*p).UTC()
				*p = &u
			}
		case listDest:
			if len(*p.p) == 0 {
				*p.p = nil
			}
		}
	}
	return nil
}

// sqliteDest wraps time destinations in scanners that parse SQLite's text
// (or, for older tables, integer microseconds since the epoch).
func sqliteDest(dest []any) []any {
	var out []any
	for i, x := range dest {
		var s sql.Scanner
		switch p := x.(type) {
		case *time.Time:
			s = timeScanner{t: p}
		case **time.Time:
			s = timeScanner{pt: p}
		default:
			continue
		}
		if out == nil {
			out = append([]any(nil), dest...)
		}
		out[i] = s
	}
	if out == nil {
		return dest
	}
	return out
}

type timeScanner struct {
	t  *time.Time
	pt **time.Time
}

func (s timeScanner) Scan(src any) error {
	var t time.Time
	switch v := src.(type) {
	case nil:
		if s.pt != nil {
			*s.pt = nil
		} else {
			*s.t = time.Time{}
		}
		return nil
	case string:
		p, err := parseTime(v)
		if err != nil {
			return err
		}
		t = p
	case []byte:
		p, err := parseTime(string(v))
		if err != nil {
			return err
		}
		t = p
	case time.Time:
		t = v.UTC()
	case int64:
		t = time.UnixMicro(v).UTC()
	default:
		return fmt.Errorf("sqldb: cannot scan %T into a time", src)
	}
	if s.pt != nil {
		*s.pt = &t
	} else {
		*s.t = t
	}
	return nil
}

func parseTime(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC(), nil
	}
	// modernc's own format, e.g. from CURRENT_TIMESTAMP-like values.
	for _, f := range []string{"2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(f, v); err == nil {
			return t.UTC(), nil
		}
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.UnixMicro(n).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("sqldb: %q is not a time", v)
}
