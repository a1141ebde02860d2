package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/mfa"
)

// mfaTests are the MFAStore cases, run by Run.
var mfaTests = []struct {
	name string
	run  func(t *testing.T, s Store, o Options)
}{
	{"MFASettings", testMFASettings},
	{"MFASettingsAbort", testMFASettingsAbort},
	{"MFASettingsConcurrent", testMFASettingsConcurrent},
	{"RecoveryCodes", testRecoveryCodes},
	{"RecoveryCodeConcurrent", testRecoveryCodeConcurrent},
	{"ReplaceRecoveryCodesConcurrent", testReplaceRecoveryCodesConcurrent},
	{"MFADeletedWithAccount", testMFADeletedWithAccount},
}

func checkMFA(t *testing.T, what string, got, want mfa.Settings) {
	t.Helper()
	if got.AccountID != want.AccountID || !bytes.Equal(got.PhoneSealed, want.PhoneSealed) || got.Required != want.Required ||
		!got.PhoneVerifiedAt.Equal(want.PhoneVerifiedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Fatalf("%s: %+v, want %+v", what, got, want)
	}
	checkUTC(t, what, got.PhoneVerifiedAt, got.UpdatedAt)
}

func testMFASettings(t *testing.T, s Store, o Options) {
	ctx := t.Context()
	a, _ := mustCreateAccount(t, s)
	got, err := s.GetMFA(ctx, a.ID)
	checkErr(t, "GetMFA before any", err, nil)
	checkMFA(t, "settings before any", got, mfa.Settings{AccountID: a.ID})
	_, err = s.GetMFA(ctx, "nobody")
	checkErr(t, "GetMFA unknown account", err, idp.ErrNotFound)
	_, err = s.UpdateMFA(ctx, "nobody", func(m mfa.Settings) (mfa.Settings, []idp.Outgoing, error) {
		t.Error("fn called for an unknown account")
		return m, nil, nil
	})
	checkErr(t, "UpdateMFA unknown account", err, idp.ErrNotFound)

	mail := newMail(t)
	want := mfa.Settings{AccountID: a.ID, PhoneSealed: randBytes(t, 40), PhoneVerifiedAt: base, Required: true, UpdatedAt: base}
	stored, err := s.UpdateMFA(ctx, a.ID, func(m mfa.Settings) (mfa.Settings, []idp.Outgoing, error) {
		checkMFA(t, "fn sees", m, mfa.Settings{AccountID: a.ID})
		return want, []idp.Outgoing{mail}, nil
	})
	checkErr(t, "UpdateMFA", err, nil)
	checkMFA(t, "returned settings", stored, want)
	got, err = s.GetMFA(ctx, a.ID)
	checkErr(t, "GetMFA", err, nil)
	checkMFA(t, "settings read back", got, want)
	checkJobs(t, s, o, mail)

	// Removing the number stores an empty one; the update sees the stored settings.
	later := base.Add(time.Hour)
	removed := mfa.Settings{AccountID: a.ID, UpdatedAt: later}
	_, err = s.UpdateMFA(ctx, a.ID, func(m mfa.Settings) (mfa.Settings, []idp.Outgoing, error) {
		checkMFA(t, "fn sees stored", m, want)
		return removed, nil, nil
	})
	checkErr(t, "UpdateMFA remove number", err, nil)
	got, err = s.GetMFA(ctx, a.ID)
	checkErr(t, "GetMFA after removal", err, nil)
	checkMFA(t, "settings after removal", got, removed)
}

func testMFASettingsAbort(t *testing.T, s Store, o Options) {
	ctx := t.Context()
	a, _ := mustCreateAccount(t, s)
	errFn := errors.New("fn says no")
	cases := []struct {
		name string
		fn   func(m mfa.Settings) (mfa.Settings, []idp.Outgoing, error)
		want error
	}{
		{"fn error", func(m mfa.Settings) (mfa.Settings, []idp.Outgoing, error) {
			m.Required = true
			return m, []idp.Outgoing{newMail(t)}, errFn
		}, errFn},
		{"account changed", func(m mfa.Settings) (mfa.Settings, []idp.Outgoing, error) {
			m.AccountID, m.Required = "other", true
			return m, []idp.Outgoing{newMail(t)}, nil
		}, nil},
		{"unknown outgoing kind", func(m mfa.Settings) (mfa.Settings, []idp.Outgoing, error) {
			m.Required = true
			return m, []idp.Outgoing{newMail(t), {Kind: "fax"}}, nil
		}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.UpdateMFA(ctx, a.ID, tc.fn)
			if err == nil {
				t.Fatal("UpdateMFA: no error")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("UpdateMFA: got %v, want %v", err, tc.want)
			}
			got, err := s.GetMFA(ctx, a.ID)
			checkErr(t, "GetMFA", err, nil)
			checkMFA(t, "settings after abort", got, mfa.Settings{AccountID: a.ID})
			checkJobs(t, s, o)
		})
	}
}

