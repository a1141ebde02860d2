package sqldb

import (
	"regexp"
	"strconv"
	"strings"
)

// forUpdate matches a row-locking clause, which SQLite does not know (its
// writers are serialised by BEGIN IMMEDIATE instead).
var forUpdate = regexp.MustCompile(`(?i)\s+FOR\s+UPDATE(\s+SKIP\s+LOCKED|\s+NOWAIT)?\b`)

// rewrite adapts portable query text to the dialect: `?` placeholders
// become $1, $2, … on PostgreSQL; FOR UPDATE [SKIP LOCKED] is dropped on
// SQLite. String literals, quoted identifiers and comments are left alone.
// Results are cached per query text.
func (db *DB) rewrite(q string) string {
	if v, ok := db.queries.Load(q); ok {
		return v.(string)
	}
	out := rewrite(db.dialect, q)
	db.queries.Store(q, out)
	return out
}

func rewrite(d Dialect, q string) string {
	var b strings.Builder
	b.Grow(len(q) + 8)
	n := 0
	code := func(s string) {
		if d == SQLite {
			b.WriteString(forUpdate.ReplaceAllString(s, ""))
			return
		}
		for {
			i := strings.IndexByte(s, '?')
			if i < 0 {
				b.WriteString(s)
				return
			}
			n++
			b.WriteString(s[:i])
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			s = s[i+1:]
		}
	}
	start := 0 // start of the pending code segment
	for i := 0; i < len(q); {
		var end int // end of a literal/comment starting at i, or -1
		switch {
		case q[i] == '\'' || q[i] == '"':
			end = closeQuote(q, i, q[i])
		case strings.HasPrefix(q[i:], "--"):
			end = strings.IndexByte(q[i:], '\n')
			if end < 0 {
				end = len(q)
			} else {
				end += i + 1
			}
		case strings.HasPrefix(q[i:], "/*"):
			end = strings.Index(q[i+2:], "*/")
			if end < 0 {
				end = len(q)
			} else {
				end += i + 4
			}
		default:
			i++
			continue
		}
		code(q[start:i])
		b.WriteString(q[i:end])
		i, start = end, end
	}
	code(q[start:])
	return b.String()
}

// closeQuote returns the index after the quote that closes the one at i;
// a doubled quote is an escaped one.
func closeQuote(q string, i int, quote byte) int {
	for j := i + 1; j < len(q); j++ {
		if q[j] != quote {
			continue
		}
		if j+1 < len(q) && q[j+1] == quote {
			j++
			continue
		}
		return j + 1
	}
	return len(q)
}
