// Package sqldb is the one SQL layer under Kundencenter's stores: queries
// are written once and run on PostgreSQL (pgx) or SQLite (modernc).
//
// # Query text
//
// Write `?` placeholders; on PostgreSQL they become $1, $2, … (outside
// string literals, quoted identifiers and comments; the rewrite is cached
// per query text). `FOR UPDATE`, `FOR UPDATE SKIP LOCKED` and
// `FOR UPDATE NOWAIT` are dropped on SQLite, whose transactions start with
// BEGIN IMMEDIATE and so hold the write lock already. RETURNING and
// ON CONFLICT … DO … work on both. Never use now() or CURRENT_TIMESTAMP:
// pass the injected clock's time.
//
// # Types
//
//	PostgreSQL    SQLite     Go
//	timestamptz   TEXT       time.Time, *time.Time (nil is NULL)
//	boolean       INTEGER    bool
//	bytea         BLOB       []byte
//	bigint, text  same       int64, string
//	text (JSON)   TEXT       string / []byte
//
// SQLite stores a time as fixed-width UTC text to the microsecond
// ("2006-01-02T15:04:05.000000Z"), so text order is time order and
// comparisons with ? work. Times are passed and scanned as time.Time on
// both; scanned times are in UTC. The zero time.Time is written as NULL
// and NULL scans into a time.Time as the zero time; use *time.Time to tell
// NULL apart explicitly. SQLite columns that hold integer microseconds since
// the epoch (older tables) scan into time.Time as well; write them with
// IntTime. Lists of strings are List arguments and ScanList destinations:
// text[] on PostgreSQL, a JSON array in TEXT on SQLite.
//
// # Errors
//
// Row.Scan without a row returns ErrNotFound; a unique or primary key
// violation is ErrConflict and a foreign key violation ErrReference, on
// both dialects (errors.Is; the driver's error stays wrapped). Open and
// Ping report an unreachable database as ErrUnavailable.
//
// # Transactions
//
// DB.Tx runs a function in a transaction and runs it again after a
// serialization failure or deadlock (PostgreSQL) or SQLITE_BUSY, so the
// function must reset whatever it sets outside the transaction. Tx.Pgx and
// Tx.SQL expose the driver's transaction, e.g. for River's InsertTx; DB.Pool
// and DB.SQL the handles, e.g. for River's drivers.
//
// # Migrations
//
// DB.Migrate applies postgres/*.sql or sqlite/*.sql of an fs.FS in name
// order, each file in its own transaction, recorded in
// kc_schema_migrations; concurrent migrations from several processes are
// safe. It also creates the kit's kc_jobs table.
//
// # Jobs
//
// Tx.Enqueue records a durable job in the caller's transaction (kind and
// key unique: a repeat is a no-op). A Worker claims due jobs (FOR UPDATE
// SKIP LOCKED on PostgreSQL), leases them, runs the Handler for their kind
// and retries failures with exponential backoff until Permanent or
// MaxAttempts, when it logs an ERROR and keeps the job as failed.
package sqldb
