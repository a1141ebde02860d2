package idp

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// LifecycleStore is the storage the account lifecycle needs: deletion of an
// account with its follow-ups in one transaction, the reminder marker of
// the 18 + 2-month rule, the clients an account used, and the durable queue
// of events for those clients.
type LifecycleStore interface {
	// ListLifecycleCandidates returns at most q.Limit accounts that either
	// never logged in and were created before q.NeverBefore, or whose last
	// login (their creation if none) lies before q.IdleBefore, ordered by
	// (IdleSince, ID) and after (q.AfterIdle, q.After) (zero: from the
	// start). The bounds are a coarse filter; the caller applies the exact
	// calendar rules.
	ListLifecycleCandidates(ctx context.Context, q LifecycleQuery) ([]LifecycleCandidate, error)
	// MarkLifecycleNotice records that the inactivity reminder went out at
	// at and enqueues out, in one transaction, but only while the account's
	// last login (its creation if none) is still idleSince and no reminder
	// was recorded at or after idleSince. It reports whether it recorded one;
	// false with a nil error means another run did, or the user logged in.
	// ErrNotFound if the account is gone.
	MarkLifecycleNotice(ctx context.Context, accountID string, idleSince, at time.Time, out ...Outgoing) (bool, error)
	// PurgeAccount deletes an account and everything that hangs on it,
	// queues one ServiceEvent per client the account used and enqueues out,
	// all in one transaction. ErrNotFound if the account is gone;
	// ErrConflict (nothing written) if p.IdleSince is set and the account's
	// last login (its creation if none) is no longer exactly p.IdleSince.
	PurgeAccount(ctx context.Context, p Purge) error
	// RecordClientUse notes that the account logged in to the client at at
	// (kept until the account is deleted, to tell the client then).
	// ErrNotFound if the account does not exist.
	RecordClientUse(ctx context.Context, accountID, clientID string, at time.Time) error
	// UpdateAccountWithToken stores the action token t and applies fn to its
	// account in one transaction (like UpdateAccount), so that a link and
	// the state it confirms are written together.
	UpdateAccountWithToken(ctx context.Context, t ActionToken, fn func(Account) (Account, []Outgoing, error)) (Account, error)
	// ListServiceEvents returns at most limit undelivered events, oldest first.
	ListServiceEvents(ctx context.Context, limit int) ([]ServiceEvent, error)
	// ListServiceEventsAfter returns at most limit undelivered events with
	// an ID above after, oldest first: a cursor over all pending events, so
	// that events stuck behind a failing receiver do not hide newer ones.
	ListServiceEventsAfter(ctx context.Context, after int64, limit int) ([]ServiceEvent, error)
	// MarkServiceEventDelivered records the delivery of an event;
	// ErrNotFound if there is none with this ID.
	MarkServiceEventDelivered(ctx context.Context, id int64, at time.Time) error
}

// LifecycleQuery selects lifecycle candidates (see ListLifecycleCandidates).
type LifecycleQuery struct {
	NeverBefore time.Time // never logged in and created before this
	IdleBefore  time.Time // last login (creation if none) before this
	// The keyset to continue after (zero: from the start): candidates come
	// ordered by their idle start (last login, else creation; IdleSince)
	// and then ID, so that an index on that pair serves the query.
	AfterIdle time.Time
	After     string // account ID
	Limit     int
}

// LifecycleCandidate is an account with its lifecycle marker.
type LifecycleCandidate struct {
	Account  Account
	NoticeAt time.Time // when the last inactivity reminder went out; zero if never
}

// Purge describes an account deletion (see PurgeAccount).
type Purge struct {
	AccountID string
	IdleSince time.Time  // if set, delete only if the account has not logged in since
	Event     string     // the ServiceEvent to queue per client, e.g. EventAccountPurged
	At        time.Time  // when, for the queued events
	Out       []Outgoing // messages enqueued in the same transaction
}

// ServiceEvent is a durable notice for a relying party about one of its
// users (an account deletion), waiting to be pushed as a Security Event
// Token (RISC account-purged) to the client.
type ServiceEvent struct {
	ID          int64
	ClientID    string
	AccountID   string // the deleted account's ID (the OIDC subject)
	Event       string
	CreatedAt   time.Time
	DeliveredAt time.Time // zero until the client accepted it
}

// EventAccountPurged is the RISC event type queued when an account is deleted.
const EventAccountPurged = "https://schemas.openid.net/secevent/risc/event-type/account-purged"

