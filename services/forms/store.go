package forms

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/kanton/kundencenter/keyring"
	"github.com/kanton/kundencenter/services/forms/form"
	"github.com/kanton/kundencenter/services/forms/payment"
	"github.com/kanton/kundencenter/store/sqldb"
)

// Owner kinds: whose a draft or submission is (rp.Session.Owner).
const (
	OwnerPerson       = "person"
	OwnerOrganisation = "organisation"
)

// Owner is whose data a draft or submission is.
type Owner struct {
	Kind string // OwnerPerson or OwnerOrganisation
	ID   string // the person's subject or the organisation's ID
}

// Draft states.
const (
	DraftOpen = "open"
	DraftSent = "sent"
)

// Draft is a form being filled in. It stays on the form version it began
// with.
type Draft struct {
	ID        string
	Owner     Owner
	CreatedBy string // subject of the person who started it
	FormID    string
	Version   int
	Answers   form.Answers
	State     string
	Created   time.Time
	Updated   time.Time
	Expires   time.Time
	Reminded  bool
}

// Submission is a sent form.
type Submission struct {
	ID              string // a UUID; the messageId of the case
	DraftID         string
	Reference       string // shown to the person, e.g. "F-7K2M-9QXD"
	Owner           Owner
	SubmittedBy     string // subject of the person at the keyboard
	SubmittedByName string
	Representation  string // the representation it was sent under (acting for a person); ""
	FormID          string
	Version         int
	Answers         form.Answers
	Lang            string
	PaymentID       string
	Created         time.Time
	CaseID          string // the status service's businessProcessId, once created
	CaseReference   string
	CaseURL         string
}

// Payment is one payment attempt of a draft.
type Payment struct {
	ID          string // our refno
	DraftID     string
	PSPID       string
	Amount      int64
	Status      payment.Status
	Method      string
	RedirectURL string
	Expires     time.Time
	Created     time.Time
	Updated     time.Time
}

// Attachment is an uploaded file of a draft.
type Attachment struct {
	ID          string
	DraftID     string
	Field       string
	Name        string
	ContentType string
	Size        int64
	Data        []byte
	Created     time.Time
}

// Job kinds of the form service.
const (
	jobCase   = "forms.case"   // create the case of a submission (key: submission id)
	jobNotify = "forms.notify" // tell the owner the form was received (key: submission id)
	jobSweep  = "forms.sweep"  // delete expired drafts, remind before expiry (key: day)
	// jobReceipt records a sending for a represented person in their
	// timeline at the IdP (key: submission id).
	jobReceipt = "forms.receipt"
)

// store keeps the service's data in its own tables through sqldb; answers,
// names and files are sealed with the key ring.
type store struct {
	db   *sqldb.DB
	ring *keyring.Ring
}

// migrationsFS returns the migrations in the layout sqldb.DB.Migrate wants.
func migrationsFS() fs.FS {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // cannot happen with a valid embed
	}
	return sub
}

// Migrate creates or updates the form service's tables.
func Migrate(ctx context.Context, db *sqldb.DB) error {
	if err := db.Migrate(ctx, migrationsFS()); err != nil {
		return fmt.Errorf("migrate forms: %w", err)
	}
	return nil
}

func (s *store) seal(kind, id string, v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return s.ring.Seal(raw, []byte("forms-"+kind+":"+id)), nil
}

func (s *store) open(kind, id string, sealed []byte, v any) error {
	raw, err := s.ring.Open(sealed, []byte("forms-"+kind+":"+id))
	if err != nil {
		return fmt.Errorf("open %s %s: %w", kind, id, err)
	}
	return json.Unmarshal(raw, v)
}

const draftColumns = `id, owner_kind, owner_id, created_by, form_id, form_version, answers, state, created_at, updated_at, expires_at, reminded`

type scanner interface{ Scan(dest ...any) error }

