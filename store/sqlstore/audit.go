package sqlstore

import (
	"context"
	"fmt"
	"github.com/kanton/kundencenter/store/sqldb"

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
	const cols = `SELECT at, actor, action, subject, detail FROM audit_log `
	var (
		rows *sqldb.Rows
		err  error
	)
	if subject == "" {
		rows, err = s.db.Query(ctx, cols+`ORDER BY at DESC, id DESC LIMIT ?`, limit)
	} else {
		rows, err = s.db.Query(ctx, cols+`WHERE subject = ? ORDER BY at DESC, id DESC LIMIT ?`, subject, limit)
	}
	out, err := collect(rows, err, func(r scanner) (e idp.AuditEvent, err error) {
		return e, r.Scan(&e.At, &e.Actor, &e.Action, &e.Subject, &e.Detail)
	})
	if err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	return out, nil
}