// testMFASettingsConcurrent checks that concurrent read-modify-write
// updates serialise, also before the first settings row exists.
func testMFASettingsConcurrent(t *testing.T, s Store, _ Options) {
	ctx := guard(t)
	a, _ := mustCreateAccount(t, s)
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.UpdateMFA(ctx, a.ID, func(m mfa.Settings) (mfa.Settings, []idp.Outgoing, error) {
				m.PhoneSealed = append(m.PhoneSealed, 'x') // a counter in disguise
				return m, nil, nil
			})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		checkErr(t, "concurrent UpdateMFA", err, nil)
	}
	got, err := s.GetMFA(ctx, a.ID)
	checkErr(t, "GetMFA", err, nil)
	if len(got.PhoneSealed) != n {
		t.Fatalf("after %d concurrent updates the value has %d marks: updates were lost", n, len(got.PhoneSealed))
	}
}

func newRecoveryCodes(accountID string, ids ...string) []mfa.RecoveryCode {
	var out []mfa.RecoveryCode
	for _, id := range ids {
		out = append(out, mfa.RecoveryCode{AccountID: accountID, ID: id, Hash: "$argon2id$v=19$m=19456,t=2,p=1$" + id, CreatedAt: base})
	}
	return out
}

func testRecoveryCodes(t *testing.T, s Store, o Options) {
	ctx := t.Context()
	a, _ := mustCreateAccount(t, s)
	other, _ := mustCreateAccount(t, s)
	codes, err := s.ListRecoveryCodes(ctx, a.ID)
	checkErr(t, "ListRecoveryCodes before any", err, nil)
	if len(codes) != 0 {
		t.Fatalf("codes before any: %v", codes)
	}
	first := newMail(t)
	checkErr(t, "ReplaceRecoveryCodes", s.ReplaceRecoveryCodes(ctx, a.ID, newRecoveryCodes(a.ID, "B2", "A1", "C3"), first), nil)
	checkErr(t, "ReplaceRecoveryCodes other", s.ReplaceRecoveryCodes(ctx, other.ID, newRecoveryCodes(other.ID, "A1")), nil)
	codes, err = s.ListRecoveryCodes(ctx, a.ID)
	checkErr(t, "ListRecoveryCodes", err, nil)
	if len(codes) != 3 || codes[0].ID != "A1" || codes[1].ID != "B2" || codes[2].ID != "C3" {
		t.Fatalf("codes: %+v, want A1, B2, C3", codes)
	}
	if codes[0].Hash != "$argon2id$v=19$m=19456,t=2,p=1$A1" || !codes[0].CreatedAt.Equal(base) || !codes[0].UsedAt.IsZero() {
		t.Fatalf("code A1 read back as %+v", codes[0])
	}
	checkUTC(t, "code", codes[0].CreatedAt)

	used := newMail(t)
	at := base.Add(time.Minute)
	checkErr(t, "UseRecoveryCode", s.UseRecoveryCode(ctx, a.ID, "B2", at, used), nil)
	checkErr(t, "UseRecoveryCode again", s.UseRecoveryCode(ctx, a.ID, "B2", at, newMail(t)), idp.ErrReused)
	checkErr(t, "UseRecoveryCode unknown", s.UseRecoveryCode(ctx, a.ID, "Z9", at, newMail(t)), idp.ErrNotFound)
	checkErr(t, "UseRecoveryCode of another account's ID", s.UseRecoveryCode(ctx, other.ID, "B2", at), idp.ErrNotFound)
	codes, _ = s.ListRecoveryCodes(ctx, a.ID)
	if !codes[1].UsedAt.Equal(at) || !codes[0].UsedAt.IsZero() {
		t.Fatalf("after use: %+v", codes)
	}
	checkJobs(t, s, o, first, used)

	// The other account's code with the same ID is untouched.
	oc, _ := s.ListRecoveryCodes(ctx, other.ID)
	if len(oc) != 1 || !oc[0].UsedAt.IsZero() {
		t.Fatalf("other account's codes: %+v", oc)
	}
	// Replacing discards every old code, used or not.
	checkErr(t, "ReplaceRecoveryCodes again", s.ReplaceRecoveryCodes(ctx, a.ID, newRecoveryCodes(a.ID, "D4")), nil)
	codes, _ = s.ListRecoveryCodes(ctx, a.ID)
	if len(codes) != 1 || codes[0].ID != "D4" {
		t.Fatalf("after replacing: %+v", codes)
	}
	// A code for another account is refused and nothing changes.
	if err := s.ReplaceRecoveryCodes(ctx, a.ID, newRecoveryCodes(other.ID, "E5")); err == nil {
		t.Fatal("ReplaceRecoveryCodes accepted a code of another account")
	}
	codes, _ = s.ListRecoveryCodes(ctx, a.ID)
	if len(codes) != 1 || codes[0].ID != "D4" {
		t.Fatalf("after a refused replacement: %+v", codes)
	}
}

