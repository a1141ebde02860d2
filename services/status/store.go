package status

import (
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/kanton/kundencenter/store/sqldb"
)

//go:embed migrations
var migrations embed.FS

// Migrations returns the service's migrations (postgres/ and sqlite/) for
// sqldb.DB.Migrate.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err)
	}
	return sub
}

// Errors of the store, matched with errors.Is.
var (
	ErrNotFound     = errors.New("no such case")
	ErrMessageReuse = errors.New("messageId already used with another body")
	ErrForbidden    = errors.New("the client may not touch this service's cases")
)

// Case is a case as stored: who it belongs to, and a copy of its current
// entry (the history decides it; see Replay).
type Case struct {
	ID                 string // businessProcessId
	Reference          string
	Service            string
	ClientID           string // the client that created it
	Title              Text
	Owner              Owner // zero once the owner's account was purged
	Viewable           bool  // false once the owner's account was purged
	SubmittedBy        Person
	SubmissionID       string
	ExpectedCompletion string // YYYY-MM-DD or ""
	Test               bool
	Status             Status
	Outcome            Outcome
	Deadline           string
	Closed             bool
	CreatedAt          time.Time
	ChangedAt          time.Time
	Events             int64 // seq of the last event
	NotifyDue          *time.Time
	EventDate          time.Time // of the current entry; zero for cases from before migration 0002
}

// Person names who sent something in.
type Person struct {
	Sub  string `json:"sub"`
	Name string `json:"name,omitempty"`
}

// Message identifies an eCH-0058 message for idempotency: its sender, its
// messageId and a hash of its request.
type Message struct {
	ClientID  string
	MessageID string
	Hash      []byte
}

// Receipt is the stored answer to a message: the same message gets it again.
type Receipt struct {
	Code int
	Body []byte
}

// Store keeps cases in the service's own tables through sqldb.
type Store struct {
	db     *sqldb.DB
	now    func() time.Time
	window time.Duration // notification window (debounce)
}

// NewStore returns a Store on db (migrated with Migrations). window is how
// long notifiable changes are gathered into one e-mail.
func NewStore(db *sqldb.DB, now func() time.Time, window time.Duration) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, now: now, window: window}
}

// JobNotify is the kind of the job that sends one case's notification.
const JobNotify = "status.notify"

// notifyJob is the payload of a JobNotify job.
type notifyJob struct {
	CaseID string    `json:"case"`
	Due    time.Time `json:"due"`
}

const caseColumns = `id, reference, service, client_id, title, owner_kind, owner_id, viewable,
	submitted_by_sub, submitted_by_name, submission_id, expected_completion, test,
	status, outcome, deadline, closed, created_at, changed_at, events, notify_due, event_date`

type scanner interface{ Scan(dest ...any) error }

// scanCase scans the caseColumns of row, and then extra.
func scanCase(row scanner, extra ...any) (Case, error) {
	var (
		c     Case
		title string
		kind  string
		id    string
	)
	err := row.Scan(append([]any{&c.ID, &c.Reference, &c.Service, &c.ClientID, &title, &kind, &id, &c.Viewable,
		&c.SubmittedBy.Sub, &c.SubmittedBy.Name, &c.SubmissionID, &c.ExpectedCompletion, &c.Test,
		&c.Status, &c.Outcome, &c.Deadline, &c.Closed, &c.CreatedAt, &c.ChangedAt, &c.Events, &c.NotifyDue, &c.EventDate}, extra...)...)
	if errors.Is(err, sqldb.ErrNotFound) {
		return Case{}, ErrNotFound
	}
	if err != nil {
		return Case{}, err
	}
	if err := json.Unmarshal([]byte(title), &c.Title); err != nil {
		return Case{}, fmt.Errorf("case %s: title: %w", c.ID, err)
	}
	c.Owner = Owner{Kind: kind}
	if kind == OwnerPerson {
		c.Owner.Sub = id
	} else {
		c.Owner.ID = id
	}
	return c, nil
}