// The lifecycle rules (PRODUCT.md §1): calendar months, not 30-day blocks.
const (
	NeverUsedMonths   = 2  // no login within this many months of opening: deleted
	ReminderMonths    = 18 // no login for this long: one reminder
	GraceMonths       = 2  // no login within this long after the reminder: deleted
	lifecycleBatch    = 100
	lifecycleNeverMin = 55 * 24 * time.Hour  // < any 2 calendar months minus month-end clamping
	lifecycleIdleMin  = 535 * 24 * time.Hour // < any 18 calendar months minus clamping
)

// Mail templates of the lifecycle and the account console.
const (
	MailEmailChange       = "email_change"       // to the new address: the confirmation link
	MailEmailChanged      = "email_changed"      // to the old address: the change took effect
	MailAccountDeleted    = "account_deleted"    // the user deleted the account
	MailLifecycleReminder = "lifecycle_reminder" // 18 months without login
	MailLifecycleDeleted  = "lifecycle_deleted"  // deleted for inactivity
)

// AddMonths adds n calendar months to t, keeping the day of the month where
// the target month has it and taking the target month's last day
// otherwise: 31 August + 2 = 31 October, 31 December + 2 = 28 (29)
// February, where time.AddDate would give 3 (2) March. The months are
// those of the calendar in Zurich, where the users live: a login on
// 31 August at 01:30 local time (30 August in UTC) plus 18 months is
// 28 February at 01:30 local time, not 1 March. The result is in t's
// location (UTC for times from the store).
func AddMonths(t time.Time, n int) time.Time {
	l := t.In(zurich)
	y, m, d := l.Date()
	first := time.Date(y, m+time.Month(n), 1, 0, 0, 0, 0, zurich)
	last := first.AddDate(0, 1, -1).Day()
	ty, tm, _ := first.Date()
	// The same wall-clock time on the target day; where the clocks change
	// that day and the time is skipped or repeated, time.Date picks one of
	// the two offsets (an hour either way does not matter to the rules).
	return time.Date(ty, tm, min(d, last), l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), zurich).In(t.Location())
}

// LifecycleAction is what the lifecycle rules demand for an account now.
type LifecycleAction int

// Lifecycle actions.
const (
	LifecycleNone            LifecycleAction = iota
	LifecycleDeleteNeverUsed                 // no login within 2 months of opening
	LifecycleRemind                          // 18 months without login
	LifecycleDeleteInactive                  // no login within 2 months of the reminder (20 months in all)
)

// IdleSince is the start of an account's inactivity: its last login, or
// its creation if it never logged in.
func IdleSince(a Account) time.Time {
	if a.LastLoginAt.IsZero() {
		return a.CreatedAt
	}
	return a.LastLoginAt
}

// LifecycleDue applies the rules to an account and its reminder marker at now.
func LifecycleDue(a Account, noticeAt, now time.Time) LifecycleAction {
	if a.LastLoginAt.IsZero() {
		if !now.Before(AddMonths(a.CreatedAt, NeverUsedMonths)) {
			return LifecycleDeleteNeverUsed
		}
		return LifecycleNone
	}
	idle := a.LastLoginAt
	if now.Before(AddMonths(idle, ReminderMonths)) {
		return LifecycleNone
	}
	// A reminder from before the last login belongs to an earlier idle period.
	if noticeAt.IsZero() || noticeAt.Before(idle) {
		return LifecycleRemind
	}
	if !now.Before(AddMonths(idle, ReminderMonths+GraceMonths)) && !now.Before(AddMonths(noticeAt, GraceMonths)) {
		return LifecycleDeleteInactive
	}
	return LifecycleNone
}

// LifecycleResult counts what a lifecycle run did.
type LifecycleResult struct {
	Reminded, DeletedNeverUsed, DeletedInactive int
	Failed                                      int // accounts whose step failed (logged, retried by the next run)
}

