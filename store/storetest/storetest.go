package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/mfa"
)

// Job is one mail job found in River's job table, as the outbox wrote it.
type Job struct {
	Sealed      []byte // notify.MailArgs.Sealed
	MaxAttempts int
}

// Options carries what the suite needs to know about the adapter beyond
// the Store contract.
type Options struct {
	// MailJobs returns the mail jobs River holds in s's database, in
	// insertion order. It is required.
	MailJobs func(t *testing.T, s idp.Store) []Job
}

// Store is what a durable store adapter implements: the identity
// provider's state and the second factors kept beside it.
type Store interface {
	idp.Store
	mfa.Store
	mfa.WebAuthnStore
}

// Run runs the conformance suite. open must return a fresh, empty store
// for every call (and close it at the test's cleanup).
func Run(t *testing.T, open func(t *testing.T) Store, opts Options) {
	t.Helper()
	if opts.MailJobs == nil {
		t.Fatal("storetest: Options.MailJobs is required")
	}
	tests := []struct {
		name string
		run  func(t *testing.T, s Store, o Options)
	}{
		{"Ping", testPing},
		{"AccountCreateGet", testAccountCreateGet},
		{"AccountNotFound", testAccountNotFound},
		{"AccountConflict", testAccountConflict},
		{"AccountCreateUnknownKind", testAccountCreateUnknownKind},
		{"TimePrecision", testTimePrecision},
		{"UpdateAccount", testUpdateAccount},
		{"UpdateAccountAborts", testUpdateAccountAborts},
		{"UpdateAccountConcurrent", testUpdateAccountConcurrent},
		{"DeleteAccount", testDeleteAccount},
		{"ActionToken", testActionToken},
		{"ActionTokenErrors", testActionTokenErrors},
		{"ActionTokenAbort", testActionTokenAbort},
		{"ActionTokenConcurrent", testActionTokenConcurrent},
		{"Clients", testClients},
		{"SigningKeys", testSigningKeys},
		{"RefreshTokenCreateGet", testRefreshTokenCreateGet},
		{"RotateRefreshToken", testRotateRefreshToken},
		{"RotateRefreshTokenErrors", testRotateRefreshTokenErrors},
		{"RotateRefreshTokenConcurrent", testRotateRefreshTokenConcurrent},
		{"RevokeRefreshTokens", testRevokeRefreshTokens},
		{"DeleteExpiredRefreshTokens", testDeleteExpiredRefreshTokens},
		{"EnqueueOutgoing", testEnqueueOutgoing},
		{"Audit", testAudit},
	}
	tests = append(tests, mfaTests...)
	tests = append(tests, lifecycleTests...)
	tests = append(tests, profileTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, open(t), opts)
		})
	}
	runWebAuthn(t, open, opts)
	runLinks(t, open, opts)
	runSubjects(t, open, opts) // subjects.go
}

// base is a fixed instant with microsecond precision in a zone other than
// UTC, so that the suite also checks the adapters' time-zone handling.
var base = time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.FixedZone("CET", 3600))

var seq atomic.Int64

// unique returns a value no other call in this process returns.
func unique(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano(), seq.Add(1))
}

func randBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("random bytes: %v", err)
	}
	return b
}

func newAccount(t *testing.T) idp.Account {
	t.Helper()
	id := unique("acc")
	return idp.Account{
		ID:                id,
		KontoID:           "KC-" + id,
		EmailIndex:        randBytes(t, 32),
		Sealed:            randBytes(t, 64),
		PasswordHash:      "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
		Status:            idp.StatusPending,
		Locale:            "de",
		CreatedAt:         base,
		PasswordChangedAt: base,
	}
}

func newActionToken(t *testing.T, accountID string, purpose idp.ActionPurpose) idp.ActionToken {
	t.Helper()
	return idp.ActionToken{
		Hash:      randBytes(t, 32),
		Purpose:   purpose,
		AccountID: accountID,
		CreatedAt: base,
		ExpiresAt: base.Add(time.Hour),
	}
}

func newMail(t *testing.T) idp.Outgoing {
	t.Helper()
	return idp.Outgoing{Kind: "mail", Sealed: randBytes(t, 48)}
}

func newRefreshToken(t *testing.T, accountID, familyID string) idp.RefreshToken {
	t.Helper()
	return idp.RefreshToken{
		ID:        unique("rt"),
		Hash:      randBytes(t, 32),
		FamilyID:  familyID,
		ClientID:  "client-a",
		AccountID: accountID,
		SessionID: unique("sess"),
		Scopes:    []string{"openid", "profile", "offline_access"},
		Audience:  []string{"client-a"},
		AuthTime:  base.Add(-time.Minute),
		AMR:       []string{"pwd", "otp"},
		ACR:       "urn:kanton:loa:2",
		Acting:    idp.Acting{Kind: idp.ActingOrganisation, ID: unique("org")},
		Profile:   unique("prof"),
		CreatedAt: base,
		ExpiresAt: base.Add(540 * 24 * time.Hour),
	}
}