// remembered returns the stored answer to m, nil if m is new, or
// ErrMessageReuse if its messageId came with another request.
func remembered(ctx context.Context, tx *sqldb.Tx, m Message) (*Receipt, error) {
	var (
		hash []byte
		a    Receipt
	)
	err := tx.QueryRow(ctx, `SELECT body_hash, code, answer FROM status_messages WHERE client_id = ? AND message_id = ?`,
		m.ClientID, m.MessageID).Scan(&hash, &a.Code, &a.Body)
	switch {
	case errors.Is(err, sqldb.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("look up message: %w", err)
	case !bytes.Equal(hash, m.Hash):
		return nil, ErrMessageReuse
	}
	if a.Code == 201 {
		a.Code = 200 // a repeat creates nothing
	}
	return &a, nil
}

const insertMessage = `INSERT INTO status_messages (client_id, message_id, body_hash, case_id, code, answer, created_at)
	VALUES (?, ?, ?, ?, ?, ?, ?)`

func (s *Store) messageArgs(m Message, caseID string, a Receipt) []any {
	return []any{m.ClientID, m.MessageID, m.Hash, caseID, a.Code, a.Body, s.now().UTC()}
}

func (s *Store) remember(ctx context.Context, tx *sqldb.Tx, m Message, caseID string, a Receipt) error {
	_, err := tx.Exec(ctx, insertMessage, s.messageArgs(m, caseID, a)...)
	if err != nil {
		return fmt.Errorf("record message: %w", err)
	}
	return nil
}

// NewCase is a case to create.
type NewCase struct {
	Service            string
	Title              Text
	Owner              Owner
	SubmittedBy        Person
	EventDate          time.Time
	ExpectedCompletion string
	Test               bool
	SubmissionID       string
	Note               Text
}

// Create creates a case in status eingereicht with a fresh reference number,
// or answers a repeated message as before. answer renders the reply from
// the new case; it is stored with the message.
func (s *Store) Create(ctx context.Context, m Message, nc NewCase, answer func(Case, State) ([]byte, error)) (Receipt, error) {
	out, err := s.create(ctx, m, nc, answer)
	if errors.Is(err, sqldb.ErrConflict) {
		// The same message arrived twice at once and the other copy
		// committed first: this time its answer is found.
		out, err = s.create(ctx, m, nc, answer)
	}
	return out, err
}

func (s *Store) create(ctx context.Context, m Message, nc NewCase, answer func(Case, State) ([]byte, error)) (Receipt, error) {
	var out Receipt
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		if a, err := remembered(ctx, tx, m); err != nil || a != nil {
			if a != nil {
				out = *a
			}
			return err
		}
		now := s.now().UTC().Truncate(time.Microsecond)
		year := now.In(zurich).Year()
		var n int64
		if err := tx.QueryRow(ctx, `INSERT INTO status_counters (year, last) VALUES (?, 1)
			ON CONFLICT (year) DO UPDATE SET last = status_counters.last + 1 RETURNING last`, year).Scan(&n); err != nil {
			return fmt.Errorf("next reference number: %w", err)
		}
		c := Case{ID: newID(), Reference: FormatReference(year, n), Service: nc.Service, ClientID: m.ClientID,
			Title: nc.Title, Owner: nc.Owner, Viewable: true, SubmittedBy: nc.SubmittedBy, SubmissionID: nc.SubmissionID,
			ExpectedCompletion: nc.ExpectedCompletion, Test: nc.Test, Status: Eingereicht, CreatedAt: now, ChangedAt: now, Events: 1,
			EventDate: nc.EventDate.UTC().Truncate(time.Microsecond)}
		ev := Event{Seq: 1, MessageID: m.MessageID, Action: ActionNew, EventDate: c.EventDate, Status: Eingereicht,
			Note: nc.Note, By: m.ClientID, RecordedAt: now}
		title, _ := json.Marshal(c.Title)
		if _, err := tx.Exec(ctx, `INSERT INTO status_cases (`+caseColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.Reference, c.Service, c.ClientID, string(title), c.Owner.Kind, c.Owner.Key(), c.Viewable,
			c.SubmittedBy.Sub, c.SubmittedBy.Name, c.SubmissionID, c.ExpectedCompletion, c.Test,
			string(c.Status), string(c.Outcome), c.Deadline, c.Closed, c.CreatedAt, c.ChangedAt, c.Events, c.NotifyDue, c.EventDate); err != nil {
			return fmt.Errorf("insert case: %w", err)
		}
		if err := insertEvent(ctx, tx, c.ID, ev); err != nil {
			return err
		}
		body, err := answer(c, State{History: []Entry{entryOf(ev)}})
		if err != nil {
			return err
		}
		out = Receipt{Code: 201, Body: body}
		return s.remember(ctx, tx, m, c.ID, out)
	})
	return out, err
}

