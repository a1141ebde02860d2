package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/kanton/kundencenter/idp"
)

// AppendAudit appends to the audit log.
func (s *Store) AppendAudit(ctx context.Context, e idp.AuditEvent) error {
	_, err := exec(ctx, s.pool, `INSERT INTO audit_log (at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5)`,
		dbTime(e.At), e.Actor, e.Action, e.Subject, e.Detail)
	if err != nil {
		return fmt.Errorf("append audit event: %w", err)
	}
	return nil
}

// ListAudit returns the newest audit events first (by time, then by
// insertion), for the given subject ("" = all), at most limit of them; none
// for limit <= 0.
func (s *Store) ListAudit(ctx context.Context, subject string, limit int) ([]idp.AuditEvent, error) {
	if limit <= 0 {
		return nil, nil
	}
	const cols = `SELECT at, actor, action, subject, detail FROM audit_log `
	var rows pgx.Rows
	if subject == "" {
		rows, _ = s.pool.Query(ctx, cols+`ORDER BY at DESC, id DESC LIMIT $1`, limit)
	} else {
		rows, _ = s.pool.Query(ctx, cols+`WHERE subject = $1 ORDER BY at DESC, id DESC LIMIT $2`, subject, limit)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (idp.AuditEvent, error) {
		var (
			e  idp.AuditEvent
			at pgtype.Timestamptz
		)
		if err := r.Scan(&at, &e.Actor, &e.Action, &e.Subject, &e.Detail); err != nil {
			return idp.AuditEvent{}, err
		}
		e.At = goTime(at)
		return e, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}
