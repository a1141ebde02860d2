package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/store/sqldb"
)

// idleExpr is an account's idle start: its last login, else its creation
// (the expression of the indexes of migration 0012).
const idleExpr = `COALESCE(a.last_login_at, a.created_at)`

// ListLifecycleCandidates returns accounts that may be due for a lifecycle
// step (see idp.LifecycleStore), ordered by idle start and ID. The two
// disjoint halves of the condition each read one index of migration 0012
// in order from the cursor (idle accounts: accounts_idle_idx; never used
// and not yet idle that long: the partial accounts_never_used_idx), so a
// batch touches about q.Limit rows of each, not the whole table. The
// redundant "idle >= cursor" gives SQLite the lower bound of the index
// range, which it does not take from the row-value comparison.
func (s *Store) ListLifecycleCandidates(ctx context.Context, q idp.LifecycleQuery) ([]idp.LifecycleCandidate, error) {
	if q.Limit <= 0 {
		return nil, fmt.Errorf("list lifecycle candidates: limit must be positive")
	}
	cols := prefixed("a.", accountColumns) + `, ` + idleExpr + ` AS idle`
	afterIdle, afterID := dbTime(q.AfterIdle), q.After
	if q.AfterIdle.IsZero() { // from the start: a time before every account's (a zero time would be NULL)
		afterIdle = dbTime(time.Time{}.Add(time.Microsecond))
	}
	idleBefore, neverBefore := dbTime(q.IdleBefore), dbTime(q.NeverBefore)
	rows, err := s.db.Query(ctx, `SELECT `+prefixed("c.", accountColumns)+`, l.notice_at FROM (
			SELECT * FROM (SELECT `+cols+` FROM accounts a
				WHERE `+idleExpr+` < ? AND `+idleExpr+` >= ? AND (`+idleExpr+`, a.id) > (?, ?)
				ORDER BY `+idleExpr+`, a.id LIMIT ?) idle
			UNION ALL
			SELECT * FROM (SELECT `+cols+` FROM accounts a
				WHERE a.last_login_at IS NULL AND `+idleExpr+` >= ? AND `+idleExpr+` < ? AND `+idleExpr+` >= ? AND (`+idleExpr+`, a.id) > (?, ?)
				ORDER BY `+idleExpr+`, a.id LIMIT ?) never
		) c LEFT JOIN account_lifecycle l ON l.account_id = c.id
		ORDER BY c.idle, c.id LIMIT ?`,
		idleBefore, afterIdle, afterIdle, afterID, q.Limit,
		idleBefore, neverBefore, afterIdle, afterIdle, afterID, q.Limit,
		q.Limit)
	out, err := collect(rows, err, func(r scanner) (c idp.LifecycleCandidate, err error) {
		c.Account, err = scanAccount(scanFunc(func(dest ...any) error {
			return r.Scan(append(dest, &c.NoticeAt)...)
		}))
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("list lifecycle candidates: %w", err)
	}
	return out, nil
}

// scanFunc adapts a function to the scanner interface.
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
func lockIdleSince(ctx context.Context, tx *sqldb.Tx, id string) (time.Time, error) {
	var idle time.Time
	err := tx.QueryRow(ctx, `SELECT COALESCE(last_login_at, created_at) FROM accounts WHERE id = ? FOR UPDATE`, id).Scan(&idle)
	return idle, translate(err)
}

// MarkLifecycleNotice records the inactivity reminder and enqueues its
// mail, once per idle period (see idp.LifecycleStore). The account row
// lock (the write lock on SQLite) serialises concurrent runs and logins.
func (s *Store) MarkLifecycleNotice(ctx context.Context, accountID string, since, at time.Time, out ...idp.Outgoing) (bool, error) {
	var marked bool
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		marked = false // Tx may run this again
		idle, err := lockIdleSince(ctx, tx, accountID)
		if err != nil {
			return err
		}
		if !idle.Equal(canonTime(since)) {
			return nil // logged in since
		}
		n, err := exec(ctx, tx, `INSERT INTO account_lifecycle (account_id, notice_at) VALUES (?, ?)
			ON CONFLICT (account_id) DO UPDATE SET notice_at = excluded.notice_at
			WHERE account_lifecycle.notice_at < ?`, accountID, dbTime(at), dbTime(since))
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
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		if _, err := exec(ctx, tx, `DELETE FROM action_tokens WHERE account_id = ?`, p.AccountID); err != nil {
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
				SELECT client_id, ?, ?, ? FROM (
					SELECT client_id FROM account_clients WHERE account_id = ?
					UNION SELECT client_id FROM refresh_tokens WHERE account_id = ?) c
				ORDER BY client_id`,
				p.AccountID, p.Event, dbTime(p.At), p.AccountID, p.AccountID); err != nil {
				return fmt.Errorf("queue service events: %w", err)
			}
		}
		if _, err := s.deleteAccount(ctx, tx, p.AccountID); err != nil {
			return err
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
	_, err := exec(ctx, s.db, `INSERT INTO account_clients (account_id, client_id, first_used_at, last_used_at)
		VALUES (?, ?, ?, ?) ON CONFLICT (account_id, client_id) DO UPDATE SET last_used_at = excluded.last_used_at`,
		accountID, clientID, dbTime(at), dbTime(at))
	if err != nil {
		return fmt.Errorf("record client use: %w", err)
	}
	return nil
}

// UpdateAccountWithToken stores t and applies fn to its account in one transaction.
func (s *Store) UpdateAccountWithToken(ctx context.Context, t idp.ActionToken,
	fn func(idp.Account) (idp.Account, []idp.Outgoing, error),
) (idp.Account, error) {
	var a idp.Account
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
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
	rows, err := s.db.Query(ctx, `SELECT id, client_id, account_id, event, created_at, delivered_at
		FROM service_events WHERE delivered_at IS NULL AND id > ? ORDER BY id LIMIT ?`, after, limit)
	out, err := collect(rows, err, func(r scanner) (e idp.ServiceEvent, err error) {
		return e, r.Scan(&e.ID, &e.ClientID, &e.AccountID, &e.Event, &e.CreatedAt, &e.DeliveredAt)
	})
	if err != nil {
		return nil, fmt.Errorf("list service events: %w", err)
	}
	return out, nil
}

// MarkServiceEventDelivered records the delivery of an event.
func (s *Store) MarkServiceEventDelivered(ctx context.Context, id int64, at time.Time) error {
	if err := execOne(ctx, s.db, `UPDATE service_events SET delivered_at = ? WHERE id = ?`, dbTime(at), id); err != nil {
		return fmt.Errorf("mark service event delivered: %w", err)
	}
	return nil
}
