package portal

import (
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/kanton/kundencenter/store/sqldb"
)

//go:embed migrations
var migrations embed.FS

// Status of an enablement request.
const (
	StatusRequested = "requested"
	StatusApproved  = "approved"
	StatusRefused   = "refused"
)

// ErrNotFound is returned for an enablement that does not exist.
var ErrNotFound = errors.New("enablement not found")

// ErrDecided is returned when deciding a request that is not pending.
var ErrDecided = errors.New("enablement already decided")

// Enablement is one account's request to be enabled for a catalogue
// service, and the operators' decision.
type Enablement struct {
	ID          string
	AccountID   string
	Service     string // catalogue service ID
	Status      string // requested, approved, refused
	Locale      string // the language to tell the person in
	Note        string // the operator's reason for a refusal, optional
	RequestedAt time.Time
	DecidedAt   *time.Time
}

// Enablements stores enablement requests.
type Enablements struct {
	db     *sqldb.DB
	schema string
	now    func() time.Time
}

// OpenEnablements opens (and migrates) the enablement store at url:
// "sqlite:/path/portal.db" or a postgres URL (schema "portal").
func OpenEnablements(ctx context.Context, url string, now func() time.Time) (*Enablements, error) {
	return openSchema(ctx, url, "portal", now)
}

func openSchema(ctx context.Context, url, schema string, now func() time.Time) (*Enablements, error) {
	if strings.HasPrefix(url, "sqlite:") {
		schema = "" // SQLite: a file of its own instead of a schema
	}
	db, err := sqldb.Open(ctx, url, schema)
	if err != nil {
		return nil, fmt.Errorf("open portal store: %w", err)
	}
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		db.Close()
		return nil, err
	}
	if err := db.Migrate(ctx, sub); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate portal store: %w", err)
	}
	if now == nil {
		now = time.Now
	}
	return &Enablements{db: db, schema: schema, now: now}, nil
}

// Close closes the database.
func (e *Enablements) Close() error { return e.db.Close() }

const cols = `id, account_id, service, status, locale, note, requested_at, decided_at`

func scan(row interface{ Scan(...any) error }) (Enablement, error) {
	var x Enablement
	err := row.Scan(&x.ID, &x.AccountID, &x.Service, &x.Status, &x.Locale, &x.Note, &x.RequestedAt, &x.DecidedAt)
	if errors.Is(err, sqldb.ErrNotFound) {
		return Enablement{}, ErrNotFound
	}
	return x, err
}

// Request records that accountID asks to be enabled for service. Asking
// again while pending or approved changes nothing; after a refusal it
// opens the request again.
func (e *Enablements) Request(ctx context.Context, accountID, service, locale string) (Enablement, error) {
	var out Enablement
	err := e.db.Tx(ctx, func(tx *sqldb.Tx) error {
		cur, err := scan(tx.QueryRow(ctx, `SELECT `+cols+` FROM enablements WHERE account_id = ? AND service = ? FOR UPDATE`, accountID, service))
		switch {
		case errors.Is(err, ErrNotFound):
			out = Enablement{ID: newID(), AccountID: accountID, Service: service, Status: StatusRequested, Locale: locale, RequestedAt: e.now().UTC()}
			_, err = tx.Exec(ctx, `INSERT INTO enablements (`+cols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
				out.ID, out.AccountID, out.Service, out.Status, out.Locale, out.Note, out.RequestedAt, out.DecidedAt)
			return err
		case err != nil:
			return err
		case cur.Status == StatusRefused:
			cur.Status, cur.Note, cur.DecidedAt, cur.RequestedAt, cur.Locale = StatusRequested, "", nil, e.now().UTC(), locale
			_, err = tx.Exec(ctx, `UPDATE enablements SET status = ?, note = '', decided_at = NULL, requested_at = ?, locale = ? WHERE id = ?`,
				cur.Status, cur.RequestedAt, cur.Locale, cur.ID)
		}
		out = cur
		return err
	})
	if err != nil {
		return Enablement{}, fmt.Errorf("request enablement: %w", err)
	}
	return out, nil
}

// Get returns accountID's enablement for service.
func (e *Enablements) Get(ctx context.Context, accountID, service string) (Enablement, error) {
	return scan(e.db.QueryRow(ctx, `SELECT `+cols+` FROM enablements WHERE account_id = ? AND service = ?`, accountID, service))
}

// Approved reports whether accountID is enabled for service.
func (e *Enablements) Approved(ctx context.Context, accountID, service string) (bool, error) {
	x, err := e.Get(ctx, accountID, service)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil && x.Status == StatusApproved, err
}

// List returns the enablements with status ("" for all), oldest request
// first.
func (e *Enablements) List(ctx context.Context, status string) ([]Enablement, error) {
	rows, err := e.db.Query(ctx, `SELECT `+cols+` FROM enablements WHERE status = ? OR ? = '' ORDER BY requested_at, id`, status, status)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Enablement
	for rows.Next() {
		x, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// Decide approves or refuses the pending request id (note: the reason told
// to the person, optional).
func (e *Enablements) Decide(ctx context.Context, id string, approve bool, note string) (Enablement, error) {
	var out Enablement
	err := e.db.Tx(ctx, func(tx *sqldb.Tx) error {
		cur, err := scan(tx.QueryRow(ctx, `SELECT `+cols+` FROM enablements WHERE id = ? FOR UPDATE`, id))
		if err != nil {
			return err
		}
		if cur.Status != StatusRequested {
			out = cur
			return ErrDecided
		}
		now := e.now().UTC()
		cur.Status, cur.Note, cur.DecidedAt = StatusRefused, note, &now
		if approve {
			cur.Status = StatusApproved
		}
		_, err = tx.Exec(ctx, `UPDATE enablements SET status = ?, note = ?, decided_at = ? WHERE id = ?`, cur.Status, cur.Note, now, id)
		out = cur
		return err
	})
	if err != nil {
		return out, fmt.Errorf("decide enablement %s: %w", id, err)
	}
	return out, nil
}

func newID() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 10)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "F-" + string(b)
}