func (s *store) scanDraft(row scanner) (*Draft, error) {
	var d Draft
	var sealed []byte
	if err := row.Scan(&d.ID, &d.Owner.Kind, &d.Owner.ID, &d.CreatedBy, &d.FormID, &d.Version, &sealed,
		&d.State, &d.Created, &d.Updated, &d.Expires, &d.Reminded); err != nil {
		return nil, err
	}
	if err := s.open("draft", d.ID, sealed, &d.Answers); err != nil {
		return nil, err
	}
	if d.Answers == nil {
		d.Answers = form.Answers{}
	}
	return &d, nil
}

// createDraft stores a new draft.
func (s *store) createDraft(ctx context.Context, d *Draft) error {
	sealed, err := s.seal("draft", d.ID, d.Answers)
	if err != nil {
		return err
	}
	_, err = s.db.Exec(ctx, `INSERT INTO forms_drafts (`+draftColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`,
		d.ID, d.Owner.Kind, d.Owner.ID, d.CreatedBy, d.FormID, d.Version, sealed, d.State,
		d.Created, d.Updated, d.Expires, d.Reminded)
	if err != nil {
		return fmt.Errorf("create draft: %w", err)
	}
	return nil
}

// draft returns the draft id of owner; sqldb.ErrNotFound when there is none
// (or it belongs to someone else).
func (s *store) draft(ctx context.Context, owner Owner, id string) (*Draft, error) {
	d, err := s.scanDraft(s.db.QueryRow(ctx, `SELECT `+draftColumns+` FROM forms_drafts
		WHERE id = ? AND owner_kind = ? AND owner_id = ?`, id, owner.Kind, owner.ID))
	if err != nil {
		return nil, fmt.Errorf("load draft: %w", err)
	}
	return d, nil
}

// saveAnswers replaces the answers of an open draft and extends its
// retention to expires.
func (s *store) saveAnswers(ctx context.Context, d *Draft, now, expires time.Time) error {
	sealed, err := s.seal("draft", d.ID, d.Answers)
	if err != nil {
		return err
	}
	n, err := s.db.Exec(ctx, `UPDATE forms_drafts SET answers = ?, updated_at = ?, expires_at = ?, reminded = ?
		WHERE id = ? AND state = ?`, sealed, now, expires, false, d.ID, DraftOpen)
	if err != nil {
		return fmt.Errorf("save draft: %w", err)
	}
	if n == 0 {
		return errAlreadySent
	}
	d.Updated, d.Expires = now, expires
	return nil
}

var errAlreadySent = errors.New("the draft has been sent")

// drafts lists the open drafts of owner, newest first.
func (s *store) drafts(ctx context.Context, owner Owner) ([]*Draft, error) {
	return s.queryDrafts(ctx, `SELECT `+draftColumns+` FROM forms_drafts
		WHERE owner_kind = ? AND owner_id = ? AND state = ? ORDER BY updated_at DESC`, owner.Kind, owner.ID, DraftOpen)
}

// queryDrafts returns the drafts a query selects (draftColumns).
func (s *store) queryDrafts(ctx context.Context, q string, args ...any) ([]*Draft, error) {
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list drafts: %w", err)
	}
	defer rows.Close()
	var out []*Draft
	for rows.Next() {
		d, err := s.scanDraft(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// deleteDraft deletes an open draft of owner with its attachments and
// payments.
func (s *store) deleteDraft(ctx context.Context, owner Owner, id string) error {
	_, err := s.db.Exec(ctx, `DELETE FROM forms_drafts WHERE id = ? AND owner_kind = ? AND owner_id = ? AND state = ?`,
		id, owner.Kind, owner.ID, DraftOpen)
	return err
}

// purgeAccount deletes the open drafts a person started or owns (the IdP's
// account-purged event).
func (s *store) purgeAccount(ctx context.Context, sub string) (int64, error) {
	return s.db.Exec(ctx, `DELETE FROM forms_drafts WHERE state = ? AND (created_by = ? OR (owner_kind = ? AND owner_id = ?))`,
		DraftOpen, sub, OwnerPerson, sub)
}

const submissionColumns = `id, draft_id, reference, owner_kind, owner_id, submitted_by, submitted_by_name, form_id, form_version,
	answers, lang, payment_id, created_at, case_id, case_reference, case_url, representation`

func (s *store) scanSubmission(row scanner) (*Submission, error) {
	var x Submission
	var name, answers []byte
	if err := row.Scan(&x.ID, &x.DraftID, &x.Reference, &x.Owner.Kind, &x.Owner.ID, &x.SubmittedBy, &name,
		&x.FormID, &x.Version, &answers, &x.Lang, &x.PaymentID, &x.Created, &x.CaseID, &x.CaseReference, &x.CaseURL,
		&x.Representation); err != nil {
		return nil, err
	}
	if err := s.open("submitter", x.ID, name, &x.SubmittedByName); err != nil {
		return nil, err
	}
	if err := s.open("submission", x.ID, answers, &x.Answers); err != nil {
		return nil, err
	}
	return &x, nil
}

// submission returns a submission of owner.
func (s *store) submission(ctx context.Context, owner Owner, id string) (*Submission, error) {
	x, err := s.scanSubmission(s.db.QueryRow(ctx, `SELECT `+submissionColumns+` FROM forms_submissions
		WHERE id = ? AND owner_kind = ? AND owner_id = ?`, id, owner.Kind, owner.ID))
	if err != nil {
		return nil, fmt.Errorf("load submission: %w", err)
	}
	return x, nil
}

// submissionByID returns a submission whoever owns it (jobs).
func (s *store) submissionByID(ctx context.Context, id string) (*Submission, error) {
	x, err := s.scanSubmission(s.db.QueryRow(ctx, `SELECT `+submissionColumns+` FROM forms_submissions WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("load submission %s: %w", id, err)
	}
	return x, nil
}