// mustCreateAccount stores a new account with an activation token and
// returns both.
func mustCreateAccount(t *testing.T, s Store) (idp.Account, idp.ActionToken) {
	t.Helper()
	a := newAccount(t)
	tok := newActionToken(t, a.ID, idp.PurposeActivate)
	if err := s.CreateAccount(t.Context(), a, tok); err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	return a, tok
}

func mustCreateRefreshToken(t *testing.T, s Store, accountID, familyID string) idp.RefreshToken {
	t.Helper()
	rt := newRefreshToken(t, accountID, familyID)
	if err := s.CreateRefreshToken(t.Context(), rt); err != nil {
		t.Fatalf("CreateRefreshToken: %v", err)
	}
	return rt
}

// normTime is what an adapter must return for a stored time: UTC,
// truncated to microseconds, the zero time unchanged.
func normTime(tm time.Time) time.Time {
	if tm.IsZero() {
		return time.Time{}
	}
	return tm.UTC().Truncate(time.Microsecond)
}

// normStrings treats nil and empty as the same value.
func normStrings(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func normBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

func normAccount(a idp.Account) idp.Account {
	a.EmailIndex = normBytes(a.EmailIndex)
	a.Sealed = normBytes(a.Sealed)
	a.CreatedAt = normTime(a.CreatedAt)
	a.ActivatedAt = normTime(a.ActivatedAt)
	a.LastLoginAt = normTime(a.LastLoginAt)
	a.PasswordChangedAt = normTime(a.PasswordChangedAt)
	return a
}

func normClient(c idp.Client) idp.Client {
	c.SecretHash = normBytes(c.SecretHash)
	c.RedirectURIs = normStrings(c.RedirectURIs)
	c.PostLogoutRedirectURIs = normStrings(c.PostLogoutRedirectURIs)
	c.GrantTypes = normStrings(c.GrantTypes)
	c.Scopes = normStrings(c.Scopes)
	c.APIScopes = normStrings(c.APIScopes)
	c.CreatedAt = normTime(c.CreatedAt)
	c.UpdatedAt = normTime(c.UpdatedAt)
	return c
}

func normKey(k idp.SigningKey) idp.SigningKey {
	k.Sealed = normBytes(k.Sealed)
	k.Public = normBytes(k.Public)
	k.CreatedAt = normTime(k.CreatedAt)
	k.UpdatedAt = normTime(k.UpdatedAt)
	return k
}

func normRefresh(r idp.RefreshToken) idp.RefreshToken {
	r.Hash = normBytes(r.Hash)
	r.Scopes = normStrings(r.Scopes)
	r.Audience = normStrings(r.Audience)
	r.AMR = normStrings(r.AMR)
	r.AuthTime = normTime(r.AuthTime)
	r.CreatedAt = normTime(r.CreatedAt)
	r.ExpiresAt = normTime(r.ExpiresAt)
	r.UsedAt = normTime(r.UsedAt)
	r.RevokedAt = normTime(r.RevokedAt)
	return r
}

func normAudit(e idp.AuditEvent) idp.AuditEvent {
	e.At = normTime(e.At)
	return e
}

// checkUTC fails unless every non-zero time is in UTC.
func checkUTC(t *testing.T, what string, times ...time.Time) {
	t.Helper()
	for i, tm := range times {
		if !tm.IsZero() && tm.Location() != time.UTC {
			t.Errorf("%s: time #%d is in %v, want UTC", what, i, tm.Location())
		}
	}
}

func checkAccount(t *testing.T, what string, got, want idp.Account) {
	t.Helper()
	checkUTC(t, what, got.CreatedAt, got.ActivatedAt, got.LastLoginAt, got.PasswordChangedAt)
	if g, w := normAccount(got), normAccount(want); !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

func checkRefresh(t *testing.T, what string, got, want idp.RefreshToken) {
	t.Helper()
	checkUTC(t, what, got.AuthTime, got.CreatedAt, got.ExpiresAt, got.UsedAt, got.RevokedAt)
	if g, w := normRefresh(got), normRefresh(want); !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

func checkErr(t *testing.T, what string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("%s: unexpected error %v", what, err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

// checkJobs fails unless the outbox holds exactly the given mails, in order,
// each with ten attempts.
func checkJobs(t *testing.T, s Store, o Options, want ...idp.Outgoing) {
	t.Helper()
	jobs := o.MailJobs(t, s)
	if len(jobs) != len(want) {
		t.Fatalf("outbox holds %d mail jobs, want %d", len(jobs), len(want))
	}
	for i, j := range jobs {
		if !bytes.Equal(j.Sealed, want[i].Sealed) {
			t.Errorf("mail job #%d: sealed payload differs from the Outgoing passed in", i)
		}
		if j.MaxAttempts != 10 {
			t.Errorf("mail job #%d: max attempts %d, want 10", i, j.MaxAttempts)
		}
	}
}

// guard returns a context that ends the test's concurrent calls if a
// backend deadlocks, so that the failure is reported instead of hanging.
func guard(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

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

func testActionToken(t *testing.T, s Store, o Options) {
	ctx := t.Context()
	a, activation := mustCreateAccount(t, s)
	reset := newActionToken(t, a.ID, idp.PurposeReset)
	resetMail := newMail(t)
	checkErr(t, "CreateActionToken", s.CreateActionToken(ctx, reset, resetMail), nil)
	checkJobs(t, s, o, resetMail)

	// Activate: one microsecond before expiry is still valid.
	confirmMail := newMail(t)
	now := activation.ExpiresAt.Add(-time.Microsecond)
	want := a
	want.Status = idp.StatusActive
	want.ActivatedAt = now
	got, err := s.ConsumeActionToken(ctx, idp.PurposeActivate, activation.Hash, now,
		func(acc idp.Account) (idp.Account, []idp.Outgoing, error) {
			checkAccount(t, "fn argument", acc, a)
			acc.Status = idp.StatusActive
			acc.ActivatedAt = now
			return acc, []idp.Outgoing{confirmMail}, nil
		})
	checkErr(t, "ConsumeActionToken", err, nil)
	checkAccount(t, "returned account", got, want)
	stored, err := s.GetAccount(ctx, a.ID)
	checkErr(t, "GetAccount", err, nil)
	checkAccount(t, "stored account", stored, want)
	checkJobs(t, s, o, resetMail, confirmMail)

	// Used: ErrReused, fn not called, nothing enqueued.
	_, err = s.ConsumeActionToken(ctx, idp.PurposeActivate, activation.Hash, now,
		func(acc idp.Account) (idp.Account, []idp.Outgoing, error) {
			t.Error("fn called for a used token")
			return acc, nil, nil
		})
	checkErr(t, "ConsumeActionToken again", err, idp.ErrReused)

	// The reset token is independent of the activation token.
	got, err = s.ConsumeActionToken(ctx, idp.PurposeReset, reset.Hash, base,
		func(acc idp.Account) (idp.Account, []idp.Outgoing, error) {
			acc.PasswordChangedAt = base.Add(time.Minute)
			return acc, nil, nil
		})
	checkErr(t, "ConsumeActionToken reset", err, nil)
	want.PasswordChangedAt = base.Add(time.Minute)
	checkAccount(t, "account after reset", got, want)
	checkJobs(t, s, o, resetMail, confirmMail)
}

func testActionTokenErrors(t *testing.T, s Store, o Options) {
	ctx := t.Context()
	a, activation := mustCreateAccount(t, s)

	create := []struct {
		name    string
		tok     idp.ActionToken
		wantErr error
	}{
		{"duplicate hash", idp.ActionToken{Hash: activation.Hash, Purpose: idp.PurposeReset, AccountID: a.ID,
			CreatedAt: base, ExpiresAt: base.Add(time.Hour)}, idp.ErrConflict},
		{"unknown account", newActionToken(t, "nobody", idp.PurposeReset), idp.ErrNotFound},
	}
	for _, tc := range create {
		t.Run("create "+tc.name, func(t *testing.T) {
			err := s.CreateActionToken(ctx, tc.tok, newMail(t))
			checkErr(t, "CreateActionToken", err, tc.wantErr)
			checkJobs(t, s, o)
		})
	}
	t.Run("create unknown kind", func(t *testing.T) {
		tok := newActionToken(t, a.ID, idp.PurposeReset)
		if err := s.CreateActionToken(ctx, tok, idp.Outgoing{Kind: "sms"}); err == nil {
			t.Fatal("CreateActionToken with an unknown outgoing kind: no error")
		}
		_, err := s.ConsumeActionToken(ctx, tok.Purpose, tok.Hash, base,
			func(acc idp.Account) (idp.Account, []idp.Outgoing, error) { return acc, nil, nil })
		checkErr(t, "ConsumeActionToken", err, idp.ErrNotFound)
	})

	consume := []struct {
		name    string
		purpose idp.ActionPurpose
		hash    []byte
		now     time.Time
	}{
		{"unknown hash", idp.PurposeActivate, randBytes(t, 32), base},
		{"wrong purpose", idp.PurposeReset, activation.Hash, base},
		{"expired exactly now", idp.PurposeActivate, activation.Hash, activation.ExpiresAt},
		{"expired", idp.PurposeActivate, activation.Hash, activation.ExpiresAt.Add(time.Hour)},
	}
	for _, tc := range consume {
		t.Run("consume "+tc.name, func(t *testing.T) {
			_, err := s.ConsumeActionToken(ctx, tc.purpose, tc.hash, tc.now,
				func(acc idp.Account) (idp.Account, []idp.Outgoing, error) {
					t.Error("fn called")
					return acc, nil, nil
				})
			checkErr(t, "ConsumeActionToken", err, idp.ErrNotFound)
		})
	}
	// None of the failures used the token up.
	_, err := s.ConsumeActionToken(ctx, idp.PurposeActivate, activation.Hash, base,
		func(acc idp.Account) (idp.Account, []idp.Outgoing, error) { return acc, nil, nil })
	checkErr(t, "ConsumeActionToken after failures", err, nil)
}

func testActionTokenAbort(t *testing.T, s Store, o Options) {
	ctx := t.Context()
	a, activation := mustCreateAccount(t, s)
	other, _ := mustCreateAccount(t, s)
	errFn := errors.New("fn says no")
	tests := []struct {
		name    string
		fn      func(acc idp.Account) (idp.Account, []idp.Outgoing, error)
		wantErr error // nil: any error
	}{
		{"fn error", func(acc idp.Account) (idp.Account, []idp.Outgoing, error) {
			acc.Status = idp.StatusActive
			return acc, []idp.Outgoing{newMail(t)}, errFn
		}, errFn},
		{"conflict", func(acc idp.Account) (idp.Account, []idp.Outgoing, error) {
			acc.Status = idp.StatusActive
			acc.EmailIndex = other.EmailIndex
			return acc, []idp.Outgoing{newMail(t)}, nil
		}, idp.ErrConflict},
		{"ID changed", func(acc idp.Account) (idp.Account, []idp.Outgoing, error) {
			acc.ID = unique("acc")
			return acc, []idp.Outgoing{newMail(t)}, nil
		}, nil},
		{"unknown outgoing kind", func(acc idp.Account) (idp.Account, []idp.Outgoing, error) {
			acc.Status = idp.StatusActive
			return acc, []idp.Outgoing{newMail(t), {Kind: "telex"}}, nil
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.ConsumeActionToken(ctx, idp.PurposeActivate, activation.Hash, base, tc.fn)
			if err == nil {
				t.Fatal("ConsumeActionToken: no error")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("ConsumeActionToken: got error %v, want %v", err, tc.wantErr)
			}
			got, err := s.GetAccount(ctx, a.ID)
			checkErr(t, "GetAccount", err, nil)
			checkAccount(t, "account after abort", got, a)
			checkJobs(t, s, o)
		})
	}
	// The token is still unused.
	_, err := s.ConsumeActionToken(ctx, idp.PurposeActivate, activation.Hash, base,
		func(acc idp.Account) (idp.Account, []idp.Outgoing, error) { return acc, nil, nil })
	checkErr(t, "ConsumeActionToken after aborts", err, nil)
}

func testActionTokenConcurrent(t *testing.T, s Store, o Options) {
	ctx := guard(t)
	_, activation := mustCreateAccount(t, s)
	const n = 10
	var (
		wg       sync.WaitGroup
		start    = make(chan struct{})
		errs     = make([]error, n)
		mails    = make([]idp.Outgoing, n)
		winnerFn atomic.Int32
	)
	for i := range n {
		mails[i] = newMail(t)
		wg.Go(func() {
			<-start
			_, errs[i] = s.ConsumeActionToken(ctx, idp.PurposeActivate, activation.Hash, base,
				func(acc idp.Account) (idp.Account, []idp.Outgoing, error) {
					winnerFn.Add(1)
					acc.Status = idp.StatusActive
					return acc, []idp.Outgoing{mails[i]}, nil
				})
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("consumers %d and %d both succeeded", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, idp.ErrReused):
			t.Errorf("consumer %d: got error %v, want ErrReused", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no consumer succeeded")
	}
	if c := winnerFn.Load(); c != 1 {
		t.Errorf("fn ran %d times, want 1", c)
	}
	checkJobs(t, s, o, mails[winner])
}

func testClients(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	b := idp.Client{
		ID:                     "b-portal",
		SecretHash:             randBytes(t, 32),
		Name:                   "Steuerportal",
		RedirectURIs:           []string{"https://steuern.example.ch/callback", "https://steuern.example.ch/cb2"},
		PostLogoutRedirectURIs: []string{"https://steuern.example.ch/"},
		GrantTypes:             []string{idp.GrantAuthorizationCode, idp.GrantRefreshToken},
		AccessTokenType:        "jwt",
		Level:                  "urn:kanton:loa:2",
		BackChannelLogoutURI:   "https://steuern.example.ch/backchannel",
		EventsURI:              "https://steuern.example.ch/events",
		Scopes:                 []string{"cases:write", "documents:read"},
		APIScopes:              []string{"tax:read"},
		CreatedAt:              base,
		UpdatedAt:              base.Add(time.Second),
	}
	a := idp.Client{
		ID:              "a-app",
		Name:            "Mobile App",
		RedirectURIs:    []string{"ch.kanton.app:/callback"},
		GrantTypes:      []string{idp.GrantAuthorizationCode},
		Public:          true,
		AccessTokenType: "opaque",
		CreatedAt:       base,
	}
	empty := idp.Client{ID: "c-empty", RedirectURIs: []string{}, GrantTypes: nil}
	for _, c := range []idp.Client{b, a, empty} {
		checkErr(t, "PutClient "+c.ID, s.PutClient(ctx, c), nil)
	}
	for _, c := range []idp.Client{a, b, empty} {
		got, err := s.GetClient(ctx, c.ID)
		checkErr(t, "GetClient "+c.ID, err, nil)
		checkUTC(t, "client", got.CreatedAt, got.UpdatedAt)
		if g, w := normClient(got), normClient(c); !reflect.DeepEqual(g, w) {
			t.Errorf("GetClient %s:\n got %+v\nwant %+v", c.ID, g, w)
		}
	}

	// Replace.
	b.Name = "Steuern online"
	b.RedirectURIs = []string{"https://steuern.example.ch/new"}
	b.Scopes = []string{"cases:read"}
	b.APIScopes = nil
	b.UpdatedAt = base.Add(time.Hour)
	checkErr(t, "PutClient replace", s.PutClient(ctx, b), nil)

	list, err := s.ListClients(ctx)
	checkErr(t, "ListClients", err, nil)
	want := []idp.Client{a, b, empty}
	if len(list) != len(want) {
		t.Fatalf("ListClients: %d clients, want %d", len(list), len(want))
	}
	for i := range want {
		if g, w := normClient(list[i]), normClient(want[i]); !reflect.DeepEqual(g, w) {
			t.Errorf("ListClients[%d]:\n got %+v\nwant %+v", i, g, w)
		}
	}

	checkErr(t, "DeleteClient", s.DeleteClient(ctx, a.ID), nil)
	checkErr(t, "DeleteClient again", s.DeleteClient(ctx, a.ID), idp.ErrNotFound)
	_, err = s.GetClient(ctx, a.ID)
	checkErr(t, "GetClient deleted", err, idp.ErrNotFound)
	list, err = s.ListClients(ctx)
	checkErr(t, "ListClients after delete", err, nil)
	if len(list) != 2 || list[0].ID != b.ID || list[1].ID != empty.ID {
		t.Errorf("ListClients after delete: %d clients", len(list))
	}
}

func testSigningKeys(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	keys, err := s.ListSigningKeys(ctx)
	checkErr(t, "ListSigningKeys (empty)", err, nil)
	if len(keys) != 0 {
		t.Fatalf("ListSigningKeys on an empty store: %d keys", len(keys))
	}
	newKey := func(id string, state idp.KeyState, created time.Time) idp.SigningKey {
		return idp.SigningKey{ID: id, Algorithm: "ES256", Sealed: randBytes(t, 80), Public: randBytes(t, 91),
			State: state, CreatedAt: created, UpdatedAt: created}
	}
	// IDs in the opposite order of creation, so the order must come from CreatedAt.
	old := newKey("k3", idp.KeyActive, base)
	next := newKey("k1", idp.KeyNext, base.Add(24*time.Hour))
	checkErr(t, "PutSigningKeys", s.PutSigningKeys(ctx, next, old), nil)

	// Rotate: both change state in one call.
	old.State, old.UpdatedAt = idp.KeyRetired, base.Add(48*time.Hour)
	next.State, next.UpdatedAt = idp.KeyActive, base.Add(48*time.Hour)
	newest := newKey("k2", idp.KeyNext, base.Add(48*time.Hour))
	checkErr(t, "PutSigningKeys rotation", s.PutSigningKeys(ctx, old, next, newest), nil)

	keys, err = s.ListSigningKeys(ctx)
	checkErr(t, "ListSigningKeys", err, nil)
	want := []idp.SigningKey{old, next, newest}
	if len(keys) != len(want) {
		t.Fatalf("ListSigningKeys: %d keys, want %d", len(keys), len(want))
	}
	for i := range want {
		checkUTC(t, "key", keys[i].CreatedAt, keys[i].UpdatedAt)
		if g, w := normKey(keys[i]), normKey(want[i]); !reflect.DeepEqual(g, w) {
			t.Errorf("ListSigningKeys[%d]:\n got %+v\nwant %+v", i, g, w)
		}
	}

	checkErr(t, "DeleteSigningKey", s.DeleteSigningKey(ctx, old.ID), nil)
	checkErr(t, "DeleteSigningKey again", s.DeleteSigningKey(ctx, old.ID), idp.ErrNotFound)
	keys, err = s.ListSigningKeys(ctx)
	checkErr(t, "ListSigningKeys after delete", err, nil)
	if len(keys) != 2 || keys[0].ID != next.ID || keys[1].ID != newest.ID {
		t.Errorf("ListSigningKeys after delete: %d keys", len(keys))
	}
}

func testRefreshTokenCreateGet(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	rt := mustCreateRefreshToken(t, s, "acc-1", unique("fam"))
	bare := idp.RefreshToken{ID: unique("rt"), Hash: randBytes(t, 32), FamilyID: unique("fam"),
		ClientID: "c", AccountID: "acc-1", Scopes: []string{}, ExpiresAt: base}
	checkErr(t, "CreateRefreshToken (bare)", s.CreateRefreshToken(ctx, bare), nil)
	for _, want := range []idp.RefreshToken{rt, bare} {
		got, err := s.GetRefreshToken(ctx, want.Hash)
		checkErr(t, "GetRefreshToken", err, nil)
		checkRefresh(t, "refresh token", got, want)
	}
	_, err := s.GetRefreshToken(ctx, randBytes(t, 32))
	checkErr(t, "GetRefreshToken unknown", err, idp.ErrNotFound)

	tests := []struct {
		name   string
		change func(r *idp.RefreshToken)
	}{
		{"same hash", func(r *idp.RefreshToken) { r.Hash = rt.Hash }},
		{"same ID", func(r *idp.RefreshToken) { r.ID = rt.ID }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRefreshToken(t, "acc-1", unique("fam"))
			tc.change(&r)
			checkErr(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, r), idp.ErrConflict)
		})
	}
}

// child returns a next function for RotateRefreshToken that continues the
// family and records the old token it was given.
func child(t *testing.T, seen *idp.RefreshToken) (func(old idp.RefreshToken) idp.RefreshToken, *idp.RefreshToken) {
	t.Helper()
	var made idp.RefreshToken
	return func(old idp.RefreshToken) idp.RefreshToken {
		if seen != nil {
			*seen = old
		}
		made = newRefreshToken(t, old.AccountID, old.FamilyID)
		made.SessionID = old.SessionID
		made.AuthTime = old.AuthTime
		made.ExpiresAt = old.ExpiresAt
		made.CreatedAt = base.Add(time.Minute)
		return made
	}, &made
}

func testRotateRefreshToken(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	family := unique("fam")
	first := mustCreateRefreshToken(t, s, "acc-1", family)
	bystander := mustCreateRefreshToken(t, s, "acc-1", unique("fam"))

	now := base.Add(time.Minute)
	var seen idp.RefreshToken
	next, made := child(t, &seen)
	second, err := s.RotateRefreshToken(ctx, first.Hash, now, next)
	checkErr(t, "RotateRefreshToken", err, nil)
	wantSeen := first
	wantSeen.UsedAt = now
	if seen.ID != first.ID || !bytes.Equal(seen.Hash, first.Hash) || seen.FamilyID != family {
		t.Errorf("next got %+v, want the old token %+v", seen, first)
	}
	checkRefresh(t, "returned token", second, *made)
	got, err := s.GetRefreshToken(ctx, second.Hash)
	checkErr(t, "GetRefreshToken new", err, nil)
	checkRefresh(t, "stored new token", got, *made)
	got, err = s.GetRefreshToken(ctx, first.Hash)
	checkErr(t, "GetRefreshToken old", err, nil)
	checkRefresh(t, "stored old token", got, wantSeen)

	// Rotate the second token too: a chain works.
	next, made = child(t, nil)
	third, err := s.RotateRefreshToken(ctx, second.Hash, now.Add(time.Minute), next)
	checkErr(t, "RotateRefreshToken second", err, nil)
	checkRefresh(t, "third token", third, *made)

	// Reuse of the first token revokes the whole family, and it stays revoked.
	reuse := now.Add(2 * time.Minute)
	_, err = s.RotateRefreshToken(ctx, first.Hash, reuse, func(old idp.RefreshToken) idp.RefreshToken {
		t.Error("next called for a used token")
		return newRefreshToken(t, old.AccountID, old.FamilyID)
	})
	checkErr(t, "RotateRefreshToken reuse", err, idp.ErrReused)
	for _, h := range [][]byte{first.Hash, second.Hash, third.Hash} {
		got, err := s.GetRefreshToken(ctx, h)
		checkErr(t, "GetRefreshToken after reuse", err, nil)
		if !got.RevokedAt.Equal(reuse) {
			t.Errorf("token %s: RevokedAt %v, want %v", got.ID, got.RevokedAt, reuse)
		}
	}
	got, err = s.GetRefreshToken(ctx, bystander.Hash)
	checkErr(t, "GetRefreshToken bystander", err, nil)
	checkRefresh(t, "bystander", got, bystander)

	// The newest token of the revoked family is not found; the used ones
	// still count as reuse.
	_, err = s.RotateRefreshToken(ctx, third.Hash, reuse, func(old idp.RefreshToken) idp.RefreshToken {
		t.Error("next called for a revoked token")
		return old
	})
	checkErr(t, "RotateRefreshToken revoked", err, idp.ErrNotFound)
	_, err = s.RotateRefreshToken(ctx, second.Hash, reuse.Add(time.Minute), func(old idp.RefreshToken) idp.RefreshToken {
		t.Error("next called for a used token")
		return old
	})
	checkErr(t, "RotateRefreshToken used and revoked", err, idp.ErrReused)
	got, err = s.GetRefreshToken(ctx, third.Hash)
	checkErr(t, "GetRefreshToken third", err, nil)
	if !got.RevokedAt.Equal(reuse) {
		t.Errorf("a second revocation moved RevokedAt from %v to %v", reuse, got.RevokedAt)
	}
}

func testRotateRefreshTokenErrors(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	live := mustCreateRefreshToken(t, s, "acc-1", unique("fam"))
	revoked := mustCreateRefreshToken(t, s, "acc-1", unique("fam"))
	checkErr(t, "RevokeRefreshFamily", s.RevokeRefreshFamily(ctx, revoked.FamilyID, base), nil)
	notCalled := func(old idp.RefreshToken) idp.RefreshToken {
		t.Error("next called")
		return old
	}
	tests := []struct {
		name    string
		hash    []byte
		now     time.Time
		next    func(old idp.RefreshToken) idp.RefreshToken
		wantErr error
	}{
		{"unknown", randBytes(t, 32), base, notCalled, idp.ErrNotFound},
		{"revoked", revoked.Hash, base, notCalled, idp.ErrNotFound},
		{"expired exactly now", live.Hash, live.ExpiresAt, notCalled, idp.ErrNotFound},
		{"expired", live.Hash, live.ExpiresAt.Add(time.Hour), notCalled, idp.ErrNotFound},
		{"next hash taken", live.Hash, base, func(old idp.RefreshToken) idp.RefreshToken {
			n := newRefreshToken(t, old.AccountID, old.FamilyID)
			n.Hash = revoked.Hash
			return n
		}, idp.ErrConflict},
		{"next ID taken", live.Hash, base, func(old idp.RefreshToken) idp.RefreshToken {
			n := newRefreshToken(t, old.AccountID, old.FamilyID)
			n.ID = revoked.ID
			return n
		}, idp.ErrConflict},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.RotateRefreshToken(ctx, tc.hash, tc.now, tc.next)
			checkErr(t, "RotateRefreshToken", err, tc.wantErr)
			got, err := s.GetRefreshToken(ctx, live.Hash)
			checkErr(t, "GetRefreshToken live", err, nil)
			checkRefresh(t, "live token after failure", got, live)
		})
	}
	// The live token still rotates.
	next, made := child(t, nil)
	got, err := s.RotateRefreshToken(ctx, live.Hash, base, next)
	checkErr(t, "RotateRefreshToken live", err, nil)
	checkRefresh(t, "rotated", got, *made)
}

func testRotateRefreshTokenConcurrent(t *testing.T, s Store, _ Options) {
	ctx := guard(t)
	rt := mustCreateRefreshToken(t, s, "acc-1", unique("fam"))
	const n = 20
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make([]error, n)
		got   = make([]idp.RefreshToken, n)
		now   = base.Add(time.Minute)
	)
	for i := range n {
		wg.Go(func() {
			<-start
			next := func(old idp.RefreshToken) idp.RefreshToken {
				c := newRefreshToken(t, old.AccountID, old.FamilyID)
				c.ExpiresAt = old.ExpiresAt
				return c
			}
			got[i], errs[i] = s.RotateRefreshToken(ctx, rt.Hash, now, next)
		})
	}
	close(start)
	wg.Wait()
	// One rotation wins; one more may pass as the single retry that
	// idp.RefreshRetryWindow allows (a lost response), never a third.
	winner, retries := -1, 0
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0 && retries == 0:
			retries++
		case err == nil && winner >= 0:
			t.Errorf("rotations %d and %d and a retry all succeeded", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, idp.ErrReused):
			t.Errorf("rotation %d: got error %v, want ErrReused", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no rotation succeeded")
	}
	for _, h := range [][]byte{rt.Hash, got[winner].Hash} {
		tok, err := s.GetRefreshToken(t.Context(), h)
		checkErr(t, "GetRefreshToken", err, nil)
		if tok.RevokedAt.IsZero() {
			t.Errorf("token %s of the reused family is not revoked", tok.ID)
		}
	}
}

func testRevokeRefreshTokens(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	famA, famB := unique("fam"), unique("fam")
	a1 := mustCreateRefreshToken(t, s, "acc-1", famA)
	a2 := mustCreateRefreshToken(t, s, "acc-1", famA)
	b1 := mustCreateRefreshToken(t, s, "acc-1", famB)
	c1 := mustCreateRefreshToken(t, s, "acc-2", unique("fam"))

	check := func(t *testing.T, what string, rt idp.RefreshToken, revokedAt time.Time) {
		t.Helper()
		got, err := s.GetRefreshToken(ctx, rt.Hash)
		checkErr(t, "GetRefreshToken", err, nil)
		want := rt
		want.RevokedAt = revokedAt
		checkRefresh(t, what, got, want)
	}
	t1 := base.Add(time.Hour)
	checkErr(t, "RevokeRefreshFamily", s.RevokeRefreshFamily(ctx, famA, t1), nil)
	checkErr(t, "RevokeRefreshFamily unknown", s.RevokeRefreshFamily(ctx, "no-family", t1), nil)
	check(t, "a1", a1, t1)
	check(t, "a2", a2, t1)
	check(t, "b1", b1, time.Time{})
	check(t, "c1", c1, time.Time{})

	t2 := base.Add(2 * time.Hour)
	checkErr(t, "RevokeAccountRefreshTokens", s.RevokeAccountRefreshTokens(ctx, "acc-1", t2), nil)
	checkErr(t, "RevokeAccountRefreshTokens unknown", s.RevokeAccountRefreshTokens(ctx, "nobody", t2), nil)
	check(t, "a1 (kept its first revocation)", a1, t1)
	check(t, "b1", b1, t2)
	check(t, "c1", c1, time.Time{})
}

func testDeleteExpiredRefreshTokens(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	mk := func(expires time.Time) idp.RefreshToken {
		rt := newRefreshToken(t, "acc-1", unique("fam"))
		rt.ExpiresAt = expires
		checkErr(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, rt), nil)
		return rt
	}
	cut := base.Add(24 * time.Hour)
	gone := []idp.RefreshToken{mk(base), mk(cut.Add(-time.Microsecond))}
	kept := []idp.RefreshToken{mk(cut), mk(cut.Add(time.Hour))}
	n, err := s.DeleteExpiredRefreshTokens(ctx, cut)
	checkErr(t, "DeleteExpiredRefreshTokens", err, nil)
	if n != len(gone) {
		t.Errorf("DeleteExpiredRefreshTokens removed %d, want %d", n, len(gone))
	}
	for _, rt := range gone {
		_, err := s.GetRefreshToken(ctx, rt.Hash)
		checkErr(t, "GetRefreshToken expired", err, idp.ErrNotFound)
	}
	for _, rt := range kept {
		_, err := s.GetRefreshToken(ctx, rt.Hash)
		checkErr(t, "GetRefreshToken kept", err, nil)
	}
	n, err = s.DeleteExpiredRefreshTokens(ctx, cut)
	checkErr(t, "DeleteExpiredRefreshTokens again", err, nil)
	if n != 0 {
		t.Errorf("DeleteExpiredRefreshTokens again removed %d, want 0", n)
	}
}

func testEnqueueOutgoing(t *testing.T, s Store, o Options) {
	ctx := t.Context()
	checkErr(t, "EnqueueOutgoing nothing", s.EnqueueOutgoing(ctx), nil)
	checkJobs(t, s, o)
	if err := s.EnqueueOutgoing(ctx, newMail(t), idp.Outgoing{Kind: "sms", Sealed: []byte("x")}); err == nil {
		t.Fatal("EnqueueOutgoing with an unknown kind: no error")
	}
	checkJobs(t, s, o)
	m1, m2 := newMail(t), newMail(t)
	checkErr(t, "EnqueueOutgoing", s.EnqueueOutgoing(ctx, m1, m2), nil)
	checkJobs(t, s, o, m1, m2)
}

func testAudit(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	events := []idp.AuditEvent{
		{At: base, Actor: "system", Action: "client.created", Subject: "client-a", Detail: "redirect_uris"},
		{At: base.Add(time.Second), Actor: "acc-1", Action: "account.registered", Subject: "acc-1"},
		{At: base.Add(2 * time.Second), Actor: "acc-1", Action: "account.activated", Subject: "acc-1"},
		// Same instant as the previous one: insertion order breaks the tie.
		{At: base.Add(2 * time.Second), Actor: "acc-1", Action: "account.password_changed", Subject: "acc-1", Detail: "password"},
		{At: base.Add(3 * time.Second), Actor: "acc-2", Action: "account.registered", Subject: "acc-2"},
	}
	for _, e := range events {
		checkErr(t, "AppendAudit", s.AppendAudit(ctx, e), nil)
	}
	reversed := slices.Clone(events)
	slices.Reverse(reversed)
	tests := []struct {
		name    string
		subject string
		limit   int
		want    []idp.AuditEvent
	}{
		{"all", "", 100, reversed},
		{"all limited", "", 2, reversed[:2]},
		{"subject", "acc-1", 100, []idp.AuditEvent{events[3], events[2], events[1]}},
		{"subject limited", "acc-1", 1, []idp.AuditEvent{events[3]}},
		{"unknown subject", "nobody", 10, nil},
		{"zero limit", "", 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListAudit(ctx, tc.subject, tc.limit)
			checkErr(t, "ListAudit", err, nil)
			if len(got) != len(tc.want) {
				t.Fatalf("ListAudit: %d events, want %d", len(got), len(tc.want))
			}
			for i := range got {
				checkUTC(t, "audit event", got[i].At)
				if g, w := normAudit(got[i]), normAudit(tc.want[i]); g != w {
					t.Errorf("event %d:\n got %+v\nwant %+v", i, g, w)
				}
			}
		})
	}
}
