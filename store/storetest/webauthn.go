package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/mfa"
)

// runWebAuthn runs the conformance cases of mfa.WebAuthnStore.
func runWebAuthn(t *testing.T, open func(t *testing.T) Store, opts Options) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, s Store, o Options)
	}{
		{"AddListGet", testWebAuthnAddListGet},
		{"AddErrors", testWebAuthnAddErrors},
		{"Update", testWebAuthnUpdate},
		{"UpdateAborts", testWebAuthnUpdateAborts},
		{"UpdateConcurrent", testWebAuthnUpdateConcurrent},
		{"Delete", testWebAuthnDelete},
		{"DeleteAccount", testWebAuthnDeleteAccount},
	}
	for _, tc := range tests {
		t.Run("WebAuthn"+tc.name, func(t *testing.T) {
			t.Parallel() // every test has a store of its own
			tc.run(t, open(t), opts)
		})
	}
}

func newWebAuthnCredential(t *testing.T, accountID string) mfa.WebAuthnCredential {
	t.Helper()
	return mfa.WebAuthnCredential{
		ID:              randBytes(t, 32),
		AccountID:       accountID,
		Name:            "YubiKey 5 NFC – Büro",
		PublicKey:       randBytes(t, 77),
		AttestationType: "none",
		AAGUID:          randBytes(t, 16),
		SignCount:       7,
		Transports:      []string{"nfc", "usb"},
		UserVerified:    true,
		BackupEligible:  true,
		BackupState:     false,
		CreatedAt:       base,
	}
}

func normWebAuthn(c mfa.WebAuthnCredential) mfa.WebAuthnCredential {
	c.ID = normBytes(c.ID)
	c.PublicKey = normBytes(c.PublicKey)
	c.AAGUID = normBytes(c.AAGUID)
	c.Transports = normStrings(c.Transports)
	c.CreatedAt = normTime(c.CreatedAt)
	c.LastUsedAt = normTime(c.LastUsedAt)
	return c
}

func checkWebAuthn(t *testing.T, what string, got, want mfa.WebAuthnCredential) {
	t.Helper()
	checkUTC(t, what, got.CreatedAt, got.LastUsedAt)
	if g, w := normWebAuthn(got), normWebAuthn(want); !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

func mustAddWebAuthn(t *testing.T, s Store, c mfa.WebAuthnCredential) mfa.WebAuthnCredential {
	t.Helper()
	if err := s.AddWebAuthnCredential(t.Context(), c); err != nil {
		t.Fatalf("AddWebAuthnCredential: %v", err)
	}
	return c
}

func testWebAuthnAddListGet(t *testing.T, s Store, o Options) {
	ctx := t.Context()
	a, _ := mustCreateAccount(t, s)
	other, _ := mustCreateAccount(t, s)

	list, err := s.ListWebAuthnCredentials(ctx, a.ID)
	checkErr(t, "ListWebAuthnCredentials (none)", err, nil)
	if len(list) != 0 {
		t.Fatalf("a new account has %d credentials", len(list))
	}

	// Added out of order: the list is ordered by creation time, and by
	// insertion for equal times.
	second := newWebAuthnCredential(t, a.ID)
	second.CreatedAt = base.Add(time.Hour)
	second.LastUsedAt = base.Add(2 * time.Hour)
	second.Transports = nil
	second.AAGUID = make([]byte, 16)
	m := newMail(t)
	checkErr(t, "AddWebAuthnCredential", s.AddWebAuthnCredential(ctx, second, m), nil)
	checkJobs(t, s, o, m)
	first := mustAddWebAuthn(t, s, newWebAuthnCredential(t, a.ID))
	firstTwin := newWebAuthnCredential(t, a.ID) // same CreatedAt as first, added later
	firstTwin.SignCount = 1<<32 - 1             // the largest counter fits
	firstTwin.CloneWarning = true
	mustAddWebAuthn(t, s, firstTwin)
	theirs := mustAddWebAuthn(t, s, newWebAuthnCredential(t, other.ID))

	list, err = s.ListWebAuthnCredentials(ctx, a.ID)
	checkErr(t, "ListWebAuthnCredentials", err, nil)
	want := []mfa.WebAuthnCredential{first, firstTwin, second}
	if len(list) != len(want) {
		t.Fatalf("ListWebAuthnCredentials: %d credentials, want %d", len(list), len(want))
	}
	for i := range want {
		checkWebAuthn(t, fmt.Sprintf("ListWebAuthnCredentials #%d", i), list[i], want[i])
	}

	got, err := s.GetWebAuthnCredential(ctx, second.ID)
	checkErr(t, "GetWebAuthnCredential", err, nil)
	checkWebAuthn(t, "GetWebAuthnCredential", got, second)
	got, err = s.GetWebAuthnCredential(ctx, theirs.ID)
	checkErr(t, "GetWebAuthnCredential (other account)", err, nil)
	checkWebAuthn(t, "GetWebAuthnCredential (other account)", got, theirs)

	_, err = s.GetWebAuthnCredential(ctx, randBytes(t, 32))
	checkErr(t, "GetWebAuthnCredential (unknown)", err, idp.ErrNotFound)
	list, err = s.ListWebAuthnCredentials(ctx, "nobody")
	checkErr(t, "ListWebAuthnCredentials (unknown account)", err, nil)
	if len(list) != 0 {
		t.Errorf("an unknown account has %d credentials", len(list))
	}
}

func testWebAuthnAddErrors(t *testing.T, s Store, o Options) {
	ctx := t.Context()
	a, _ := mustCreateAccount(t, s)
	other, _ := mustCreateAccount(t, s)
	c := mustAddWebAuthn(t, s, newWebAuthnCredential(t, a.ID))

	dup := newWebAuthnCredential(t, a.ID)
	dup.ID = c.ID
	dupOther := newWebAuthnCredential(t, other.ID)
	dupOther.ID = c.ID
	tests := []struct {
		name string
		c    mfa.WebAuthnCredential
		out  []idp.Outgoing
		want error // nil: any error
	}{
		{"duplicate ID", dup, []idp.Outgoing{newMail(t)}, idp.ErrConflict},
		{"duplicate ID of another account", dupOther, []idp.Outgoing{newMail(t)}, idp.ErrConflict},
		{"unknown account", newWebAuthnCredential(t, "nobody"), []idp.Outgoing{newMail(t)}, idp.ErrNotFound},
		{"unknown outgoing kind", newWebAuthnCredential(t, a.ID), []idp.Outgoing{newMail(t), {Kind: "pager"}}, nil},
		{"no ID", newWebAuthnCredential(t, a.ID), nil, nil},
	}
	tests[4].c.ID = nil
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.AddWebAuthnCredential(ctx, tc.c, tc.out...)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.want != nil {
				checkErr(t, "AddWebAuthnCredential", err, tc.want)
			}
			checkJobs(t, s, o)
		})
	}
	// Nothing of the failed adds was stored; the original is unchanged.
	list, err := s.ListWebAuthnCredentials(ctx, a.ID)
	checkErr(t, "ListWebAuthnCredentials", err, nil)
	if len(list) != 1 {
		t.Fatalf("after failed adds the account has %d credentials, want 1", len(list))
	}
	checkWebAuthn(t, "the original credential", list[0], c)
	list, err = s.ListWebAuthnCredentials(ctx, other.ID)
	checkErr(t, "ListWebAuthnCredentials (other)", err, nil)
	if len(list) != 0 {
		t.Fatalf("the other account got %d credentials", len(list))
	}
}

