package storetest

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/mfa"
)

// lifecycleTests are the LifecycleStore cases, run by Run.
var lifecycleTests = []struct {
	name string
	run  func(t *testing.T, s Store, o Options)
}{
	{"LifecycleCandidates", testLifecycleCandidates},
	{"LifecycleCandidatesPaging", testLifecycleCandidatesPaging},
	{"LifecycleNotice", testLifecycleNotice},
	{"LifecycleNoticeConcurrent", testLifecycleNoticeConcurrent},
	{"PurgeAccount", testPurgeAccount},
	{"PurgeAccountIdleCondition", testPurgeAccountIdleCondition},
	{"PurgeAccountConcurrent", testPurgeAccountConcurrent},
	{"UpdateAccountWithToken", testUpdateAccountWithToken},
	{"ServiceEvents", testServiceEvents},
}

// createAt creates an account created at created that last logged in at
// login (zero: never).
func createAt(t *testing.T, s Store, created, login time.Time) idp.Account {
	t.Helper()
	a := newAccount(t)
	a.CreatedAt, a.LastLoginAt = created, login
	if err := s.CreateAccount(t.Context(), a, idp.ActionToken{}); err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	return a
}

func candidateIDs(cs []idp.LifecycleCandidate) []string {
	var ids []string
	for _, c := range cs {
		ids = append(ids, c.Account.ID)
	}
	return ids
}

func testLifecycleCandidates(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	never := base.AddDate(0, -3, 0)
	neverNew := base.AddDate(0, 0, -10)
	idleOld := base.AddDate(-2, 0, 0)
	idleNew := base.AddDate(0, -1, 0)
	a1 := createAt(t, s, never, time.Time{})                 // never logged in, old: candidate
	createAt(t, s, neverNew, time.Time{})                    // never logged in, new: not
	a3 := createAt(t, s, idleOld.AddDate(-1, 0, 0), idleOld) // idle long: candidate
	createAt(t, s, idleOld.AddDate(-1, 0, 0), idleNew)       // logged in lately: not
	got, err := s.ListLifecycleCandidates(ctx, idp.LifecycleQuery{NeverBefore: base.AddDate(0, -2, 0),
		IdleBefore: base.AddDate(0, -18, 0), Limit: 10})
	checkErr(t, "ListLifecycleCandidates", err, nil)
	want := []string{a3.ID, a1.ID} // by idle start: a3's login before a1's creation
	if ids := candidateIDs(got); !slices.Equal(ids, want) {
		t.Fatalf("candidates %v, want %v", ids, want)
	}
	for _, c := range got {
		want := a1
		if c.Account.ID == a3.ID {
			want = a3
		}
		checkAccount(t, "candidate account", c.Account, want)
		if !c.NoticeAt.IsZero() {
			t.Errorf("candidate %s: notice at %v before any", c.Account.ID, c.NoticeAt)
		}
	}
	_, err = s.ListLifecycleCandidates(ctx, idp.LifecycleQuery{Limit: 0})
	if err == nil {
		t.Error("ListLifecycleCandidates with limit 0: no error")
	}

	// The marker comes back with the candidate.
	at := base.Add(-time.Hour)
	ok, err := s.MarkLifecycleNotice(ctx, a3.ID, idleOld, at)
	checkErr(t, "MarkLifecycleNotice", err, nil)
	if !ok {
		t.Fatal("MarkLifecycleNotice: not recorded")
	}
	got, err = s.ListLifecycleCandidates(ctx, idp.LifecycleQuery{IdleBefore: base.AddDate(0, -18, 0), Limit: 10})
	checkErr(t, "ListLifecycleCandidates", err, nil)
	if len(got) != 1 || got[0].Account.ID != a3.ID || !got[0].NoticeAt.Equal(normTime(at)) {
		t.Fatalf("after notice: %+v, want %s with notice at %v", got, a3.ID, at)
	}
	checkUTC(t, "notice", got[0].NoticeAt)
}

