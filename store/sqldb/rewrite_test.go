package sqldb

import "testing"

func TestRewrite(t *testing.T) {
	for _, c := range []struct{ in, pg, sqlite string }{
		{`SELECT ? , ?`, `SELECT $1 , $2`, `SELECT ? , ?`},
		{`SELECT '?''?', "a?" , ? -- ?` + "\n?", `SELECT '?''?', "a?" , $1 -- ?` + "\n$2", `SELECT '?''?', "a?" , ? -- ?` + "\n?"},
		{`SELECT /* ? */ ?`, `SELECT /* ? */ $1`, `SELECT /* ? */ ?`},
		{"SELECT x FROM t WHERE a = ? ORDER BY id LIMIT 1\n\tFOR UPDATE SKIP LOCKED",
			"SELECT x FROM t WHERE a = $1 ORDER BY id LIMIT 1\n\tFOR UPDATE SKIP LOCKED",
			"SELECT x FROM t WHERE a = ? ORDER BY id LIMIT 1"},
		{`SELECT 'for update' FROM t for update`, `SELECT 'for update' FROM t for update`, `SELECT 'for update' FROM t`},
		{`SELECT 'unterminated ?`, `SELECT 'unterminated ?`, `SELECT 'unterminated ?`},
	} {
		if got := rewrite(Postgres, c.in); got != c.pg {
			t.Errorf("postgres %q:\n got %q\nwant %q", c.in, got, c.pg)
		}
		if got := rewrite(SQLite, c.in); got != c.sqlite {
			t.Errorf("sqlite %q:\n got %q\nwant %q", c.in, got, c.sqlite)
		}
	}
}