func testWebAuthnUpdate(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	a, _ := mustCreateAccount(t, s)
	c := mustAddWebAuthn(t, s, newWebAuthnCredential(t, a.ID))
	var seen mfa.WebAuthnCredential
	want := c
	want.Name = "Laptop"
	want.SignCount = 8
	want.LastUsedAt = base.Add(time.Minute)
	want.BackupState = true
	want.CloneWarning = true
	want.Transports = []string{"internal", "hybrid"}
	got, err := s.UpdateWebAuthnCredential(ctx, c.ID, func(old mfa.WebAuthnCredential) (mfa.WebAuthnCredential, error) {
		seen = old
		return want, nil
	})
	checkErr(t, "UpdateWebAuthnCredential", err, nil)
	checkWebAuthn(t, "fn's argument", seen, c)
	checkWebAuthn(t, "UpdateWebAuthnCredential result", got, want)
	stored, err := s.GetWebAuthnCredential(ctx, c.ID)
	checkErr(t, "GetWebAuthnCredential", err, nil)
	checkWebAuthn(t, "stored after update", stored, want)
}

func testWebAuthnUpdateAborts(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	a, _ := mustCreateAccount(t, s)
	other, _ := mustCreateAccount(t, s)
	c := mustAddWebAuthn(t, s, newWebAuthnCredential(t, a.ID))
	errFn := errors.New("refused by fn")
	tests := []struct {
		name string
		id   []byte
		fn   func(old mfa.WebAuthnCredential) (mfa.WebAuthnCredential, error)
		want error
	}{
		{"fn error", c.ID, func(old mfa.WebAuthnCredential) (mfa.WebAuthnCredential, error) {
			old.Name = "changed"
			return old, errFn
		}, errFn},
		{"ID changed", c.ID, func(old mfa.WebAuthnCredential) (mfa.WebAuthnCredential, error) {
			old.ID = randBytes(t, 32)
			return old, nil
		}, nil},
		{"account changed", c.ID, func(old mfa.WebAuthnCredential) (mfa.WebAuthnCredential, error) {
			old.AccountID = other.ID
			return old, nil
		}, nil},
		{"public key changed", c.ID, func(old mfa.WebAuthnCredential) (mfa.WebAuthnCredential, error) {
			old.PublicKey = randBytes(t, 77)
			return old, nil
		}, nil},
		{"unknown credential", randBytes(t, 32), func(old mfa.WebAuthnCredential) (mfa.WebAuthnCredential, error) {
			t.Error("fn called for an unknown credential")
			return old, nil
		}, idp.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.UpdateWebAuthnCredential(ctx, tc.id, tc.fn)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.want != nil {
				checkErr(t, "UpdateWebAuthnCredential", err, tc.want)
			}
			got, err := s.GetWebAuthnCredential(ctx, c.ID)
			checkErr(t, "GetWebAuthnCredential", err, nil)
			checkWebAuthn(t, "after the aborted update", got, c)
		})
	}
}

