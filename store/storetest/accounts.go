package storetest

// Conformance tests of accounts (idp.AccountStore).

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/kanton/kundencenter/idp"
)

func testPing(t *testing.T, s Store, _ Options) {
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func testAccountCreateGet(t *testing.T, s Store, o Options) {
	ctx := t.Context()
	a := newAccount(t)
	a.LastLoginAt = base.Add(time.Minute)
	tok := newActionToken(t, a.ID, idp.PurposeActivate)
	m := newMail(t)
	if err := s.CreateAccount(ctx, a, tok, m); err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	other, _ := mustCreateAccount(t, s)

	lookups := []struct {
		name string
		get  func() (idp.Account, error)
		want idp.Account
	}{
		{"by ID", func() (idp.Account, error) { return s.GetAccount(ctx, a.ID) }, a},
		{"by e-mail index", func() (idp.Account, error) { return s.GetAccountByEmailIndex(ctx, a.EmailIndex) }, a},
		{"by Konto-ID", func() (idp.Account, error) { return s.GetAccountByKontoID(ctx, a.KontoID) }, a},
		{"other by ID", func() (idp.Account, error) { return s.GetAccount(ctx, other.ID) }, other},
	}
	for _, tc := range lookups {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.get()
			if err != nil {
				t.Fatalf("get: %v", err)
			}
			checkAccount(t, "account", got, tc.want)
		})
	}
	checkJobs(t, s, o, m)

	// The activation token was stored with the account.
	activated, err := s.ConsumeActionToken(ctx, idp.PurposeActivate, tok.Hash, base,
		func(acc idp.Account) (idp.Account, []idp.Outgoing, error) { return acc, nil, nil })
	checkErr(t, "consume activation token", err, nil)
	checkAccount(t, "consumed account", activated, a)
}

func testAccountNotFound(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	mustCreateAccount(t, s)
	tests := []struct {
		name string
		get  func() (idp.Account, error)
	}{
		{"by ID", func() (idp.Account, error) { return s.GetAccount(ctx, "nobody") }},
		{"by e-mail index", func() (idp.Account, error) { return s.GetAccountByEmailIndex(ctx, randBytes(t, 32)) }},
		{"by Konto-ID", func() (idp.Account, error) { return s.GetAccountByKontoID(ctx, "KC-0000-0000-0") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.get()
			checkErr(t, "get", err, idp.ErrNotFound)
		})
	}
}

func testAccountConflict(t *testing.T, s Store, o Options) {
	ctx := t.Context()
	first, firstTok := mustCreateAccount(t, s)
	tests := []struct {
		name   string
		change func(a *idp.Account, tok *idp.ActionToken)
	}{
		{"same ID", func(a *idp.Account, tok *idp.ActionToken) { a.ID = first.ID; tok.AccountID = first.ID }},
		{"same e-mail index", func(a *idp.Account, _ *idp.ActionToken) { a.EmailIndex = first.EmailIndex }},
		{"same Konto-ID", func(a *idp.Account, _ *idp.ActionToken) { a.KontoID = first.KontoID }},
		{"same activation token", func(_ *idp.Account, tok *idp.ActionToken) { tok.Hash = firstTok.Hash }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newAccount(t)
			tok := newActionToken(t, a.ID, idp.PurposeActivate)
			tc.change(&a, &tok)
			err := s.CreateAccount(ctx, a, tok, newMail(t))
			checkErr(t, "CreateAccount", err, idp.ErrConflict)
			if a.ID != first.ID {
				_, err = s.GetAccount(ctx, a.ID)
				checkErr(t, "GetAccount after conflict", err, idp.ErrNotFound)
			}
			got, err := s.GetAccount(ctx, first.ID)
			checkErr(t, "GetAccount of first", err, nil)
			checkAccount(t, "first account", got, first)
			checkJobs(t, s, o)
		})
	}
}

func testAccountCreateUnknownKind(t *testing.T, s Store, o Options) {
	ctx := t.Context()
	a := newAccount(t)
	tok := newActionToken(t, a.ID, idp.PurposeActivate)
	err := s.CreateAccount(ctx, a, tok, newMail(t), idp.Outgoing{Kind: "carrier-pigeon", Sealed: []byte("x")})
	if err == nil {
		t.Fatal("CreateAccount with an unknown outgoing kind: no error")
	}
	_, err = s.GetAccount(ctx, a.ID)
	checkErr(t, "GetAccount", err, idp.ErrNotFound)
	checkJobs(t, s, o)
}

