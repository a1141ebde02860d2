package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/kanton/kundencenter/delegation"
	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/store/sqldb"
)

var _ delegation.RepresentationStore = (*Store)(nil)

const repColumns = `id, principal_id, representative_id, status, services, valid_until, code_selector, code_hash,
	pending_until, created_at, accepted_at, confirmed_at, ended_at, ended_by, updated_at`

func scanRep(r scanner) (rep delegation.Representation, err error) {
	var (
		principal, representative, selector sql.NullString
		status                              string
	)
	if err := r.Scan(&rep.ID, &principal, &representative, &status, sqldb.ScanList(&rep.Services), &rep.ValidUntil,
		&selector, &rep.CodeHash, &rep.PendingUntil, &rep.CreatedAt, &rep.AcceptedAt, &rep.ConfirmedAt, &rep.EndedAt,
		&rep.EndedBy, &rep.UpdatedAt); err != nil {
		return rep, translate(err)
	}
	rep.PrincipalID, rep.RepresentativeID, rep.CodeSelector = principal.String, representative.String, selector.String
	rep.Status = delegation.RepStatus(status)
	return rep, nil
}

func repArgs(r delegation.Representation) []any {
	return []any{r.ID, dbNullString(r.PrincipalID), dbNullString(r.RepresentativeID), string(r.Status), sqldb.List(r.Services),
		dbTime(r.ValidUntil), dbNullString(r.CodeSelector), r.CodeHash, dbTime(r.PendingUntil), dbTime(r.CreatedAt),
		dbTime(r.AcceptedAt), dbTime(r.ConfirmedAt), dbTime(r.EndedAt), r.EndedBy, dbTime(r.UpdatedAt)}
}

func checkRep(r delegation.Representation) error {
	if r.ID == "" || r.PrincipalID == "" {
		return errors.New("a representation needs an ID and a principal")
	}
	if len(r.Services) == 0 {
		return errors.New("a representation needs at least one service")
	}
	return nil
}

func insertRepEvents(ctx context.Context, q querier, id string, events []delegation.RepEvent) error {
	for _, e := range events {
		if id != "" && e.RepresentationID != id {
			return fmt.Errorf("event for representation %q written with %q", e.RepresentationID, id)
		}
		if _, err := exec(ctx, q, `INSERT INTO rep_events (representation_id, at, actor, action, client_id, detail)
			VALUES (?, ?, ?, ?, ?, ?)`, e.RepresentationID, dbTime(e.At), e.Actor, e.Action, e.ClientID, e.Detail); err != nil {
			return fmt.Errorf("append event: %w", err)
		}
	}
	return nil
}

// CreateRepresentation inserts a representation with its events and messages.
func (s *Store) CreateRepresentation(ctx context.Context, r delegation.Representation, events []delegation.RepEvent, out ...idp.Outgoing) error {
	if err := checkRep(r); err != nil {
		return fmt.Errorf("create representation: %w", err)
	}
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		if _, err := exec(ctx, tx, `INSERT INTO representations (`+repColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, repArgs(r)...); err != nil {
			return err
		}
		if err := insertRepEvents(ctx, tx, r.ID, events); err != nil {
			return err
		}
		return s.enqueue(ctx, tx, out)
	})
	if err != nil {
		return fmt.Errorf("create representation: %w", err)
	}
	return nil
}

// GetRepresentation returns a representation by ID or ErrNotFound.
func (s *Store) GetRepresentation(ctx context.Context, id string) (delegation.Representation, error) {
	r, err := scanRep(s.db.QueryRow(ctx, `SELECT `+repColumns+` FROM representations WHERE id = ?`, id))
	if err != nil {
		return r, fmt.Errorf("get representation: %w", err)
	}
	return r, nil
}

// UpdateRepresentation applies fn while holding the row lock (SELECT …
// FOR UPDATE; SQLite's write lock) and writes the result.
func (s *Store) UpdateRepresentation(ctx context.Context, id string,
	fn func(delegation.Representation) (delegation.Representation, []delegation.RepEvent, []idp.Outgoing, error),
) (delegation.Representation, error) {
	var next delegation.Representation
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		old, err := scanRep(tx.QueryRow(ctx, `SELECT `+repColumns+` FROM representations WHERE id = ? FOR UPDATE`, id))
		if err != nil {
			return err
		}
		old.Services = append([]string(nil), old.Services...)
		var events []delegation.RepEvent
		var out []idp.Outgoing
		next, events, out, err = fn(old)
		if err != nil {
			return err
		}
		if next.ID != id || next.PrincipalID != old.PrincipalID {
			return errors.New("the representation's ID and principal cannot change")
		}
		if err := checkRep(next); err != nil {
			return err
		}
		args := repArgs(next)
		if _, err := exec(ctx, tx, `UPDATE representations SET principal_id = ?, representative_id = ?, status = ?,
			services = ?, valid_until = ?, code_selector = ?, code_hash = ?, pending_until = ?, created_at = ?, accepted_at = ?,
			confirmed_at = ?, ended_at = ?, ended_by = ?, updated_at = ? WHERE id = ?`, append(args[1:], id)...); err != nil {
			return err
		}
		if err := insertRepEvents(ctx, tx, id, events); err != nil {
			return err
		}
		return s.enqueue(ctx, tx, out)
	})
	if err != nil {
		return delegation.Representation{}, fmt.Errorf("update representation: %w", err)
	}
	return next, nil
}

func (s *Store) listReps(ctx context.Context, where string, args ...any) ([]delegation.Representation, error) {
	rows, err := s.db.Query(ctx, `SELECT `+repColumns+` FROM representations WHERE `+where+
		` ORDER BY created_at DESC, id`, args...)
	return collect(rows, err, scanRep)
}

// ListRepresentationsBySelector returns the representations in state
// created whose code has this selector.
func (s *Store) ListRepresentationsBySelector(ctx context.Context, selector string) ([]delegation.Representation, error) {
	out, err := s.listReps(ctx, `code_selector = ? AND status = ?`, selector, string(delegation.RepCreated))
	if err != nil {
		return nil, fmt.Errorf("list representations by code: %w", err)
	}
	return out, nil
}

// ListRepresentations returns the account's representations, newest first.
func (s *Store) ListRepresentations(ctx context.Context, accountID string) ([]delegation.Representation, error) {
	out, err := s.listReps(ctx, `principal_id = ? OR representative_id = ?`, accountID, accountID)
	if err != nil {
		return nil, fmt.Errorf("list representations: %w", err)
	}
	return out, nil
}

// AppendRepEvents appends events to existing representations.
func (s *Store) AppendRepEvents(ctx context.Context, events ...delegation.RepEvent) error {
	if err := s.db.Tx(ctx, func(tx *sqldb.Tx) error { return insertRepEvents(ctx, tx, "", events) }); err != nil {
		return fmt.Errorf("append representation events: %w", err)
	}
	return nil
}

// ListRepEvents returns a representation's history, newest first.
func (s *Store) ListRepEvents(ctx context.Context, id string, limit int) ([]delegation.RepEvent, error) {
	rows, err := s.db.Query(ctx, `SELECT representation_id, at, actor, action, client_id, detail FROM rep_events
		WHERE representation_id = ? ORDER BY id DESC LIMIT ?`, id, limit)
	out, err := collect(rows, err, func(r scanner) (e delegation.RepEvent, err error) {
		return e, r.Scan(&e.RepresentationID, &e.At, &e.Actor, &e.Action, &e.ClientID, &e.Detail)
	})
	if err != nil {
		return nil, fmt.Errorf("list representation events: %w", err)
	}
	return out, nil
}
