package status

// The answers a person gives to a request in a case, and their files.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kanton/kundencenter/store/sqldb"
)

// ErrNoRequest is an answer to a case that asks nothing (any more).
var ErrNoRequest = errors.New("the case has no open Rückfrage")

// Answer is what a person sent back on a Rückfrage.
type Answer struct {
	ID         string
	RequestSeq int64 // the rueckfrage entry answered
	Text       string
	BySub      string // "" once the person's account was purged
	CreatedAt  time.Time
	Files      []File
}

// File is a file of an answer (Data only where asked for).
type File struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	ContentType string `json:"contentType"`
	Size        int64  `json:"size"`
	Data        []byte `json:"-"`
}

// AddAnswer records an answer to the case's open Rückfrage, under the
// case's row lock.
func (s *Store) AddAnswer(ctx context.Context, caseID, bySub, text string, files []File) error {
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		c, err := scanCase(tx.QueryRow(ctx, `SELECT `+caseColumns+` FROM status_cases WHERE id = ? FOR UPDATE`, caseID))
		if err != nil {
			return err
		}
		if c.Status != Rueckfrage {
			return ErrNoRequest
		}
		events, err := loadEvents(ctx, tx, caseID)
		if err != nil {
			return err
		}
		st, err := Replay(events)
		if err != nil {
			return err
		}
		id := newID()
		if _, err := tx.Exec(ctx, `INSERT INTO status_answers (id, case_id, request_seq, body, by_sub, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			id, caseID, st.Current().Seq, text, bySub, s.now().UTC().Truncate(time.Microsecond)); err != nil {
			return fmt.Errorf("insert answer: %w", err)
		}
		for _, f := range files {
			if _, err := tx.Exec(ctx, `INSERT INTO status_files (id, answer_id, name, content_type, size, data) VALUES (?, ?, ?, ?, ?, ?)`,
				newID(), id, f.Name, f.ContentType, int64(len(f.Data)), f.Data); err != nil {
				return fmt.Errorf("insert file: %w", err)
			}
		}
		return nil
	})
}

// Answers returns the answers of a case, oldest first, with their files'
// names and types (not their data).
func (s *Store) Answers(ctx context.Context, caseID string) ([]Answer, error) {
	rows, err := s.db.Query(ctx, `SELECT a.id, a.request_seq, a.body, a.by_sub, a.created_at, f.id, f.name, f.content_type, f.size
		FROM status_answers a LEFT JOIN status_files f ON f.answer_id = a.id
		WHERE a.case_id = ? ORDER BY a.created_at, a.id, f.name, f.id`, caseID)
	if err != nil {
		return nil, fmt.Errorf("load answers: %w", err)
	}
	defer rows.Close()
	var out []Answer
	for rows.Next() {
		var (
			a              Answer
			fid, name, typ *string
			size           *int64
		)
		if err := rows.Scan(&a.ID, &a.RequestSeq, &a.Text, &a.BySub, &a.CreatedAt, &fid, &name, &typ, &size); err != nil {
			return nil, fmt.Errorf("load answers: %w", err)
		}
		if len(out) == 0 || out[len(out)-1].ID != a.ID {
			out = append(out, a)
		}
		if fid != nil {
			last := &out[len(out)-1]
			last.Files = append(last.Files, File{ID: *fid, Name: *name, ContentType: *typ, Size: *size})
		}
	}
	return out, rows.Err()
}

// AnswerFile returns a file of one of the case's answers, with its data.
func (s *Store) AnswerFile(ctx context.Context, caseID, fileID string) (File, error) {
	var f File
	err := s.db.QueryRow(ctx, `SELECT f.id, f.name, f.content_type, f.size, f.data FROM status_files f
		JOIN status_answers a ON a.id = f.answer_id WHERE a.case_id = ? AND f.id = ?`, caseID, fileID).
		Scan(&f.ID, &f.Name, &f.ContentType, &f.Size, &f.Data)
	if errors.Is(err, sqldb.ErrNotFound) {
		return File{}, ErrNotFound
	}
	return f, err
}