// submissionOfDraft returns the submission of a sent draft.
func (s *store) submissionOfDraft(ctx context.Context, draftID string) (*Submission, error) {
	x, err := s.scanSubmission(s.db.QueryRow(ctx, `SELECT `+submissionColumns+` FROM forms_submissions WHERE draft_id = ?`, draftID))
	if err != nil {
		return nil, fmt.Errorf("load submission of draft %s: %w", draftID, err)
	}
	return x, nil
}

// submit turns the open draft into a submission exactly once: the draft row
// is locked, a sent draft returns its submission (created false), and the
// UNIQUE draft_id makes a second one impossible. The case job is queued in
// the same transaction, so a submission is never without its case.
func (s *store) submit(ctx context.Context, draftID string, fill func(d *Draft) (*Submission, error)) (*Submission, bool, error) {
	var out *Submission
	created := false
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		out, created = nil, false
		d, err := s.scanDraft(tx.QueryRow(ctx, `SELECT `+draftColumns+` FROM forms_drafts WHERE id = ? FOR UPDATE`, draftID))
		if err != nil {
			return fmt.Errorf("lock draft: %w", err)
		}
		if d.State == DraftSent {
			out, err = s.scanSubmission(tx.QueryRow(ctx, `SELECT `+submissionColumns+` FROM forms_submissions WHERE draft_id = ?`, draftID))
			return err
		}
		x, err := fill(d)
		if err != nil {
			return err
		}
		name, err := s.seal("submitter", x.ID, x.SubmittedByName)
		if err != nil {
			return err
		}
		answers, err := s.seal("submission", x.ID, x.Answers)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO forms_submissions (`+submissionColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
			x.ID, x.DraftID, x.Reference, x.Owner.Kind, x.Owner.ID, x.SubmittedBy, name, x.FormID, x.Version,
			answers, x.Lang, x.PaymentID, x.Created, "", "", "", x.Representation); err != nil {
			return fmt.Errorf("insert submission: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE forms_drafts SET state = ?, updated_at = ? WHERE id = ?`, DraftSent, x.Created, draftID); err != nil {
			return err
		}
		if err := tx.Enqueue(ctx, jobCase, x.ID, []byte(x.ID), x.Created); err != nil {
			return err
		}
		out, created = x, true
		return nil
	})
	if errors.Is(err, sqldb.ErrConflict) { // lost a race the lock did not prevent
		x, err2 := s.submissionOfDraft(ctx, draftID)
		return x, false, err2
	}
	if err != nil {
		return nil, false, fmt.Errorf("submit draft %s: %w", draftID, err)
	}
	return out, created, nil
}

