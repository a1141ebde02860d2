package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/kanton/kundencenter/idp"
)

// idleExpr is an account's idle start: its last login, else its creation
// (the expression of the indexes of migration 0012).
const idleExpr = `COALESCE(a.last_login_at, a.created_at)`

// ListLifecycleCandidates returns accounts that may be due for a lifecycle
// step (see idp.LifecycleStore), ordered by idle start and ID. The two
// disjoint halves of the condition each read one index of migration 0012
// in order from the cursor (idle accounts: accounts_idle_idx; never used
// and not yet idle that long: the partial accounts_never_used_idx), so a
// batch touches about q.Limit rows of each, not the whole table.
func (s *Store) ListLifecycleCandidates(ctx context.Context, q idp.LifecycleQuery) ([]idp.LifecycleCandidate, error) {
	if q.Limit <= 0 {
		return nil, fmt.Errorf("list lifecycle candidates: limit must be positive")
	}
	cols := prefixed("a.", accountColumns) + `, ` + idleExpr + ` AS idle`
	rows, err := s.pool.Query(ctx, `SELECT `+prefixed("c.", accountColumns)+`, l.notice_at FROM (
			(SELECT `+cols+` FROM accounts a
				WHERE `+idleExpr+` < $3 AND (`+idleExpr+`, a.id) > ($1, $2)
				ORDER BY `+idleExpr+`, a.id LIMIT $5)
			UNION ALL
			(SELECT `+cols+` FROM accounts a
				WHERE a.last_login_at IS NULL AND `+idleExpr+` >= $3 AND `+idleExpr+` < $4 AND (`+idleExpr+`, a.id) > ($1, $2)
				ORDER BY `+idleExpr+`, a.id LIMIT $5)
		) c LEFT JOIN account_lifecycle l ON l.account_id = c.id
		ORDER BY c.idle, c.id LIMIT $5`,
		q.AfterIdle.UTC().Truncate(time.Microsecond), q.After, canonTime(q.IdleBefore), canonTime(q.NeverBefore), q.Limit)
	if err != nil {
		return nil, fmt.Errorf("list lifecycle candidates: %w", translate(err))
	}
	defer rows.Close()
	var out []idp.LifecycleCandidate
	for rows.Next() {
		var (
			c      idp.LifecycleCandidate
			notice pgtype.Timestamptz
		)
		c.Account, err = scanAccount(scanFunc(func(dest ...any) error {
			return rows.Scan(append(dest, &notice)...)
		}))
		if err != nil {
			return nil, fmt.Errorf("list lifecycle candidates: %w", err)
		}
		c.NoticeAt = goTime(notice)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list lifecycle candidates: %w", translate(err))
	}
	return out, nil
}

// scanFunc adapts a function to pgx.Row.
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// prefixed qualifies every column of a comma-separated list.
func prefixed(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

// lockIdleSince locks the account row and returns its last login
// (creation if none); ErrNotFound if the account is gone.
func lockIdleSince(ctx context.Context, tx pgx.Tx, id string) (time.Time, error) {
	var idle pgtype.Timestamptz
	err := tx.QueryRow(ctx, `SELECT COALESCE(last_login_at, created_at) FROM accounts WHERE id = $1 FOR UPDATE`, id).Scan(&idle)
	if err != nil {
		return time.Time{}, translate(err)
	}
	return goTime(idle), nil
}

// MarkLifecycleNotice records the inactivity reminder and enqueues its
// mail, once per idle period (see idp.LifecycleStore). The account row
// lock serialises concurrent runs and logins.
func (s *Store) MarkLifecycleNotice(ctx context.Context, accountID string, since, at time.Time, out ...idp.Outgoing) (bool, error) {
	var marked bool
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		idle, err := lockIdleSince(ctx, tx, accountID)
		if err != nil {
			return err
		}
		if !idle.Equal(canonTime(since)) {
			return nil // logged in since
		}
		n, err := exec(ctx, tx, `INSERT INTO account_lifecycle (account_id, notice_at) VALUES ($1, $2)
			ON CONFLICT (account_id) DO UPDATE SET notice_at = EXCLUDED.notice_at
			WHERE account_lifecycle.notice_at < $3`, accountID, canonTime(at), canonTime(since))
		if err != nil {
			return err
		}
		if n == 0 {
			return nil // another run sent it
		}
		marked = true
		return s.enqueue(ctx, tx, out)
	})
	if err != nil {
		return false, fmt.Errorf("mark lifecycle notice: %w", err)
	}
	return marked, nil
}

