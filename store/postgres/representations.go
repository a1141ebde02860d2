package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/kanton/kundencenter/delegation"
	"github.com/kanton/kundencenter/idp"
)

var _ delegation.RepresentationStore = (*Store)(nil)

const repColumns = `id, principal_id, representative_id, status, services, valid_until, code_selector, code_hash,
	pending_until, created_at, accepted_at, confirmed_at, ended_at, ended_by, updated_at`

func scanRep(r pgx.Row) (delegation.Representation, error) {
	var (
		rep                                 delegation.Representation
		principal, representative, selector pgtype.Text
		status                              string
		until, pending, created, accepted   pgtype.Timestamptz
		confirmed, ended, updated           pgtype.Timestamptz
	)
	if err := r.Scan(&rep.ID, &principal, &representative, &status, &rep.Services, &until, &selector, &rep.CodeHash,
		&pending, &created, &accepted, &confirmed, &ended, &rep.EndedBy, &updated); err != nil {
		return rep, translate(err)
	}
	rep.Services = goList(rep.Services)
	rep.PrincipalID, rep.RepresentativeID, rep.CodeSelector = principal.String, representative.String, selector.String
	rep.Status = delegation.RepStatus(status)
	rep.ValidUntil, rep.PendingUntil, rep.CreatedAt = goTime(until), goTime(pending), goTime(created)
	rep.AcceptedAt, rep.ConfirmedAt, rep.EndedAt, rep.UpdatedAt = goTime(accepted), goTime(confirmed), goTime(ended), goTime(updated)
	return rep, nil
}

func repArgs(r delegation.Representation) []any {
	return []any{r.ID, dbNullString(r.PrincipalID), dbNullString(r.RepresentativeID), string(r.Status), dbList(r.Services),
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
			VALUES ($1, $2, $3, $4, $5, $6)`, e.RepresentationID, dbTime(e.At), e.Actor, e.Action, e.ClientID, e.Detail); err != nil {
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
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := exec(ctx, tx, `INSERT INTO representations (`+repColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`, repArgs(r)...); err != nil {
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
	r, err := scanRep(s.pool.QueryRow(ctx, `SELECT `+repColumns+` FROM representations WHERE id = $1`, id))
	if err != nil {
		return r, fmt.Errorf("get representation: %w", err)
	}
	return r, nil
}

// UpdateRepresentation applies fn while holding the row lock (SELECT …
// FOR UPDATE) and writes the result.
func (s *Store) UpdateRepresentation(ctx context.Context, id string,
	fn func(delegation.Representation) (delegation.Representation, []delegation.RepEvent, []idp.Outgoing, error),
) (delegation.Representation, error) {
	var next delegation.Representation
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		old, err := scanRep(tx.QueryRow(ctx, `SELECT `+repColumns+` FROM representations WHERE id = $1 FOR UPDATE`, id))
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
		if _, err := exec(ctx, tx, `UPDATE representations SET principal_id = $2, representative_id = $3, status = $4,
			services = $5, valid_until = $6, code_selector = $7, code_hash = $8, pending_until = $9, created_at = $10,
			accepted_at = $11, confirmed_at = $12, ended_at = $13, ended_by = $14, updated_at = $15 WHERE id = $1`,
			repArgs(next)...); err != nil {
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
	rows, _ := s.pool.Query(ctx, `SELECT `+repColumns+` FROM representations WHERE `+where+` ORDER BY created_at DESC, id`, args...)
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (delegation.Representation, error) { return scanRep(r) })
	if err != nil {
		return nil, translate(err)
	}
	if len(list) == 0 {
		return nil, nil
	}
	return list, nil
}

// ListRepresentationsBySelector returns the representations in state
// created whose code has this selector.
func (s *Store) ListRepresentationsBySelector(ctx context.Context, selector string) ([]delegation.Representation, error) {
	out, err := s.listReps(ctx, `code_selector = $1 AND status = $2`, selector, string(delegation.RepCreated))
	if err != nil {
		return nil, fmt.Errorf("list representations by code: %w", err)
	}
	return out, nil
}

// ListRepresentations returns the account's representations, newest first.
func (s *Store) ListRepresentations(ctx context.Context, accountID string) ([]delegation.Representation, error) {
	out, err := s.listReps(ctx, `principal_id = $1 OR representative_id = $1`, accountID)
	if err != nil {
		return nil, fmt.Errorf("list representations: %w", err)
	}
	return out, nil
}

// AppendRepEvents appends events to existing representations.
func (s *Store) AppendRepEvents(ctx context.Context, events ...delegation.RepEvent) error {
	if err := s.inTx(ctx, func(tx pgx.Tx) error { return insertRepEvents(ctx, tx, "", events) }); err != nil {
		return fmt.Errorf("append representation events: %w", err)
	}
	return nil
}

// ListRepEvents returns a representation's history, newest first.
func (s *Store) ListRepEvents(ctx context.Context, id string, limit int) ([]delegation.RepEvent, error) {
	rows, _ := s.pool.Query(ctx, `SELECT representation_id, at, actor, action, client_id, detail FROM rep_events
		WHERE representation_id = $1 ORDER BY id DESC LIMIT $2`, id, limit)
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (delegation.RepEvent, error) {
		var (
			e  delegation.RepEvent
			at pgtype.Timestamptz
		)
		err := r.Scan(&e.RepresentationID, &at, &e.Actor, &e.Action, &e.ClientID, &e.Detail)
		e.At = goTime(at)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("list representation events: %w", translate(err))
	}
	if len(list) == 0 {
		return nil, nil
	}
	return list, nil
}