func testTimePrecision(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	zones := []struct {
		name string
		loc  *time.Location
	}{
		{"UTC", time.UTC},
		{"east of UTC", time.FixedZone("CEST", 2*3600)},
		{"west of UTC", time.FixedZone("PDT", -7*3600)},
	}
	for _, tc := range zones {
		t.Run(tc.name, func(t *testing.T) {
			a := newAccount(t)
			// Nanoseconds and a monotonic reading, as time.Now gives them.
			now := time.Now().In(tc.loc)
			a.CreatedAt = now
			a.ActivatedAt = now.Add(1500 * time.Nanosecond)
			a.LastLoginAt = time.Time{}
			a.PasswordChangedAt = time.Date(1999, 12, 31, 23, 59, 59, 999999999, tc.loc)
			if err := s.CreateAccount(ctx, a, newActionToken(t, a.ID, idp.PurposeActivate)); err != nil {
				t.Fatalf("CreateAccount: %v", err)
			}
			got, err := s.GetAccount(ctx, a.ID)
			checkErr(t, "GetAccount", err, nil)
			checkAccount(t, "account", got, a)
			if !got.LastLoginAt.IsZero() {
				t.Errorf("zero LastLoginAt came back as %v", got.LastLoginAt)
			}
			if !got.CreatedAt.Equal(now.Truncate(time.Microsecond)) {
				t.Errorf("CreatedAt %v, want %v", got.CreatedAt, now.Truncate(time.Microsecond))
			}
		})
	}
}

func testUpdateAccount(t *testing.T, s Store, o Options) {
	ctx := t.Context()
	a, _ := mustCreateAccount(t, s)
	other, _ := mustCreateAccount(t, s)
	m := newMail(t)
	want := a
	want.Status = idp.StatusActive
	want.ActivatedAt = base.Add(time.Hour)
	want.LastLoginAt = base.Add(2 * time.Hour)
	want.Locale = "fr"
	want.Sealed = randBytes(t, 70)
	want.EmailIndex = randBytes(t, 32)
	want.PasswordHash = "$argon2id$v=19$m=65536,t=3,p=4$bmV3c2FsdA$bmV3aGFzaA"
	calls := 0
	got, err := s.UpdateAccount(ctx, a.ID, func(old idp.Account) (idp.Account, []idp.Outgoing, error) {
		calls++
		checkAccount(t, "fn argument", old, a)
		return want, []idp.Outgoing{m}, nil
	})
	checkErr(t, "UpdateAccount", err, nil)
	if calls != 1 {
		t.Errorf("fn called %d times, want 1", calls)
	}
	checkAccount(t, "returned account", got, want)
	stored, err := s.GetAccountByEmailIndex(ctx, want.EmailIndex)
	checkErr(t, "GetAccountByEmailIndex (new index)", err, nil)
	checkAccount(t, "stored account", stored, want)
	_, err = s.GetAccountByEmailIndex(ctx, a.EmailIndex)
	checkErr(t, "GetAccountByEmailIndex (old index)", err, idp.ErrNotFound)
	untouched, err := s.GetAccount(ctx, other.ID)
	checkErr(t, "GetAccount (other)", err, nil)
	checkAccount(t, "other account", untouched, other)
	checkJobs(t, s, o, m)
}

// testRecordLogin: the last login time changes and nothing else, on this
// account only.
func testRecordLogin(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	a, _ := mustCreateAccount(t, s)
	other, _ := mustCreateAccount(t, s)
	at := base.Add(3 * time.Hour).In(time.FixedZone("CET", 3600))
	checkErr(t, "RecordLogin", s.RecordLogin(ctx, a.ID, at), nil)
	want := a
	want.LastLoginAt = at
	got, err := s.GetAccount(ctx, a.ID)
	checkErr(t, "GetAccount", err, nil)
	checkAccount(t, "account after RecordLogin", got, want)
	untouched, err := s.GetAccount(ctx, other.ID)
	checkErr(t, "GetAccount (other)", err, nil)
	checkAccount(t, "other account", untouched, other)
	checkErr(t, "RecordLogin unknown", s.RecordLogin(ctx, "nobody", at), idp.ErrNotFound)
}

