package idp_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
	"github.com/kanton/kundencenter/keyring"
	"github.com/kanton/kundencenter/notify"
	"github.com/kanton/kundencenter/store/postgres"
	"github.com/kanton/kundencenter/store/sqlite"
)

// zurich is the zone whose calendar the lifecycle rules count in.
var zurich = func() *time.Location {
	l, err := time.LoadLocation("Europe/Zurich")
	if err != nil {
		panic(err)
	}
	return l
}()

// day is 09:30 on that day in Zurich, in UTC as the store keeps it.
func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 9, 30, 0, 0, zurich).UTC() }

func TestAddMonths(t *testing.T) {
	tests := []struct {
		from time.Time
		n    int
		want time.Time
	}{
		{day(2026, 8, 31), 2, day(2026, 10, 31)},
		{day(2026, 12, 31), 2, day(2027, 2, 28)},
		{day(2027, 12, 31), 2, day(2028, 2, 29)}, // leap year
		{day(2026, 12, 30), 2, day(2027, 2, 28)},
		{day(2026, 1, 31), 1, day(2026, 2, 28)},
		{day(2026, 3, 31), 18, day(2027, 9, 30)},
		{day(2025, 8, 31), 18, day(2027, 2, 28)},
		{day(2025, 8, 31), 20, day(2027, 4, 30)},
		{day(2026, 5, 15), 20, day(2028, 1, 15)},
		{day(2026, 10, 31), -2, day(2026, 8, 31)},
	}
	for _, tc := range tests {
		if got := idp.AddMonths(tc.from, tc.n); !got.Equal(tc.want) {
			t.Errorf("AddMonths(%s, %d) = %s, want %s", tc.from.Format(time.DateOnly), tc.n, got.Format(time.DateOnly), tc.want.Format(time.DateOnly))
		}
	}
	// The months are Zurich's: 31 August 01:30 local time is 30 August
	// 23:30 UTC, and 18 months later is 28 February 01:30 local time, not
	// 1 March (as counting in UTC would give: 28 February 23:30 UTC).
	late := time.Date(2025, 8, 31, 1, 30, 0, 0, zurich).UTC()
	for _, tc := range []struct {
		n    int
		want time.Time
	}{
		{18, time.Date(2027, 2, 28, 1, 30, 0, 0, zurich)},
		{20, time.Date(2027, 4, 30, 1, 30, 0, 0, zurich)},
		{2, time.Date(2025, 10, 31, 1, 30, 0, 0, zurich)},
	} {
		got := idp.AddMonths(late, tc.n)
		if !got.Equal(tc.want) || got.Location() != time.UTC {
			t.Errorf("AddMonths(31.08.2025 01:30 Zurich, %d) = %s (%s Zurich), want %s Zurich in UTC",
				tc.n, got, got.In(zurich).Format("02.01.2006 15:04"), tc.want.Format("02.01.2006 15:04"))
		}
	}
	// time.AddDate normalises instead: the rule must not use it alone.
	if got := day(2026, 12, 31).AddDate(0, 2, 0); got.Month() != time.March {
		t.Fatalf("AddDate(31 Dec + 2 months) = %s; the test's premise changed", got)
	}
}