// setCase records the case created for a submission.
func (s *store) setCase(ctx context.Context, id string, c Case) error {
	_, err := s.db.Exec(ctx, `UPDATE forms_submissions SET case_id = ?, case_reference = ?, case_url = ? WHERE id = ?`,
		c.BusinessProcessID, c.Reference, c.URL, id)
	return err
}

const paymentColumns = `id, draft_id, psp_id, amount, status, method, redirect_url, expires_at, created_at, updated_at`

func scanPayment(row scanner) (*Payment, error) {
	var p Payment
	var st string
	if err := row.Scan(&p.ID, &p.DraftID, &p.PSPID, &p.Amount, &st, &p.Method, &p.RedirectURL, &p.Expires, &p.Created, &p.Updated); err != nil {
		return nil, err
	}
	p.Status = payment.Status(st)
	return &p, nil
}

// livePayment returns the pending or paid payment of a draft;
// sqldb.ErrNotFound when there is none.
func (s *store) livePayment(ctx context.Context, draftID string) (*Payment, error) {
	return scanPayment(s.db.QueryRow(ctx, `SELECT `+paymentColumns+` FROM forms_payments
		WHERE draft_id = ? AND status IN ('pending', 'authorized', 'captured')`, draftID))
}

// paymentByID returns a payment by our reference.
func (s *store) paymentByID(ctx context.Context, id string) (*Payment, error) {
	return scanPayment(s.db.QueryRow(ctx, `SELECT `+paymentColumns+` FROM forms_payments WHERE id = ?`, id))
}

