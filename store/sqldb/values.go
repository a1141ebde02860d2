package sqldb

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// IntTime is a time argument for an SQLite column that holds INTEGER
// microseconds since the epoch (the tables of schemas older than this
// package); on PostgreSQL it is the time itself. The zero time is NULL.
// Such columns scan into time.Time like any other.
type IntTime time.Time

// List is a list-of-strings argument: a text[] on PostgreSQL, a JSON array
// in TEXT on SQLite. A nil list is stored as an empty one.
type List []string

// ScanList returns a scan destination for a column written with List; an
// empty or NULL list scans as nil.
func ScanList(p *[]string) any { return listDest{p} }

type listDest struct{ p *[]string }

// Scan decodes SQLite's JSON text.
func (d listDest) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		*d.p = nil
		return nil
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("sqldb: cannot scan %T into a list", src)
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return fmt.Errorf("sqldb: decode list: %w", err)
	}
	if len(l) == 0 {
		l = nil
	}
	*d.p = l
	return nil
}

var _ sql.Scanner = listDest{}

func pgValue(a any) (any, bool) {
	switch v := a.(type) {
	case time.Time:
		if v.IsZero() {
			return nil, true
		}
	case *time.Time:
		if v != nil && v.IsZero() {
			return nil, true
		}
	case IntTime:
		if time.Time(v).IsZero() {
			return nil, true
		}
		return time.Time(v), true
	case List:
		if v == nil {
			return []string{}, true
		}
		return []string(v), true
	}
	return nil, false
}

func sqliteValue(a any) any {
	switch v := a.(type) {
	case time.Time:
		return sqliteTime(v)
	case *time.Time:
		if v == nil {
			return nil
		}
		return sqliteTime(*v)
	case IntTime:
		if time.Time(v).IsZero() {
			return nil
		}
		return time.Time(v).UnixMicro()
	case List:
		if len(v) == 0 {
			return "[]"
		}
		b, err := json.Marshal([]string(v))
		if err != nil {
			panic(fmt.Sprintf("sqldb: marshal list: %v", err)) // cannot happen
		}
		return string(b)
	case bool:
		if v {
			return int64(1)
		}
		return int64(0)
	}
	return a
}