// PurgeAccount deletes an account with everything that hangs on it, queues
// the events for its clients and enqueues p.Out in one transaction. Action
// tokens go first, in the lock order ConsumeActionToken uses (token, then
// account).
func (s *Store) PurgeAccount(ctx context.Context, p idp.Purge) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := exec(ctx, tx, `DELETE FROM action_tokens WHERE account_id = $1`, p.AccountID); err != nil {
			return err
		}
		idle, err := lockIdleSince(ctx, tx, p.AccountID)
		if err != nil {
			return err
		}
		if !p.IdleSince.IsZero() && !idle.Equal(canonTime(p.IdleSince)) {
			return idp.ErrConflict
		}
		if p.Event != "" {
			if _, err := exec(ctx, tx, `INSERT INTO service_events (client_id, account_id, event, created_at)
				SELECT client_id, $1, $2, $3 FROM (
					SELECT client_id FROM account_clients WHERE account_id = $1
					UNION SELECT client_id FROM refresh_tokens WHERE account_id = $1) c
				ORDER BY client_id`,
				p.AccountID, p.Event, canonTime(p.At)); err != nil {
				return fmt.Errorf("queue service events: %w", err)
			}
		}
		// Foreign keys (ON DELETE CASCADE) remove second factors, passkeys,
		// links, memberships, invitations, client use and the reminder
		// marker; refresh tokens carry no foreign key.
		for _, q := range []string{`DELETE FROM refresh_tokens WHERE account_id = $1`, `DELETE FROM accounts WHERE id = $1`} {
			if _, err := exec(ctx, tx, q, p.AccountID); err != nil {
				return err
			}
		}
		return s.enqueue(ctx, tx, p.Out)
	})
	if err != nil {
		return fmt.Errorf("purge account: %w", err)
	}
	return nil
}

// RecordClientUse notes that the account logged in to the client.
func (s *Store) RecordClientUse(ctx context.Context, accountID, clientID string, at time.Time) error {
	_, err := exec(ctx, s.pool, `INSERT INTO account_clients (account_id, client_id, first_used_at, last_used_at)
		VALUES ($1, $2, $3, $3) ON CONFLICT (account_id, client_id) DO UPDATE SET last_used_at = EXCLUDED.last_used_at`,
		accountID, clientID, canonTime(at))
	if err != nil {
		return fmt.Errorf("record client use: %w", err)
	}
	return nil
}

// UpdateAccountWithToken stores t and applies fn to its account in one
// transaction (account lock first, then the new token row).
func (s *Store) UpdateAccountWithToken(ctx context.Context, t idp.ActionToken,
	fn func(idp.Account) (idp.Account, []idp.Outgoing, error),
) (idp.Account, error) {
	var a idp.Account
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if a, err = s.applyToAccount(ctx, tx, t.AccountID, fn); err != nil {
			return err
		}
		return insertActionToken(ctx, tx, t)
	})
	if err != nil {
		return idp.Account{}, fmt.Errorf("update account with token: %w", err)
	}
	return a, nil
}

// ListServiceEvents returns undelivered events, oldest first.
func (s *Store) ListServiceEvents(ctx context.Context, limit int) ([]idp.ServiceEvent, error) {
	return s.ListServiceEventsAfter(ctx, 0, limit)
}

// ListServiceEventsAfter returns undelivered events with an ID above
// after, oldest first (keyset paging over the pending events).
func (s *Store) ListServiceEventsAfter(ctx context.Context, after int64, limit int) ([]idp.ServiceEvent, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, client_id, account_id, event, created_at, delivered_at
		FROM service_events WHERE delivered_at IS NULL AND id > $1 ORDER BY id LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("list service events: %w", translate(err))
	}
	defer rows.Close()
	var out []idp.ServiceEvent
	for rows.Next() {
		var (
			e                  idp.ServiceEvent
			created, delivered pgtype.Timestamptz
		)
		if err := rows.Scan(&e.ID, &e.ClientID, &e.AccountID, &e.Event, &created, &delivered); err != nil {
			return nil, fmt.Errorf("list service events: %w", translate(err))
		}
		e.CreatedAt, e.DeliveredAt = goTime(created), goTime(delivered)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list service events: %w", translate(err))
	}
	return out, nil
}

// MarkServiceEventDelivered records the delivery of an event.
func (s *Store) MarkServiceEventDelivered(ctx context.Context, id int64, at time.Time) error {
	n, err := exec(ctx, s.pool, `UPDATE service_events SET delivered_at = $2 WHERE id = $1`, id, canonTime(at))
	if err == nil && n == 0 {
		err = idp.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("mark service event delivered: %w", err)
	}
	return nil
}