// testLifecycleCandidatesPaging pages through candidates of both kinds
// (idle and never used) with equal and different idle starts: the keyset
// (AfterIdle, After) yields each exactly once, by idle start and ID.
func testLifecycleCandidatesPaging(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	type cand struct {
		idle time.Time
		id   string
	}
	var want []cand
	add := func(created, login time.Time) {
		a := createAt(t, s, created, login)
		want = append(want, cand{idp.IdleSince(a), a.ID})
	}
	for i := range 7 {
		// Three share an idle start; the others differ, in both halves.
		d := min(i, 2)
		add(base.AddDate(-3, 0, 0), base.AddDate(-2, 0, -d)) // idle for two years
		if i < 4 {
			add(base.AddDate(0, -3, -i), time.Time{}) // never used, three months old
		}
	}
	createAt(t, s, base.AddDate(0, 0, -10), time.Time{})           // never used, new: not
	createAt(t, s, base.AddDate(-3, 0, 0), base.AddDate(0, -1, 0)) // logged in lately: not
	slices.SortFunc(want, func(a, b cand) int {
		if c := a.idle.Compare(b.idle); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	var wantIDs []string
	for _, c := range want {
		wantIDs = append(wantIDs, c.id)
	}
	var got []string
	q := idp.LifecycleQuery{IdleBefore: base.AddDate(0, -18, 0), NeverBefore: base.AddDate(0, -2, 0), Limit: 3}
	for range 10 {
		page, err := s.ListLifecycleCandidates(ctx, q)
		checkErr(t, "ListLifecycleCandidates", err, nil)
		got = append(got, candidateIDs(page)...)
		if len(page) < q.Limit {
			break
		}
		last := page[len(page)-1].Account
		q.AfterIdle, q.After = idp.IdleSince(last), last.ID
	}
	if len(got) != len(wantIDs) {
		t.Fatalf("paged %d candidates %v, want %d %v", len(got), got, len(wantIDs), wantIDs)
	}
	// Equal idle starts come by ID in the store's collation, which may
	// differ from Go's byte order: compare the idle starts strictly and
	// the set of IDs.
	byID := map[string]time.Time{}
	for _, c := range want {
		byID[c.id] = c.idle
	}
	for i, id := range got {
		idle, ok := byID[id]
		if !ok {
			t.Fatalf("paged candidate %s is not one (%v)", id, got)
		}
		if !idle.Equal(want[i].idle) {
			t.Fatalf("paged candidates out of idle order: %v, want %v", got, wantIDs)
		}
		delete(byID, id)
	}
}

func testLifecycleNotice(t *testing.T, s Store, o Options) {
	ctx := t.Context()
	login := base.AddDate(-2, 0, 0)
	a := createAt(t, s, login.AddDate(-1, 0, 0), login)
	mail := newMail(t)

	// A stale idle start (the user logged in since): nothing recorded, no mail.
	ok, err := s.MarkLifecycleNotice(ctx, a.ID, login.Add(-time.Hour), base, newMail(t))
	checkErr(t, "MarkLifecycleNotice stale", err, nil)
	if ok {
		t.Fatal("MarkLifecycleNotice with a stale idle start recorded a notice")
	}
	checkJobs(t, s, o)

	ok, err = s.MarkLifecycleNotice(ctx, a.ID, login, base, mail)
	checkErr(t, "MarkLifecycleNotice", err, nil)
	if !ok {
		t.Fatal("MarkLifecycleNotice: not recorded")
	}
	checkJobs(t, s, o, mail)
	// Again in the same idle period: refused, no second mail.
	ok, err = s.MarkLifecycleNotice(ctx, a.ID, login, base.Add(time.Hour), newMail(t))
	checkErr(t, "MarkLifecycleNotice again", err, nil)
	if ok {
		t.Fatal("second notice in the same idle period recorded")
	}
	checkJobs(t, s, o, mail)

	// After a login a new idle period starts: a notice is due again.
	login2 := base.Add(24 * time.Hour)
	if _, err := s.UpdateAccount(ctx, a.ID, func(a idp.Account) (idp.Account, []idp.Outgoing, error) {
		a.LastLoginAt = login2
		return a, nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	mail2 := newMail(t)
	ok, err = s.MarkLifecycleNotice(ctx, a.ID, login2, login2.AddDate(1, 6, 0), mail2)
	checkErr(t, "MarkLifecycleNotice new period", err, nil)
	if !ok {
		t.Fatal("notice in a new idle period not recorded")
	}
	checkJobs(t, s, o, mail, mail2)

	_, err = s.MarkLifecycleNotice(ctx, "nobody", login, base)
	checkErr(t, "MarkLifecycleNotice unknown account", err, idp.ErrNotFound)
}

func testLifecycleNoticeConcurrent(t *testing.T, s Store, o Options) {
	ctx := guard(t)
	login := base.AddDate(-2, 0, 0)
	a := createAt(t, s, login.AddDate(-1, 0, 0), login)
	const n = 8
	mails := make([]idp.Outgoing, n)
	results := make([]bool, n)
	var wg sync.WaitGroup
	for i := range n {
		mails[i] = newMail(t)
		wg.Go(func() {
			ok, err := s.MarkLifecycleNotice(ctx, a.ID, login, base.Add(time.Duration(i)*time.Second), mails[i])
			if err != nil {
				t.Errorf("MarkLifecycleNotice #%d: %v", i, err)
			}
			results[i] = ok
		})
	}
	wg.Wait()
	var winners []idp.Outgoing
	for i, ok := range results {
		if ok {
			winners = append(winners, mails[i])
		}
	}
	if len(winners) != 1 {
		t.Fatalf("%d concurrent notices recorded, want exactly 1", len(winners))
	}
	checkJobs(t, s, o, winners...)
}

func testPurgeAccount(t *testing.T, s Store, o Options) {
	ctx := t.Context()
	a, tok := mustCreateAccount(t, s)
	other, _ := mustCreateAccount(t, s)
	mustCreateRefreshToken(t, s, a.ID, unique("fam"))
	rtOther := mustCreateRefreshToken(t, s, other.ID, unique("fam"))
	if _, err := s.UpdateMFA(ctx, a.ID, func(m mfa.Settings) (mfa.Settings, []idp.Outgoing, error) {
		m.PhoneSealed, m.PhoneVerifiedAt, m.Required = randBytes(t, 20), base, true
		return m, nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	cred := newWebAuthnCredential(t, a.ID)
	if err := s.AddWebAuthnCredential(ctx, cred); err != nil {
		t.Fatal(err)
	}
	mustCreateLink(t, s, newLink(t, a.ID))
	checkErr(t, "RecordClientUse", s.RecordClientUse(ctx, a.ID, "forms", base), nil)
	checkErr(t, "RecordClientUse again", s.RecordClientUse(ctx, a.ID, "forms", base.Add(time.Hour)), nil)
	checkErr(t, "RecordClientUse", s.RecordClientUse(ctx, a.ID, "status", base), nil)
	checkErr(t, "RecordClientUse other", s.RecordClientUse(ctx, other.ID, "documents", base), nil)
	checkErr(t, "RecordClientUse unknown account", s.RecordClientUse(ctx, "nobody", "forms", base), idp.ErrNotFound)
	// The refresh token's client (see newRefreshToken) counts as used, too.
	rt := newRefreshToken(t, a.ID, unique("fam"))
	rt.ClientID = "documents"
	checkErr(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, rt), nil)

	mail := newMail(t)
	at := base.Add(2 * time.Hour)
	checkErr(t, "PurgeAccount", s.PurgeAccount(ctx, idp.Purge{AccountID: a.ID, Event: idp.EventAccountPurged, At: at,
		Out: []idp.Outgoing{mail}}), nil)
	checkJobs(t, s, o, mail)

	_, err := s.GetAccount(ctx, a.ID)
	checkErr(t, "GetAccount after purge", err, idp.ErrNotFound)
	_, err = s.GetAccountByEmailIndex(ctx, a.EmailIndex)
	checkErr(t, "GetAccountByEmailIndex after purge", err, idp.ErrNotFound)
	_, err = s.GetRefreshToken(ctx, rt.Hash)
	checkErr(t, "refresh token after purge", err, idp.ErrNotFound)
	_, err = s.ConsumeActionToken(ctx, tok.Purpose, tok.Hash, base, func(a idp.Account) (idp.Account, []idp.Outgoing, error) {
		return a, nil, nil
	})
	checkErr(t, "action token after purge", err, idp.ErrNotFound)
	_, err = s.GetMFA(ctx, a.ID)
	checkErr(t, "MFA settings after purge", err, idp.ErrNotFound)
	if creds, err := s.ListWebAuthnCredentials(ctx, a.ID); err != nil || len(creds) != 0 {
		t.Errorf("passkeys after purge: %d, %v", len(creds), err)
	}
	if links, err := s.ListLinks(ctx, a.ID); err != nil || len(links) != 0 {
		t.Errorf("links after purge: %d, %v", len(links), err)
	}
	// The other account is untouched.
	if _, err := s.GetAccount(ctx, other.ID); err != nil {
		t.Errorf("other account: %v", err)
	}
	if _, err := s.GetRefreshToken(ctx, rtOther.Hash); err != nil {
		t.Errorf("other account's refresh token: %v", err)
	}

	events, err := s.ListServiceEvents(ctx, 10)
	checkErr(t, "ListServiceEvents", err, nil)
	var clients []string
	for _, e := range events {
		if e.AccountID != a.ID || e.Event != idp.EventAccountPurged || !e.CreatedAt.Equal(normTime(at)) || !e.DeliveredAt.IsZero() {
			t.Errorf("event %+v: want account %s, %s at %v, undelivered", e, a.ID, idp.EventAccountPurged, at)
		}
		checkUTC(t, "event", e.CreatedAt)
		clients = append(clients, e.ClientID)
	}
	slices.Sort(clients)
	wantClients := []string{"documents", "forms", "status"}
	if rc := newRefreshToken(t, a.ID, "x").ClientID; !slices.Contains(wantClients, rc) {
		wantClients = append(wantClients, rc)
		slices.Sort(wantClients)
	}
	if !slices.Equal(clients, wantClients) {
		t.Errorf("events for clients %v, want one each for %v", clients, wantClients)
	}

	err = s.PurgeAccount(ctx, idp.Purge{AccountID: a.ID, Event: idp.EventAccountPurged, At: at, Out: []idp.Outgoing{newMail(t)}})
	checkErr(t, "PurgeAccount again", err, idp.ErrNotFound)
	checkJobs(t, s, o, mail)

	// The address is free for a new account.
	again := newAccount(t)
	again.EmailIndex = a.EmailIndex
	checkErr(t, "CreateAccount with the purged address", s.CreateAccount(ctx, again, idp.ActionToken{}), nil)
}

func testPurgeAccountIdleCondition(t *testing.T, s Store, o Options) {
	ctx := t.Context()
	login := base.AddDate(-2, 0, 0)
	a := createAt(t, s, login.AddDate(-1, 0, 0), login)
	err := s.PurgeAccount(ctx, idp.Purge{AccountID: a.ID, IdleSince: login.Add(-time.Second), Out: []idp.Outgoing{newMail(t)}})
	checkErr(t, "PurgeAccount after a login", err, idp.ErrConflict)
	checkJobs(t, s, o)
	if _, err := s.GetAccount(ctx, a.ID); err != nil {
		t.Fatalf("account gone after a refused purge: %v", err)
	}
	never := createAt(t, s, base.AddDate(0, -3, 0), time.Time{})
	mail := newMail(t)
	checkErr(t, "PurgeAccount never logged in", s.PurgeAccount(ctx, idp.Purge{AccountID: never.ID, IdleSince: never.CreatedAt,
		Out: []idp.Outgoing{mail}}), nil)
	checkErr(t, "PurgeAccount idle", s.PurgeAccount(ctx, idp.Purge{AccountID: a.ID, IdleSince: login}), nil)
	checkJobs(t, s, o, mail)
	if events, err := s.ListServiceEvents(ctx, 10); err != nil || len(events) != 0 {
		t.Errorf("events without Event set: %d, %v", len(events), err)
	}
}

func testPurgeAccountConcurrent(t *testing.T, s Store, o Options) {
	ctx := guard(t)
	a, _ := mustCreateAccount(t, s)
	checkErr(t, "RecordClientUse", s.RecordClientUse(ctx, a.ID, "forms", base), nil)
	const n = 6
	errs := make([]error, n)
	mails := make([]idp.Outgoing, n)
	var wg sync.WaitGroup
	for i := range n {
		mails[i] = newMail(t)
		wg.Go(func() {
			errs[i] = s.PurgeAccount(ctx, idp.Purge{AccountID: a.ID, IdleSince: a.CreatedAt, Event: idp.EventAccountPurged,
				At: base, Out: []idp.Outgoing{mails[i]}})
		})
	}
	wg.Wait()
	var won []idp.Outgoing
	for i, err := range errs {
		switch {
		case err == nil:
			won = append(won, mails[i])
		case !errors.Is(err, idp.ErrNotFound):
			t.Errorf("PurgeAccount #%d: %v, want nil or ErrNotFound", i, err)
		}
	}
	if len(won) != 1 {
		t.Fatalf("%d concurrent purges succeeded, want 1", len(won))
	}
	checkJobs(t, s, o, won...)
	if events, err := s.ListServiceEvents(ctx, 10); err != nil || len(events) != 1 {
		t.Errorf("events after concurrent purges: %d, %v; want 1", len(events), err)
	}
}

func testUpdateAccountWithToken(t *testing.T, s Store, o Options) {
	ctx := t.Context()
	a, _ := mustCreateAccount(t, s)
	tok := newActionToken(t, a.ID, "email_change")
	mail := newMail(t)
	sealed := randBytes(t, 50)
	got, err := s.UpdateAccountWithToken(ctx, tok, func(old idp.Account) (idp.Account, []idp.Outgoing, error) {
		old.Sealed = sealed
		return old, []idp.Outgoing{mail}, nil
	})
	checkErr(t, "UpdateAccountWithToken", err, nil)
	want := a
	want.Sealed = sealed
	checkAccount(t, "returned account", got, want)
	checkJobs(t, s, o, mail)
	consumed, err := s.ConsumeActionToken(ctx, tok.Purpose, tok.Hash, base, func(a idp.Account) (idp.Account, []idp.Outgoing, error) {
		return a, nil, nil
	})
	checkErr(t, "ConsumeActionToken", err, nil)
	checkAccount(t, "account of the token", consumed, want)

	// An error from fn writes neither the account nor the token nor the mail.
	tok2 := newActionToken(t, a.ID, "email_change")
	boom := errors.New("boom")
	_, err = s.UpdateAccountWithToken(ctx, tok2, func(old idp.Account) (idp.Account, []idp.Outgoing, error) {
		old.Sealed = randBytes(t, 10)
		return old, []idp.Outgoing{newMail(t)}, boom
	})
	checkErr(t, "UpdateAccountWithToken aborted", err, boom)
	checkJobs(t, s, o, mail)
	_, err = s.ConsumeActionToken(ctx, tok2.Purpose, tok2.Hash, base, func(a idp.Account) (idp.Account, []idp.Outgoing, error) {
		return a, nil, nil
	})
	checkErr(t, "token of the aborted update", err, idp.ErrNotFound)
	if cur, err := s.GetAccount(ctx, a.ID); err != nil {
		t.Fatal(err)
	} else {
		checkAccount(t, "account after the aborted update", cur, want)
	}

	// A taken token hash aborts the account update too.
	_, err = s.UpdateAccountWithToken(ctx, tok, func(old idp.Account) (idp.Account, []idp.Outgoing, error) {
		old.Sealed = randBytes(t, 10)
		return old, []idp.Outgoing{newMail(t)}, nil
	})
	checkErr(t, "UpdateAccountWithToken with a taken hash", err, idp.ErrConflict)
	checkJobs(t, s, o, mail)
	_, err = s.UpdateAccountWithToken(ctx, newActionToken(t, "nobody", "email_change"),
		func(old idp.Account) (idp.Account, []idp.Outgoing, error) { return old, nil, nil })
	checkErr(t, "UpdateAccountWithToken unknown account", err, idp.ErrNotFound)
}

func testServiceEvents(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	var accounts []idp.Account
	for i := range 3 {
		a, _ := mustCreateAccount(t, s)
		checkErr(t, "RecordClientUse", s.RecordClientUse(ctx, a.ID, "client-a", base), nil)
		if i > 0 {
			checkErr(t, "RecordClientUse", s.RecordClientUse(ctx, a.ID, "client-b", base), nil)
		}
		checkErr(t, "PurgeAccount", s.PurgeAccount(ctx, idp.Purge{AccountID: a.ID, Event: idp.EventAccountPurged,
			At: base.Add(time.Duration(i) * time.Minute)}), nil)
		accounts = append(accounts, a)
	}
	all, err := s.ListServiceEvents(ctx, 100)
	checkErr(t, "ListServiceEvents", err, nil)
	if len(all) != 5 {
		t.Fatalf("%d events, want 5", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].ID <= all[i-1].ID {
			t.Fatalf("events not oldest first: %d after %d", all[i].ID, all[i-1].ID)
		}
	}
	if all[0].AccountID != accounts[0].ID {
		t.Errorf("first event for %s, want %s", all[0].AccountID, accounts[0].ID)
	}
	first2, err := s.ListServiceEvents(ctx, 2)
	checkErr(t, "ListServiceEvents limit", err, nil)
	if len(first2) != 2 || first2[0].ID != all[0].ID || first2[1].ID != all[1].ID {
		t.Fatalf("limit 2: %+v", first2)
	}
	checkErr(t, "MarkServiceEventDelivered", s.MarkServiceEventDelivered(ctx, all[0].ID, base.Add(time.Hour)), nil)
	checkErr(t, "MarkServiceEventDelivered unknown", s.MarkServiceEventDelivered(ctx, all[len(all)-1].ID+1000, base), idp.ErrNotFound)
	rest, err := s.ListServiceEvents(ctx, 100)
	checkErr(t, "ListServiceEvents after delivery", err, nil)
	if len(rest) != 4 || rest[0].ID != all[1].ID {
		t.Fatalf("after delivering the first: %d events starting at %d", len(rest), rest[0].ID)
	}
	// The cursor pages past pending events: after the second, the third on.
	page, err := s.ListServiceEventsAfter(ctx, all[1].ID, 2)
	checkErr(t, "ListServiceEventsAfter", err, nil)
	if len(page) != 2 || page[0].ID != all[2].ID || page[1].ID != all[3].ID {
		t.Fatalf("after %d, limit 2: %+v", all[1].ID, page)
	}
	// Delivered events are skipped by the cursor too; after the last, none.
	page, err = s.ListServiceEventsAfter(ctx, 0, 100)
	checkErr(t, "ListServiceEventsAfter 0", err, nil)
	if len(page) != 4 || page[0].ID != all[1].ID {
		t.Fatalf("after 0: %+v", page)
	}
	if page, err = s.ListServiceEventsAfter(ctx, all[len(all)-1].ID, 100); err != nil || len(page) != 0 {
		t.Fatalf("after the last: %+v, %v", page, err)
	}
}