func testUpdateAccountAborts(t *testing.T, s Store, o Options) {
	ctx := t.Context()
	a, _ := mustCreateAccount(t, s)
	other, _ := mustCreateAccount(t, s)
	errFn := errors.New("fn says no")
	tests := []struct {
		name    string
		id      string
		fn      func(old idp.Account) (idp.Account, []idp.Outgoing, error)
		wantErr error // nil: any error
	}{
		{"fn error", a.ID, func(old idp.Account) (idp.Account, []idp.Outgoing, error) {
			old.Status = idp.StatusDisabled
			return old, []idp.Outgoing{newMail(t)}, errFn
		}, errFn},
		{"ID changed", a.ID, func(old idp.Account) (idp.Account, []idp.Outgoing, error) {
			old.ID = unique("acc")
			old.Status = idp.StatusDisabled
			return old, []idp.Outgoing{newMail(t)}, nil
		}, nil},
		{"e-mail index taken", a.ID, func(old idp.Account) (idp.Account, []idp.Outgoing, error) {
			old.EmailIndex = other.EmailIndex
			return old, []idp.Outgoing{newMail(t)}, nil
		}, idp.ErrConflict},
		{"Konto-ID taken", a.ID, func(old idp.Account) (idp.Account, []idp.Outgoing, error) {
			old.KontoID = other.KontoID
			return old, []idp.Outgoing{newMail(t)}, nil
		}, idp.ErrConflict},
		{"unknown outgoing kind", a.ID, func(old idp.Account) (idp.Account, []idp.Outgoing, error) {
			old.Status = idp.StatusDisabled
			return old, []idp.Outgoing{newMail(t), {Kind: "fax"}}, nil
		}, nil},
		{"unknown account", "nobody", func(old idp.Account) (idp.Account, []idp.Outgoing, error) {
			t.Error("fn called for an unknown account")
			return old, nil, nil
		}, idp.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.UpdateAccount(ctx, tc.id, tc.fn)
			if err == nil {
				t.Fatal("UpdateAccount: no error")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("UpdateAccount: got error %v, want %v", err, tc.wantErr)
			}
			got, err := s.GetAccount(ctx, a.ID)
			checkErr(t, "GetAccount", err, nil)
			checkAccount(t, "account after abort", got, a)
			checkJobs(t, s, o)
		})
	}
}

// testUpdateAccountConcurrent checks that fn sees the row locked: of
// concurrent read-modify-write updates none is lost.
func testUpdateAccountConcurrent(t *testing.T, s Store, _ Options) {
	ctx := guard(t)
	a, _ := mustCreateAccount(t, s)
	if _, err := s.UpdateAccount(ctx, a.ID, func(old idp.Account) (idp.Account, []idp.Outgoing, error) {
		old.Locale = ""
		return old, nil, nil
	}); err != nil {
		t.Fatalf("UpdateAccount: %v", err)
	}
	const n = 10
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = s.UpdateAccount(ctx, a.ID, func(old idp.Account) (idp.Account, []idp.Outgoing, error) {
				old.Locale += "x"
				return old, nil, nil
			})
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("update %d: %v", i, err)
		}
	}
	got, err := s.GetAccount(t.Context(), a.ID)
	checkErr(t, "GetAccount", err, nil)
	if len(got.Locale) != n {
		t.Errorf("after %d concurrent appends the field holds %d: updates were lost", n, len(got.Locale))
	}
}

func testDeleteAccount(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	a, activation := mustCreateAccount(t, s)
	reset := newActionToken(t, a.ID, idp.PurposeReset)
	if err := s.CreateActionToken(ctx, reset); err != nil {
		t.Fatalf("CreateActionToken: %v", err)
	}
	rt := mustCreateRefreshToken(t, s, a.ID, unique("fam"))
	other, otherTok := mustCreateAccount(t, s)
	otherRT := mustCreateRefreshToken(t, s, other.ID, unique("fam"))

	checkErr(t, "DeleteAccount", s.DeleteAccount(ctx, a.ID), nil)
	checkErr(t, "DeleteAccount again", s.DeleteAccount(ctx, a.ID), idp.ErrNotFound)

	_, err := s.GetAccount(ctx, a.ID)
	checkErr(t, "GetAccount", err, idp.ErrNotFound)
	_, err = s.GetAccountByEmailIndex(ctx, a.EmailIndex)
	checkErr(t, "GetAccountByEmailIndex", err, idp.ErrNotFound)
	_, err = s.GetAccountByKontoID(ctx, a.KontoID)
	checkErr(t, "GetAccountByKontoID", err, idp.ErrNotFound)
	_, err = s.GetRefreshToken(ctx, rt.Hash)
	checkErr(t, "GetRefreshToken", err, idp.ErrNotFound)
	keep := func(acc idp.Account) (idp.Account, []idp.Outgoing, error) { return acc, nil, nil }
	for _, tok := range []idp.ActionToken{activation, reset} {
		_, err = s.ConsumeActionToken(ctx, tok.Purpose, tok.Hash, base, keep)
		checkErr(t, "ConsumeActionToken "+string(tok.Purpose), err, idp.ErrNotFound)
	}

	// The other account keeps everything.
	_, err = s.GetAccount(ctx, other.ID)
	checkErr(t, "GetAccount (other)", err, nil)
	_, err = s.GetRefreshToken(ctx, otherRT.Hash)
	checkErr(t, "GetRefreshToken (other)", err, nil)
	_, err = s.ConsumeActionToken(ctx, otherTok.Purpose, otherTok.Hash, base, keep)
	checkErr(t, "ConsumeActionToken (other)", err, nil)

	// The e-mail index and Konto-ID are free again.
	again := newAccount(t)
	again.EmailIndex, again.KontoID = a.EmailIndex, a.KontoID
	checkErr(t, "CreateAccount with the freed index", s.CreateAccount(ctx, again, newActionToken(t, again.ID, idp.PurposeActivate)), nil)
}