// testRecoveryCodeConcurrent checks that a code works exactly once under
// concurrent use.
func testRecoveryCodeConcurrent(t *testing.T, s Store, _ Options) {
	ctx := guard(t)
	a, _ := mustCreateAccount(t, s)
	checkErr(t, "ReplaceRecoveryCodes", s.ReplaceRecoveryCodes(ctx, a.ID, newRecoveryCodes(a.ID, "A1")), nil)
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.UseRecoveryCode(ctx, a.ID, "A1", base)
		}()
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, idp.ErrReused):
			t.Errorf("concurrent UseRecoveryCode: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d of %d concurrent uses succeeded, want exactly 1", ok, n)
	}
}

// testReplaceRecoveryCodesConcurrent checks that concurrent replacements
// (a double submit of "new codes") serialise: exactly one call's ten codes
// remain, never a mix or the union of several.
func testReplaceRecoveryCodesConcurrent(t *testing.T, s Store, _ Options) {
	ctx := guard(t)
	a, _ := mustCreateAccount(t, s)
	checkErr(t, "ReplaceRecoveryCodes", s.ReplaceRecoveryCodes(ctx, a.ID, newRecoveryCodes(a.ID, "old")), nil)
	const n, per = 8, 10
	for round := range 5 {
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			ids := make([]string, per)
			for j := range ids {
				ids[j] = fmt.Sprintf("r%d-c%d-%02d", round, i, j)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- s.ReplaceRecoveryCodes(ctx, a.ID, newRecoveryCodes(a.ID, ids...))
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			checkErr(t, "concurrent ReplaceRecoveryCodes", err, nil)
		}
		codes, err := s.ListRecoveryCodes(ctx, a.ID)
		checkErr(t, "ListRecoveryCodes", err, nil)
		if len(codes) != per {
			t.Fatalf("round %d: %d codes after %d concurrent replacements, want %d", round, len(codes), n, per)
		}
		call := strings.SplitN(codes[0].ID, "-", 3)[:2]
		for _, c := range codes {
			if got := strings.SplitN(c.ID, "-", 3)[:2]; got[0] != call[0] || got[1] != call[1] {
				t.Fatalf("round %d: codes from several calls remain: %s and %s", round, codes[0].ID, c.ID)
			}
		}
	}
}

func testMFADeletedWithAccount(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	a, _ := mustCreateAccount(t, s)
	_, err := s.UpdateMFA(ctx, a.ID, func(m mfa.Settings) (mfa.Settings, []idp.Outgoing, error) {
		m.PhoneSealed, m.Required = randBytes(t, 40), true
		return m, nil, nil
	})
	checkErr(t, "UpdateMFA", err, nil)
	checkErr(t, "ReplaceRecoveryCodes", s.ReplaceRecoveryCodes(ctx, a.ID, newRecoveryCodes(a.ID, "A1")), nil)
	checkErr(t, "DeleteAccount", s.DeleteAccount(ctx, a.ID), nil)
	_, err = s.GetMFA(ctx, a.ID)
	checkErr(t, "GetMFA after deletion", err, idp.ErrNotFound)
	codes, err := s.ListRecoveryCodes(ctx, a.ID)
	checkErr(t, "ListRecoveryCodes after deletion", err, nil)
	if len(codes) != 0 {
		t.Fatalf("recovery codes survived the account: %+v", codes)
	}
	// A new account may not inherit them either: recreate with the same ID.
	b := newAccount(t)
	b.ID = a.ID
	checkErr(t, "CreateAccount with the old ID", s.CreateAccount(ctx, b, idp.ActionToken{}), nil)
	m, err := s.GetMFA(ctx, b.ID)
	checkErr(t, "GetMFA of the new account", err, nil)
	checkMFA(t, "new account's settings", m, mfa.Settings{AccountID: b.ID})
}
