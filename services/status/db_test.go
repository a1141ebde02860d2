package status

import (
	"testing"

	"github.com/kanton/kundencenter/store/sqldb"
	"github.com/kanton/kundencenter/store/sqldb/sqldbtest"
)

// backends lists the databases every store test runs against.
var backends = sqldbtest.Dialects

// openDB returns a migrated database of the backend (see sqldbtest.Open).
func openDB(t testing.TB, backend string) *sqldb.DB {
	t.Helper()
	return sqldbtest.Open(t, backend, Migrations())
}