// RunLifecycle applies the lifecycle rules to every account once, in
// batches; each account's action is its own transaction, so every account
// is either done or untouched. An account whose step fails (its data
// cannot be opened, its mail is refused, the store errs) is logged and
// counted, and the run goes on with the others; the run then returns an
// error naming the first failure, so that the job is retried. A run that
// stops half-way (crash) is continued by the next. Several runs at once
// are safe: the store records each reminder and deletion at most once.
func (s *Service) RunLifecycle(ctx context.Context) (LifecycleResult, error) {
	var (
		res   LifecycleResult
		first error
	)
	now := s.Now()
	q := LifecycleQuery{NeverBefore: now.Add(-lifecycleNeverMin), IdleBefore: now.Add(-lifecycleIdleMin), Limit: lifecycleBatch}
	for {
		cands, err := s.store.ListLifecycleCandidates(ctx, q)
		if err != nil {
			return res, errors.Join(fmt.Errorf("list lifecycle candidates: %w", err), failedErr(res, first))
		}
		for _, c := range cands {
			if err := s.lifecycleOne(ctx, c, now, &res); err != nil {
				if ctx.Err() != nil {
					return res, fmt.Errorf("lifecycle of account %s: %w", c.Account.ID, err)
				}
				res.Failed++
				err = fmt.Errorf("lifecycle of account %s: %w", c.Account.ID, err)
				if first == nil {
					first = err
				}
				s.log.ErrorContext(ctx, "account lifecycle step failed; continuing with the other accounts",
					"account_id", c.Account.ID, "err", err)
			}
			q.After, q.AfterIdle = c.Account.ID, IdleSince(c.Account)
		}
		if len(cands) < q.Limit {
			return res, failedErr(res, first)
		}
	}
}

// failedErr is the error of a run in which res.Failed accounts failed,
// the first with first; nil if none did.
func failedErr(res LifecycleResult, first error) error {
	if res.Failed == 0 {
		return nil
	}
	return fmt.Errorf("%d account(s) failed, first: %w", res.Failed, first)
}

func (s *Service) lifecycleOne(ctx context.Context, c LifecycleCandidate, now time.Time, res *LifecycleResult) error {
	a := c.Account
	switch LifecycleDue(a, c.NoticeAt, now) {
	case LifecycleDeleteNeverUsed:
		// Only a confirmed address gets the notice: an unconfirmed one may
		// belong to someone who never asked for an account.
		var out []Outgoing
		if !a.ActivatedAt.IsZero() {
			m, err := s.lifecycleMail(a, MailLifecycleDeleted, nil)
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		ok, err := s.purge(ctx, a, IdleSince(a), "never_used", out)
		if ok {
			res.DeletedNeverUsed++
		}
		return err
	case LifecycleRemind:
		deleteOn := AddMonths(a.LastLoginAt, ReminderMonths+GraceMonths)
		if d := AddMonths(now, GraceMonths); d.After(deleteOn) {
			deleteOn = d
		}
		m, err := s.lifecycleMail(a, MailLifecycleReminder, map[string]string{
			"LoginLink": s.cfg.BaseURL + "/", "Date": deleteOn.In(zurich).Format("02.01.2006")})
		if err != nil {
			return err
		}
		ok, err := s.store.MarkLifecycleNotice(ctx, a.ID, a.LastLoginAt, now, m)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if ok {
			res.Reminded++
			s.audit(ctx, "system", "account.lifecycle_reminder", a.ID, "")
		}
		return nil
	case LifecycleDeleteInactive:
		m, err := s.lifecycleMail(a, MailLifecycleDeleted, nil)
		if err != nil {
			return err
		}
		ok, err := s.purge(ctx, a, a.LastLoginAt, "inactive", []Outgoing{m})
		if ok {
			res.DeletedInactive++
		}
		return err
	}
	return nil
}

// purge deletes an account for the lifecycle unless it logged in since
// idleSince or is gone already (another run): then it reports false.
// The notices of Config.OnDelete go out with it, in its transaction.
func (s *Service) purge(ctx context.Context, a Account, idleSince time.Time, reason string, out []Outgoing) (bool, error) {
	now := s.Now()
	out, err := s.deletionNotices(ctx, a.ID, now, out)
	if err != nil {
		return false, err
	}
	out = append(out, EndSessionsOutgoing(a.ID, now, "deleted")) // endsessions.go
	err = s.store.PurgeAccount(ctx, Purge{AccountID: a.ID, IdleSince: idleSince, Event: EventAccountPurged, At: now, Out: out})
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	s.audit(ctx, "system", "account.deleted", a.ID, "reason="+reason)
	s.settleSessions(ctx, a.ID, now, "deleted") // the purge's job finishes it if this fails
	return true, nil
}

func (s *Service) lifecycleMail(a Account, template string, data map[string]string) (Outgoing, error) {
	p, err := s.Personal(a)
	if err != nil {
		return Outgoing{}, err
	}
	d := map[string]string{"Name": p.GivenName + " " + p.FamilyName, "RegisterLink": s.cfg.BaseURL + "/register"}
	for k, v := range data {
		d[k] = v
	}
	return s.mail(p.Email, a.Locale, template, d)
}

// zurich is the zone in which dates in e-mails are written.
var zurich = func() *time.Location {
	if l, err := time.LoadLocation("Europe/Zurich"); err == nil {
		return l
	}
	return time.UTC
}()
