package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/kanton/kundencenter/idp"
)

// AppendAudit appends to the audit log.
func (s *Store) AppendAudit(ctx context.Context, e idp.AuditEvent) error {
	_, err := exec(ctx, s.db, `INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)`,
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
	var (
		rows *sql.Rows
		err  error
	)
	const cols = `SELECT at, actor, action, subject, detail FROM audit_log `
	if subject == "" {
		rows, err = s.db.QueryContext(ctx, cols+`ORDER BY at DESC, id DESC LIMIT ?`, limit)
	} else {
		rows, err = s.db.QueryContext(ctx, cols+`WHERE subject = ? ORDER BY at DESC, id DESC LIMIT ?`, subject, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var out []idp.AuditEvent
	for rows.Next() {
		var (
			e  idp.AuditEvent
			at sql.NullInt64
		)
		if err := rows.Scan(&at, &e.Actor, &e.Action, &e.Subject, &e.Detail); err != nil {
			return nil, fmt.Errorf("list audit events: %w", err)
		}
		e.At = goTime(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	return out, nil
}