func TestLifecycleDue(t *testing.T) {
	created := day(2024, 1, 10)
	login := day(2025, 8, 31)
	tests := []struct {
		name   string
		a      idp.Account
		notice time.Time
		now    time.Time
		want   idp.LifecycleAction
	}{
		{"never used, day before 2 months", idp.Account{CreatedAt: day(2026, 8, 31)}, time.Time{}, day(2026, 10, 30), idp.LifecycleNone},
		{"never used, a second before", idp.Account{CreatedAt: day(2026, 8, 31)}, time.Time{}, day(2026, 10, 31).Add(-time.Second), idp.LifecycleNone},
		{"never used, at 2 months", idp.Account{CreatedAt: day(2026, 8, 31)}, time.Time{}, day(2026, 10, 31), idp.LifecycleDeleteNeverUsed},
		{"never used, 31 Dec to 28 Feb", idp.Account{CreatedAt: day(2026, 12, 31)}, time.Time{}, day(2027, 2, 28), idp.LifecycleDeleteNeverUsed},
		{"never used, 27 Feb", idp.Account{CreatedAt: day(2026, 12, 31)}, time.Time{}, day(2027, 2, 27), idp.LifecycleNone},
		{"never used, leap 28 Feb", idp.Account{CreatedAt: day(2027, 12, 31)}, time.Time{}, day(2028, 2, 28), idp.LifecycleNone},
		{"never used, leap 29 Feb", idp.Account{CreatedAt: day(2027, 12, 31)}, time.Time{}, day(2028, 2, 29), idp.LifecycleDeleteNeverUsed},
		{"idle, day before 18 months", idp.Account{CreatedAt: created, LastLoginAt: login}, time.Time{}, day(2027, 2, 27), idp.LifecycleNone},
		{"idle, at 18 months", idp.Account{CreatedAt: created, LastLoginAt: login}, time.Time{}, day(2027, 2, 28), idp.LifecycleRemind},
		{"reminded, day before 20 months", idp.Account{CreatedAt: created, LastLoginAt: login}, day(2027, 2, 28), day(2027, 4, 29), idp.LifecycleNone},
		{"reminded, at 20 months", idp.Account{CreatedAt: created, LastLoginAt: login}, day(2027, 2, 28), day(2027, 4, 30), idp.LifecycleDeleteInactive},
		{"reminded late, 2 months after the mail", idp.Account{CreatedAt: created, LastLoginAt: login}, day(2027, 4, 20), day(2027, 5, 1), idp.LifecycleNone},
		{"reminded late, at 2 months after the mail", idp.Account{CreatedAt: created, LastLoginAt: login}, day(2027, 4, 20), day(2027, 6, 20), idp.LifecycleDeleteInactive},
		{"reminder of an earlier idle period", idp.Account{CreatedAt: created, LastLoginAt: login}, day(2025, 8, 1), day(2027, 4, 30), idp.LifecycleRemind},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := idp.LifecycleDue(tc.a, tc.notice, tc.now); got != tc.want {
				t.Fatalf("LifecycleDue = %d, want %d", got, tc.want)
			}
		})
	}
}

// fakeClock is a settable clock for the lifecycle rules.
type fakeClock struct{ t atomic.Pointer[time.Time] }

func newClock(t time.Time) *fakeClock { c := &fakeClock{}; c.set(t); return c }
func (c *fakeClock) set(t time.Time)  { c.t.Store(&t) }
func (c *fakeClock) now() time.Time   { return *c.t.Load() }