// testWebAuthnUpdateConcurrent checks that updates are serialised: n
// concurrent increments of the signature counter all count.
func testWebAuthnUpdateConcurrent(t *testing.T, s Store, _ Options) {
	ctx := guard(t)
	a, _ := mustCreateAccount(t, s)
	c := newWebAuthnCredential(t, a.ID)
	c.SignCount = 0
	mustAddWebAuthn(t, s, c)
	const n = 10
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = s.UpdateWebAuthnCredential(ctx, c.ID, func(old mfa.WebAuthnCredential) (mfa.WebAuthnCredential, error) {
				old.SignCount++
				return old, nil
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
	got, err := s.GetWebAuthnCredential(t.Context(), c.ID)
	checkErr(t, "GetWebAuthnCredential", err, nil)
	if got.SignCount != n {
		t.Errorf("after %d concurrent increments the counter is %d: updates were lost", n, got.SignCount)
	}
}

func testWebAuthnDelete(t *testing.T, s Store, o Options) {
	ctx := t.Context()
	a, _ := mustCreateAccount(t, s)
	other, _ := mustCreateAccount(t, s)
	mine := mustAddWebAuthn(t, s, newWebAuthnCredential(t, a.ID))
	keep := mustAddWebAuthn(t, s, newWebAuthnCredential(t, a.ID))
	theirs := mustAddWebAuthn(t, s, newWebAuthnCredential(t, other.ID))

	// Another account's credential is "not found", and nothing is enqueued.
	err := s.DeleteWebAuthnCredential(ctx, a.ID, theirs.ID, newMail(t))
	checkErr(t, "DeleteWebAuthnCredential (another account's)", err, idp.ErrNotFound)
	checkJobs(t, s, o)
	_, err = s.GetWebAuthnCredential(ctx, theirs.ID)
	checkErr(t, "GetWebAuthnCredential (other, still there)", err, nil)

	// A failing enqueue keeps the credential.
	if err := s.DeleteWebAuthnCredential(ctx, a.ID, mine.ID, idp.Outgoing{Kind: "pager"}); err == nil {
		t.Fatal("DeleteWebAuthnCredential with an unknown outgoing kind: no error")
	}
	_, err = s.GetWebAuthnCredential(ctx, mine.ID)
	checkErr(t, "GetWebAuthnCredential after the failed delete", err, nil)

	m := newMail(t)
	checkErr(t, "DeleteWebAuthnCredential", s.DeleteWebAuthnCredential(ctx, a.ID, mine.ID, m), nil)
	checkJobs(t, s, o, m)
	_, err = s.GetWebAuthnCredential(ctx, mine.ID)
	checkErr(t, "GetWebAuthnCredential (deleted)", err, idp.ErrNotFound)
	err = s.DeleteWebAuthnCredential(ctx, a.ID, mine.ID, newMail(t))
	checkErr(t, "DeleteWebAuthnCredential again", err, idp.ErrNotFound)
	checkJobs(t, s, o, m)

	list, err := s.ListWebAuthnCredentials(ctx, a.ID)
	checkErr(t, "ListWebAuthnCredentials", err, nil)
	if len(list) != 1 {
		t.Fatalf("after deleting one of two credentials, %d are left", len(list))
	}
	checkWebAuthn(t, "the remaining credential", list[0], keep)

	// The ID is free again (a re-registration of the same key).
	again := newWebAuthnCredential(t, a.ID)
	again.ID = mine.ID
	checkErr(t, "AddWebAuthnCredential with the freed ID", s.AddWebAuthnCredential(ctx, again), nil)
}

func testWebAuthnDeleteAccount(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	a, _ := mustCreateAccount(t, s)
	other, _ := mustCreateAccount(t, s)
	c1 := mustAddWebAuthn(t, s, newWebAuthnCredential(t, a.ID))
	c2 := mustAddWebAuthn(t, s, newWebAuthnCredential(t, a.ID))
	theirs := mustAddWebAuthn(t, s, newWebAuthnCredential(t, other.ID))

	checkErr(t, "DeleteAccount", s.DeleteAccount(ctx, a.ID), nil)
	for _, c := range []mfa.WebAuthnCredential{c1, c2} {
		_, err := s.GetWebAuthnCredential(ctx, c.ID)
		checkErr(t, "GetWebAuthnCredential of the deleted account", err, idp.ErrNotFound)
	}
	list, err := s.ListWebAuthnCredentials(ctx, a.ID)
	checkErr(t, "ListWebAuthnCredentials of the deleted account", err, nil)
	if len(list) != 0 {
		t.Errorf("the deleted account still has %d credentials", len(list))
	}
	got, err := s.GetWebAuthnCredential(ctx, theirs.ID)
	checkErr(t, "GetWebAuthnCredential (other account)", err, nil)
	checkWebAuthn(t, "the other account's credential", got, theirs)
}