func entryOf(ev Event) Entry {
	return Entry{Seq: ev.Seq, MessageID: ev.MessageID, EventDate: ev.EventDate, Status: ev.Status, Note: ev.Note,
		Deadline: ev.Deadline, Outcome: ev.Outcome, RecordedAt: ev.RecordedAt}
}

const insertEventSQL = `INSERT INTO status_events (case_id, seq, message_id, action, ref, event_date, status, note,
	deadline, outcome, notify, by_client, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func eventArgs(caseID string, ev Event) []any {
	note, _ := json.Marshal(ev.Note)
	return []any{caseID, ev.Seq, ev.MessageID, string(ev.Action), ev.Ref, ev.EventDate.UTC(), string(ev.Status), string(note),
		ev.Deadline, string(ev.Outcome), ev.Notify, ev.By, ev.RecordedAt}
}

func insertEvent(ctx context.Context, tx *sqldb.Tx, caseID string, ev Event) error {
	_, err := tx.Exec(ctx, insertEventSQL, eventArgs(caseID, ev)...)
	if err != nil {
		return fmt.Errorf("insert event: %w", err)
	}
	return nil
}

type querier interface {
	Query(ctx context.Context, q string, args ...any) (*sqldb.Rows, error)
}

func loadEvents(ctx context.Context, q querier, caseID string) ([]Event, error) {
	rows, err := q.Query(ctx, `SELECT seq, message_id, action, ref, event_date, status, note, deadline, outcome, notify,
		by_client, recorded_at FROM status_events WHERE case_id = ? ORDER BY seq`, caseID)
	if err != nil {
		return nil, fmt.Errorf("load events: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var (
			ev   Event
			note string
		)
		if err := rows.Scan(&ev.Seq, &ev.MessageID, &ev.Action, &ev.Ref, &ev.EventDate, &ev.Status, &note, &ev.Deadline,
			&ev.Outcome, &ev.Notify, &ev.By, &ev.RecordedAt); err != nil {
			return nil, fmt.Errorf("load events: %w", err)
		}
		if err := json.Unmarshal([]byte(note), &ev.Note); err != nil {
			return nil, fmt.Errorf("event %d note: %w", ev.Seq, err)
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}

// AddEvent adds a message's event to a case under a row lock, so that
// concurrent messages on one case apply one after the other: it replays
// the history with the event (see Replay), refuses it if the history
// breaks a rule, and updates the case's current entry. A new event dated
// at or after the current entry only needs the transition from the current
// status (Replay would append it), so the history is loaded only for late
// messages, corrections and recalls. may decides whether the sending
// client may touch the case's service. A notifiable event opens a
// notification window unless one is open (see notify.go). answer renders
// the reply from the case as it now stands.
func (s *Store) AddEvent(ctx context.Context, m Message, caseID string, may func(service string) bool, ev Event,
	answer func(Case) ([]byte, error)) (Receipt, error) {
	var out Receipt
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var (
			hash, body []byte
			code       *int
		)
		// The case, locked, and the message if it came before (one round trip).
		c, err := scanCase(tx.QueryRow(ctx, `SELECT `+caseColumns+`,
			(SELECT body_hash FROM status_messages WHERE client_id = ? AND message_id = ?),
			(SELECT code FROM status_messages WHERE client_id = ? AND message_id = ?),
			(SELECT answer FROM status_messages WHERE client_id = ? AND message_id = ?)
			FROM status_cases WHERE id = ? FOR UPDATE`, m.ClientID, m.MessageID, m.ClientID, m.MessageID, m.ClientID, m.MessageID, caseID),
			&hash, &code, &body)
		if err != nil {
			return err
		}
		if !may(c.Service) {
			return ErrForbidden
		}
		if code != nil {
			if !bytes.Equal(hash, m.Hash) {
				return ErrMessageReuse
			}
			out = Receipt{Code: http.StatusOK, Body: body}
			return nil
		}
		if ev.Test != c.Test {
			return fmt.Errorf("%w: testDeliveryFlag %t on a case with testDeliveryFlag %t", ErrInvalid, ev.Test, c.Test)
		}
		now := s.now().UTC().Truncate(time.Microsecond)
		ev.Seq, ev.By, ev.RecordedAt, ev.EventDate = c.Events+1, m.ClientID, now, ev.EventDate.UTC().Truncate(time.Microsecond)
		if ev.Action == ActionNew && !c.EventDate.IsZero() && !ev.EventDate.Before(c.EventDate) {
			if !Allowed(c.Status, ev.Status) {
				return &TransitionError{From: c.Status, To: ev.Status}
			}
			c.Status, c.Outcome, c.Deadline, c.EventDate = ev.Status, ev.Outcome, ev.Deadline, ev.EventDate
		} else {
			events, err := loadEvents(ctx, tx, caseID)
			if err != nil {
				return err
			}
			st, err := Replay(append(events, ev))
			if err != nil {
				return err
			}
			cur := st.Current()
			c.Status, c.Outcome, c.Deadline, c.EventDate = cur.Status, cur.Outcome, cur.Deadline, cur.EventDate
		}
		c.Closed, c.ChangedAt, c.Events = c.Status.Final(), now, ev.Seq
		if ev.Notify && c.Viewable && !c.Test && (c.NotifyDue == nil || !c.NotifyDue.After(now)) {
			due := now.Add(s.window)
			c.NotifyDue = &due
			payload, _ := json.Marshal(notifyJob{CaseID: c.ID, Due: due})
			if err := tx.Enqueue(ctx, JobNotify, c.ID+"@"+due.Format(time.RFC3339Nano), payload, due); err != nil {
				return fmt.Errorf("enqueue notification: %w", err)
			}
		}
		reply, err := answer(c)
		if err != nil {
			return err
		}
		out = Receipt{Code: http.StatusCreated, Body: reply}
		const update = `UPDATE status_cases SET status = ?, outcome = ?, deadline = ?, closed = ?, changed_at = ?,
			events = ?, notify_due = ?, event_date = ? WHERE id = ?`
		args := []any{string(c.Status), string(c.Outcome), c.Deadline, c.Closed, c.ChangedAt, c.Events, c.NotifyDue, c.EventDate, c.ID}
		if tx.Dialect() == sqldb.Postgres {
			// One round trip for the three writes (SQLite, in-process,
			// has no data-modifying WITH and needs none).
			_, err := tx.Exec(ctx, `WITH e AS (`+insertEventSQL+`), m AS (`+insertMessage+`) `+update,
				slices.Concat(eventArgs(caseID, ev), s.messageArgs(m, c.ID, out), args)...)
			if err != nil {
				return fmt.Errorf("record event: %w", err)
			}
			return nil
		}
		if err := insertEvent(ctx, tx, caseID, ev); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, update, args...); err != nil {
			return fmt.Errorf("update case: %w", err)
		}
		return s.remember(ctx, tx, m, c.ID, out)
	})
	return out, err
}

// Get returns a case by its ID with its effective history.
func (s *Store) Get(ctx context.Context, id string) (Case, State, error) {
	return s.get(ctx, `id = ?`, id)
}

// GetByReference returns a case by its reference number with its
// effective history.
func (s *Store) GetByReference(ctx context.Context, ref string) (Case, State, error) {
	return s.get(ctx, `reference = ?`, ref)
}

// head returns a case without its history.
func (s *Store) head(ctx context.Context, id string) (Case, error) {
	return scanCase(s.db.QueryRow(ctx, `SELECT `+caseColumns+` FROM status_cases WHERE id = ?`, id))
}

func (s *Store) get(ctx context.Context, where string, arg string) (Case, State, error) {
	c, err := scanCase(s.db.QueryRow(ctx, `SELECT `+caseColumns+` FROM status_cases WHERE `+where, arg))
	if err != nil {
		return Case{}, State{}, err
	}
	events, err := loadEvents(ctx, s.db, c.ID)
	if err != nil {
		return Case{}, State{}, err
	}
	st, err := Replay(events)
	if err != nil {
		return Case{}, State{}, fmt.Errorf("case %s: %w", c.ID, err)
	}
	return c, st, nil
}

// Cursor is the position after the last case of a page of the list.
type Cursor struct {
	ChangedAt time.Time
	ID        string
}

// Open returns how many open viewable cases owner has, and the newest
// limit of them (newest change first).
func (s *Store) Open(ctx context.Context, owner Owner, limit int) (int, []Case, error) {
	var n int
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM status_cases WHERE owner_kind = ? AND owner_id = ? AND viewable AND NOT closed`,
		owner.Kind, owner.Key()).Scan(&n); err != nil {
		return 0, nil, fmt.Errorf("count open cases: %w", err)
	}
	cases, err := s.list(ctx, owner, Cursor{}, limit, ` AND NOT closed`)
	return n, cases, err
}