// outbox returns the mails River holds in the store's job table, opened.
func outbox(t *testing.T, st idp.Store, ring *keyring.Ring) []idp.Mail {
	t.Helper()
	var raws [][]byte
	switch s := st.(type) {
	case *sqlite.Store:
		rows, err := s.DB().QueryContext(t.Context(), `SELECT args FROM river_job WHERE kind = 'mail' ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var b []byte
			if err := rows.Scan(&b); err != nil {
				t.Fatal(err)
			}
			raws = append(raws, b)
		}
	case *postgres.Store:
		rows, err := s.Pool().Query(t.Context(), `SELECT args FROM river_job WHERE kind = 'mail' ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var b []byte
			if err := rows.Scan(&b); err != nil {
				t.Fatal(err)
			}
			raws = append(raws, b)
		}
	default:
		t.Fatalf("outbox: unknown store %T", st)
	}
	var out []idp.Mail
	for _, raw := range raws {
		var args notify.MailArgs
		if err := json.Unmarshal(raw, &args); err != nil {
			t.Fatal(err)
		}
		m, err := notify.OpenMail(ring, args.Sealed)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// countTemplate returns how many mails of template the list holds.
func countTemplate(mails []idp.Mail, template string) int {
	n := 0
	for _, m := range mails {
		if m.Template == template {
			n++
		}
	}
	return n
}

// count returns how many mails of template went to to.
func count(mails []idp.Mail, to, template string) int {
	n := 0
	for _, m := range mails {
		if m.To == to && m.Template == template {
			n++
		}
	}
	return n
}

const pw = "Sonnenblume-Aare-42"

// lifeEnv is an IdP over SQLite (or the given store) with a fake clock.
func lifeEnv(t *testing.T, c *fakeClock, st idp.Store) *idptest.Env {
	return idptest.Start(t, idptest.Options{Now: c.now, Store: st, Limits: roomy})
}

// roomy limits let a test open many accounts from one address.
var roomy = idp.Limits{
	LoginPerAccount: idp.Rule{Name: "login_acct", Limit: 1000, Window: time.Hour},
	LoginPerIP:      idp.Rule{Name: "login_ip", Limit: 1000, Window: time.Hour},
	RegisterPerIP:   idp.Rule{Name: "register_ip", Limit: 1000, Window: time.Hour},
	ResetPerAccount: idp.Rule{Name: "reset_acct", Limit: 1000, Window: time.Hour},
	ResetPerIP:      idp.Rule{Name: "reset_ip", Limit: 1000, Window: time.Hour},
}

func exists(t *testing.T, env *idptest.Env, id string) bool {
	t.Helper()
	_, err := env.Store.GetAccount(t.Context(), id)
	if err != nil && !errors.Is(err, idp.ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

func run(t *testing.T, svc *idp.Service) idp.LifecycleResult {
	t.Helper()
	res, err := svc.RunLifecycle(t.Context())
	if err != nil {
		t.Fatalf("RunLifecycle: %v", err)
	}
	return res
}

// TestLifecycleNeverUsed: no login within 2 calendar months of opening
// deletes the account, activated (with a final mail) or not (without).
func TestLifecycleNeverUsed(t *testing.T) {
	for _, tc := range []struct {
		name             string
		created, deleted time.Time
	}{
		{"31 August", day(2026, 8, 31), day(2026, 10, 31)},
		{"31 December", day(2026, 12, 31), day(2027, 2, 28)},
		{"31 December before a leap year", day(2027, 12, 31), day(2028, 2, 29)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock(tc.created)
			env := lifeEnv(t, c, nil)
			active := env.CreateAccount(t, "Anna", "Muster", "anna@example.ch", pw)
			if err := env.Service.Register(t.Context(), idp.RegisterInput{GivenName: "Paul", FamilyName: "Pending",
				Email: "paul@example.ch", Password: pw, PasswordRepeat: pw, IP: "203.0.113.7"}); err != nil {
				t.Fatal(err)
			}
			pending, err := env.Store.GetAccountByEmailIndex(t.Context(), env.Service.EmailIndex("paul@example.ch"))
			if err != nil {
				t.Fatal(err)
			}
			c.set(tc.deleted.AddDate(0, 0, -1))
			if res := run(t, env.Service); res != (idp.LifecycleResult{}) {
				t.Fatalf("the day before: %+v", res)
			}
			if !exists(t, env, active.ID) || !exists(t, env, pending.ID) {
				t.Fatal("deleted the day before 2 months")
			}
			c.set(tc.deleted)
			if res := run(t, env.Service); res.DeletedNeverUsed != 2 {
				t.Fatalf("at 2 months: %+v, want 2 deleted", res)
			}
			if exists(t, env, active.ID) || exists(t, env, pending.ID) {
				t.Fatal("not deleted at 2 months")
			}
			mails := outbox(t, env.Store, env.Ring)
			if n := count(mails, "anna@example.ch", idp.MailLifecycleDeleted); n != 1 {
				t.Errorf("activated account: %d final mails, want 1", n)
			}
			if n := count(mails, "paul@example.ch", idp.MailLifecycleDeleted); n != 0 {
				t.Errorf("unconfirmed address got %d final mails, want none", n)
			}
			if res := run(t, env.Service); res != (idp.LifecycleResult{}) {
				t.Fatalf("second run: %+v", res)
			}
			// The address registers again.
			env.CreateAccount(t, "Anna", "Muster", "anna@example.ch", pw)
		})
	}
}

// TestLifecycleInactive: 18 months after the last login one reminder;
// 20 months (and 2 after the reminder) deletion with a final mail; a
// login in the grace period cancels.
func TestLifecycleInactive(t *testing.T) {
	ctx := t.Context()
	c := newClock(day(2025, 6, 1))
	env := lifeEnv(t, c, nil)
	idle := env.CreateAccount(t, "Anna", "Muster", "anna@example.ch", pw)
	back := env.CreateAccount(t, "Beat", "Zurück", "beat@example.ch", pw)
	c.set(day(2025, 8, 31))
	for _, e := range []string{"anna@example.ch", "beat@example.ch"} {
		if _, err := env.Service.Login(ctx, e, pw, "203.0.113.8"); err != nil {
			t.Fatal(err)
		}
	}
	env.Service.NoteClientUse(ctx, idle.ID, "forms")
	sess, err := env.Service.StartSessionSince(ctx, idle.ID, []string{idp.AMRPassword}, idp.LevelLow, time.Time{})
	if err != nil {
		t.Fatal(err)
	}

	c.set(day(2027, 2, 27)) // 18 months minus a day
	if res := run(t, env.Service); res != (idp.LifecycleResult{}) {
		t.Fatalf("the day before 18 months: %+v", res)
	}
	c.set(day(2027, 2, 28)) // 31 Aug + 18 months
	if res := run(t, env.Service); res.Reminded != 2 {
		t.Fatalf("at 18 months: %+v, want 2 reminders", res)
	}
	if res := run(t, env.Service); res != (idp.LifecycleResult{}) {
		t.Fatalf("run again: %+v", res)
	}
	mails := outbox(t, env.Store, env.Ring)
	for _, e := range []string{"anna@example.ch", "beat@example.ch"} {
		if n := count(mails, e, idp.MailLifecycleReminder); n != 1 {
			t.Fatalf("%s: %d reminders, want 1", e, n)
		}
	}
	for _, m := range mails {
		if m.Template == idp.MailLifecycleReminder && m.Data["Date"] != "30.04.2027" {
			t.Errorf("reminder names deletion date %q, want 30.04.2027", m.Data["Date"])
		}
	}

	// Beat logs in during the grace period.
	c.set(day(2027, 3, 15))
	if _, err := env.Service.Login(ctx, "beat@example.ch", pw, "203.0.113.8"); err != nil {
		t.Fatal(err)
	}
	c.set(day(2027, 4, 29))
	if res := run(t, env.Service); res != (idp.LifecycleResult{}) {
		t.Fatalf("the day before 20 months: %+v", res)
	}
	c.set(day(2027, 4, 30))
	if res := run(t, env.Service); res.DeletedInactive != 1 {
		t.Fatalf("at 20 months: %+v, want 1 deletion", res)
	}
	if exists(t, env, idle.ID) {
		t.Fatal("idle account not deleted at 20 months")
	}
	if !exists(t, env, back.ID) {
		t.Fatal("account deleted although it logged in during the grace period")
	}
	if _, err := env.Service.Session(ctx, sess.ID); !errors.Is(err, idp.ErrNotFound) {
		t.Fatalf("session of the deleted account: %v", err)
	}
	mails = outbox(t, env.Store, env.Ring)
	if n := count(mails, "anna@example.ch", idp.MailLifecycleDeleted); n != 1 {
		t.Errorf("%d final mails, want 1", n)
	}
	if n := count(mails, "beat@example.ch", idp.MailLifecycleDeleted); n != 0 {
		t.Errorf("the account that came back got %d final mails", n)
	}
	events, err := env.Store.ListServiceEvents(ctx, 10)
	if err != nil || len(events) != 1 || events[0].ClientID != "forms" || events[0].AccountID != idle.ID {
		t.Fatalf("service events %+v, %v; want one account-purged for forms", events, err)
	}

	// Beat's new idle period: a new reminder 18 months after that login.
	c.set(day(2028, 9, 14))
	if res := run(t, env.Service); res.Reminded != 0 {
		t.Fatalf("before 18 months of the new period: %+v", res)
	}
	c.set(day(2028, 9, 15))
	if res := run(t, env.Service); res.Reminded != 1 {
		t.Fatalf("18 months after the new login: %+v", res)
	}
	if n := count(outbox(t, env.Store, env.Ring), "beat@example.ch", idp.MailLifecycleReminder); n != 2 {
		t.Fatalf("%d reminders in all, want 2 (one per idle period)", n)
	}
}

// failingStore makes PurgeAccount fail after a number of calls, as a crash
// half-way through a run would.
type failingStore struct {
	idp.Store
	left atomic.Int32
}

var errCrash = errors.New("simulated crash")

func (f *failingStore) PurgeAccount(ctx context.Context, p idp.Purge) error {
	if f.left.Add(-1) < 0 {
		return errCrash
	}
	return f.Store.PurgeAccount(ctx, p)
}

// TestLifecycleResumes: a run that fails half-way leaves the finished
// deletions committed; the next run does the rest, each mail once.
func TestLifecycleResumes(t *testing.T) {
	c := newClock(day(2026, 1, 5))
	env := lifeEnv(t, c, nil)
	emails := []string{"a@example.ch", "b@example.ch", "c@example.ch", "d@example.ch", "e@example.ch"}
	for _, e := range emails {
		env.CreateAccount(t, "Test", "Person", e, pw)
	}
	c.set(day(2026, 3, 5))
	fs := &failingStore{Store: env.Store}
	fs.left.Store(2)
	crashing := idp.NewService(idp.Config{BaseURL: env.URL, Now: c.now,
		SealMail: func(m idp.Mail) (idp.Outgoing, error) { return notify.SealMail(env.Ring, m) }},
		fs, env.Eph, env.Ring, nil, nil)
	res, err := crashing.RunLifecycle(t.Context())
	if !errors.Is(err, errCrash) {
		t.Fatalf("crashing run: %v", err)
	}
	if res.DeletedNeverUsed != 2 {
		t.Fatalf("crashing run deleted %d, want 2 before the crash", res.DeletedNeverUsed)
	}
	if n := countTemplate(outbox(t, env.Store, env.Ring), idp.MailLifecycleDeleted); n != 2 {
		t.Fatalf("%d mails after the crash, want 2 (one per finished deletion)", n)
	}
	if res := run(t, env.Service); res.DeletedNeverUsed != 3 {
		t.Fatalf("resumed run: %+v, want the remaining 3", res)
	}
	mails := outbox(t, env.Store, env.Ring)
	for _, e := range emails {
		if n := count(mails, e, idp.MailLifecycleDeleted); n != 1 {
			t.Errorf("%s: %d final mails, want 1", e, n)
		}
	}
}

// TestLifecycleSkipsFailingAccount: an account whose sealed data cannot be
// opened (so its final mail cannot be written) fails its step, but the
// accounts after it are still deleted and reminded; the run reports the
// failure (so River retries) and the next run fails on it alone.
func TestLifecycleSkipsFailingAccount(t *testing.T) {
	ctx := t.Context()
	c := newClock(day(2025, 6, 1))
	env := lifeEnv(t, c, nil)
	// The broken account is the oldest: the first candidate of the run.
	broken := env.CreateAccount(t, "Bruno", "Kaputt", "bruno@example.ch", pw)
	c.set(day(2025, 6, 2))
	idle := env.CreateAccount(t, "Ida", "Idle", "ida@example.ch", pw)
	if _, err := env.Service.Login(ctx, "ida@example.ch", pw, "203.0.113.7"); err != nil {
		t.Fatal(err)
	}
	c.set(day(2026, 12, 10))
	fresh := env.CreateAccount(t, "Nina", "Neu", "nina@example.ch", pw)
	if _, err := env.Store.UpdateAccount(ctx, broken.ID, func(a idp.Account) (idp.Account, []idp.Outgoing, error) {
		a.Sealed = []byte("not a sealed box")
		return a, nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	// Bruno and Nina never logged in (2 months over), Ida's login is 18
	// months old.
	c.set(day(2027, 2, 10))
	res, err := env.Service.RunLifecycle(ctx)
	if err == nil {
		t.Fatal("RunLifecycle: no error although an account failed")
	}
	if res.Failed != 1 || res.DeletedNeverUsed != 1 || res.Reminded != 1 {
		t.Fatalf("run: %+v, %v; want 1 failed, 1 deleted, 1 reminded", res, err)
	}
	if !exists(t, env, broken.ID) || exists(t, env, fresh.ID) || !exists(t, env, idle.ID) {
		t.Fatalf("after the run: broken %v, fresh %v, idle %v; want the broken and the reminded one left",
			exists(t, env, broken.ID), exists(t, env, fresh.ID), exists(t, env, idle.ID))
	}
	mails := outbox(t, env.Store, env.Ring)
	if count(mails, "nina@example.ch", idp.MailLifecycleDeleted) != 1 || count(mails, "ida@example.ch", idp.MailLifecycleReminder) != 1 {
		t.Fatal("the accounts after the failing one got no mail")
	}
	// The retry does not repeat the finished steps and fails on the broken
	// account only.
	res, err = env.Service.RunLifecycle(ctx)
	if err == nil || res != (idp.LifecycleResult{Failed: 1}) {
		t.Fatalf("retry: %+v, %v; want only the broken account failing", res, err)
	}
}

// TestLifecycleTwoRunners: two instances over one Postgres database run
// at once; every reminder and every final mail goes out once.
func TestLifecycleTwoRunners(t *testing.T) {
	st := idptest.Postgres(t)
	c := newClock(day(2025, 1, 15))
	env := lifeEnv(t, c, st)
	other := idptest.Start(t, idptest.Options{Now: c.now, Store: st, Ring: env.Ring, Eph: env.Eph, Limits: roomy})
	var emails []string
	for i := range 12 {
		e := string(rune('a'+i)) + "@example.ch"
		emails = append(emails, e)
		env.CreateAccount(t, "Test", "Person", e, pw)
		if _, err := env.Service.Login(t.Context(), e, pw, "203.0.113.9"); err != nil {
			t.Fatal(err)
		}
	}
	both := func() idp.LifecycleResult {
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			sum  idp.LifecycleResult
			errs []error
		)
		for _, svc := range []*idp.Service{env.Service, other.Service} {
			wg.Go(func() {
				res, err := svc.RunLifecycle(t.Context())
				mu.Lock()
				defer mu.Unlock()
				errs = append(errs, err)
				sum.Reminded += res.Reminded
				sum.DeletedInactive += res.DeletedInactive
				sum.DeletedNeverUsed += res.DeletedNeverUsed
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		return sum
	}
	c.set(idp.AddMonths(day(2025, 1, 15), 18))
	if res := both(); res.Reminded != len(emails) {
		t.Fatalf("two runners reminded %d in all, want %d", res.Reminded, len(emails))
	}
	c.set(idp.AddMonths(day(2025, 1, 15), 20))
	if res := both(); res.DeletedInactive != len(emails) {
		t.Fatalf("two runners deleted %d in all, want %d", res.DeletedInactive, len(emails))
	}
	mails := outbox(t, st, env.Ring)
	for _, e := range emails {
		if n := count(mails, e, idp.MailLifecycleReminder); n != 1 {
			t.Errorf("%s: %d reminders, want 1", e, n)
		}
		if n := count(mails, e, idp.MailLifecycleDeleted); n != 1 {
			t.Errorf("%s: %d final mails, want 1", e, n)
		}
	}
	if len(mails) != 3*len(emails) { // activation, reminder, final
		var kinds []string
		for _, m := range mails {
			kinds = append(kinds, m.Template)
		}
		slices.Sort(kinds)
		t.Errorf("outbox holds %d mails, want %d: %v", len(mails), 3*len(emails), kinds)
	}
}

// TestLifecycleRiverJob runs the lifecycle as the River periodic job the
// binaries schedule (RunOnStart) over SQLite and waits for its completion
// event: the never-used account is gone and its final mail delivered.
func TestLifecycleRiverJob(t *testing.T) {
	c := newClock(day(2026, 8, 31))
	env := lifeEnv(t, c, nil)
	acct := env.CreateAccount(t, "Anna", "Muster", "anna@example.ch", pw)
	c.set(day(2026, 10, 31))

	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	box := notify.NewDevOutbox(50, nil)
	ws := notify.Workers(env.Ring, box, quiet)
	notify.AddLifecycleWorker(ws, env.Service, quiet)
	notify.AddEndSessionsWorker(ws, env.Service) // a purge ends the sessions through this job
	db := env.Store.(*sqlite.Store).DB()
	client, err := river.NewClient(riversqlite.New(db), &river.Config{
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 2}},
		Workers:           ws,
		PeriodicJobs:      []*river.PeriodicJob{notify.LifecyclePeriodicJob(time.Hour)},
		FetchCooldown:     5 * time.Millisecond,
		FetchPollInterval: 20 * time.Millisecond,
		Logger:            quiet,
		TestOnly:          true,
	})
	if err != nil {
		t.Fatal(err)
	}
	events, unsubscribe := client.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed, river.EventKindJobCancelled)
	defer unsubscribe()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := client.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stop, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = client.Stop(stop)
	})
	done := map[string]int{}
	for done["account_lifecycle"] < 1 || done["mail"] < 2 { // the activation mail and the final one
		select {
		case ev := <-events:
			if ev.Kind != river.EventKindJobCompleted {
				t.Fatalf("job %s ended with %s: %v", ev.Job.Kind, ev.Kind, ev.Job.Errors)
			}
			done[ev.Job.Kind]++
		case <-ctx.Done():
			t.Fatalf("jobs completed: %v; timed out", done)
		}
	}
	if exists(t, env, acct.ID) {
		t.Fatal("the lifecycle job did not delete the never-used account")
	}
}