// newPayment inserts a pending payment, started by who, unless the draft
// has a live one, which it returns instead (created false). The partial
// unique index keeps it to one even under concurrent requests.
func (s *store) newPayment(ctx context.Context, p *Payment, who submitter) (*Payment, bool, error) {
	sealed, err := s.seal("payer", p.ID, who)
	if err != nil {
		return nil, false, err
	}
	_, err = s.db.Exec(ctx, `INSERT INTO forms_payments (`+paymentColumns+`, submitter) VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
		p.ID, p.DraftID, p.PSPID, p.Amount, string(p.Status), p.Method, p.RedirectURL, p.Expires, p.Created, p.Updated, sealed)
	if errors.Is(err, sqldb.ErrConflict) {
		live, err := s.livePayment(ctx, p.DraftID)
		return live, false, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("insert payment: %w", err)
	}
	return p, true, nil
}

// paymentSubmitter returns who started payment id.
func (s *store) paymentSubmitter(ctx context.Context, id string) (submitter, error) {
	var who submitter
	var sealed []byte
	if err := s.db.QueryRow(ctx, `SELECT submitter FROM forms_payments WHERE id = ?`, id).Scan(&sealed); err != nil {
		return who, fmt.Errorf("load payer of %s: %w", id, err)
	}
	return who, s.open("payer", id, sealed, &who)
}

// setPaymentSession records the provider's transaction of a payment.
func (s *store) setPaymentSession(ctx context.Context, id, pspID, redirect string, expires, now time.Time) error {
	_, err := s.db.Exec(ctx, `UPDATE forms_payments SET psp_id = ?, redirect_url = ?, expires_at = ?, updated_at = ? WHERE id = ?`,
		pspID, redirect, expires, now, id)
	return err
}

// movePayment applies a provider's event to payment id if the transition
// is allowed (payment.CanMove); it returns the payment after the event and
// whether it changed.
func (s *store) movePayment(ctx context.Context, id string, e payment.Event, now time.Time) (*Payment, bool, error) {
	var out *Payment
	changed := false
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		changed = false
		p, err := scanPayment(tx.QueryRow(ctx, `SELECT `+paymentColumns+` FROM forms_payments WHERE id = ? FOR UPDATE`, id))
		if err != nil {
			return err
		}
		out = p
		if e.PSPID != "" && p.PSPID != "" && e.PSPID != p.PSPID {
			return fmt.Errorf("payment %s: event of transaction %s, want %s", id, e.PSPID, p.PSPID)
		}
		if !payment.CanMove(p.Status, e.Status) {
			return nil
		}
		method := p.Method
		if e.Method != "" {
			method = e.Method
		}
		if _, err := tx.Exec(ctx, `UPDATE forms_payments SET status = ?, method = ?, updated_at = ? WHERE id = ?`,
			string(e.Status), method, now, id); err != nil {
			return err
		}
		p.Status, p.Method, p.Updated = e.Status, method, now
		changed = true
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("move payment %s to %s: %w", id, e.Status, err)
	}
	return out, changed, nil
}

// addAttachment stores a file of a draft unless the draft's files would
// exceed maxTotal bytes.
func (s *store) addAttachment(ctx context.Context, a *Attachment, maxTotal int64) error {
	name, err := s.seal("attachment-name", a.ID, a.Name)
	if err != nil {
		return err
	}
	data := s.ring.Seal(a.Data, []byte("forms-attachment:"+a.ID))
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var total int64
		if err := tx.QueryRow(ctx, `SELECT COALESCE(SUM(size), 0) FROM forms_attachments WHERE draft_id = ?`, a.DraftID).Scan(&total); err != nil {
			return err
		}
		if total+a.Size > maxTotal {
			return errTooLarge
		}
		_, err := tx.Exec(ctx, `INSERT INTO forms_attachments (id, draft_id, field, name, content_type, size, data, created_at)
			VALUES (?,?,?,?,?,?,?,?)`, a.ID, a.DraftID, a.Field, name, a.ContentType, a.Size, data, a.Created)
		return err
	})
}

var errTooLarge = errors.New("attachments too large")

// attachments lists the files of a draft without their contents.
func (s *store) attachments(ctx context.Context, draftID string) ([]*Attachment, error) {
	rows, err := s.db.Query(ctx, `SELECT id, field, name, content_type, size, created_at FROM forms_attachments
		WHERE draft_id = ? ORDER BY created_at, id`, draftID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Attachment
	for rows.Next() {
		a := &Attachment{DraftID: draftID}
		var name []byte
		if err := rows.Scan(&a.ID, &a.Field, &name, &a.ContentType, &a.Size, &a.Created); err != nil {
			return nil, err
		}
		if err := s.open("attachment-name", a.ID, name, &a.Name); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// deleteAttachment removes a file of a draft.
func (s *store) deleteAttachment(ctx context.Context, draftID, id string) error {
	_, err := s.db.Exec(ctx, `DELETE FROM forms_attachments WHERE id = ? AND draft_id = ?`, id, draftID)
	return err
}

// expiring returns open drafts that expire before t and were not reminded.
func (s *store) expiring(ctx context.Context, before time.Time) ([]*Draft, error) {
	return s.queryDrafts(ctx, `SELECT `+draftColumns+` FROM forms_drafts
		WHERE state = ? AND reminded = ? AND expires_at < ?`, DraftOpen, false, before)
}

// markReminded records that the expiry reminder went out.
func (s *store) markReminded(ctx context.Context, id string) error {
	_, err := s.db.Exec(ctx, `UPDATE forms_drafts SET reminded = ? WHERE id = ?`, true, id)
	return err
}

// deleteExpired deletes open drafts whose retention ended.
func (s *store) deleteExpired(ctx context.Context, now time.Time) (int64, error) {
	return s.db.Exec(ctx, `DELETE FROM forms_drafts WHERE state = ? AND expires_at < ?`, DraftOpen, now)
}

// newID returns 128 random bits in hex (draft and attachment ids).
func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// referenceAlphabet is Crockford's base 32 (no I, L, O, U: easy to read out).
const referenceAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// newReference returns a submission reference such as "F-7K2M-9QXD".
func newReference() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	var sb strings.Builder
	sb.WriteString("F-")
	for i, x := range b {
		if i == 4 {
			sb.WriteByte('-')
		}
		sb.WriteByte(referenceAlphabet[int(x)%32])
	}
	return sb.String()
}