// List returns up to limit viewable cases of owner, newest change first,
// after the cursor (zero: from the start). The index status_cases_list
// serves it.
func (s *Store) List(ctx context.Context, owner Owner, after Cursor, limit int) ([]Case, error) {
	return s.list(ctx, owner, after, limit, "")
}

func (s *Store) list(ctx context.Context, owner Owner, after Cursor, limit int, cond string) ([]Case, error) {
	q := `SELECT ` + caseColumns + ` FROM status_cases WHERE owner_kind = ? AND owner_id = ? AND viewable` + cond
	args := []any{owner.Kind, owner.Key()}
	if !after.ChangedAt.IsZero() {
		q += ` AND (changed_at < ? OR (changed_at = ? AND id < ?))`
		args = append(args, after.ChangedAt, after.ChangedAt, after.ID)
	}
	q += ` ORDER BY changed_at DESC, id DESC LIMIT ?`
	rows, err := s.db.Query(ctx, q, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("list cases: %w", err)
	}
	defer rows.Close()
	var out []Case
	for rows.Next() {
		c, err := scanCase(rows)
		if err != nil {
			return nil, fmt.Errorf("list cases: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Purge applies an account's deletion (RISC account-purged): the cases it
// owns are no longer viewable and lose their owner, and the person is
// removed as submitter and as author of answers everywhere. The back
// office keeps the cases. It returns how many cases were touched.
func (s *Store) Purge(ctx context.Context, sub string) (int64, error) {
	if sub == "" {
		return 0, errors.New("purge: empty subject")
	}
	var n int64
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var err error
		n, err = tx.Exec(ctx, `UPDATE status_cases SET viewable = ?, owner_kind = '', owner_id = '', notify_due = NULL,
			submitted_by_sub = CASE WHEN submitted_by_sub = ? THEN '' ELSE submitted_by_sub END,
			submitted_by_name = CASE WHEN submitted_by_sub = ? THEN '' ELSE submitted_by_name END
			WHERE owner_kind = ? AND owner_id = ?`, false, sub, sub, OwnerPerson, sub)
		if err != nil {
			return fmt.Errorf("purge owned cases: %w", err)
		}
		// Submitted for someone else (an organisation, a represented person).
		m, err := tx.Exec(ctx, `UPDATE status_cases SET submitted_by_sub = '', submitted_by_name = '' WHERE submitted_by_sub = ?`, sub)
		if err != nil {
			return fmt.Errorf("purge submitter: %w", err)
		}
		n += m
		if _, err := tx.Exec(ctx, `UPDATE status_answers SET by_sub = '' WHERE by_sub = ?`, sub); err != nil {
			return fmt.Errorf("purge answers: %w", err)
		}
		return nil
	})
	return n, err
}

// newID returns a random UUID (version 4) for a case, an answer or a file.
func newID() string {
	var b [16]byte
	rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// validID reports whether s looks like an ID newID made.
func validID(s string) bool {
	return len(s) == 36 && strings.Count(s, "-") == 4
}
