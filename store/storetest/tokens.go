package storetest

// Conformance tests of single-use action tokens (activation, reset, …).

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kanton/kundencenter/idp"
)

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
