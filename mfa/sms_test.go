package mfa_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/mfa"
	"github.com/kanton/kundencenter/mfa/twilio/twiliotest"
	"github.com/kanton/kundencenter/notify"
	"github.com/kanton/kundencenter/store/memory"
)

const (
	alice      = "acct-alice"
	bob        = "acct-bob"
	alicePhone = "079 123 45 67"
	aliceE164  = "+41791234567"
)

func loginReq() mfa.StartRequest {
	return mfa.StartRequest{AccountID: alice, Phone: alicePhone, IP: "192.0.2.10", Purpose: mfa.PurposeLogin}
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
}

// TestLifecycle is the otp-lifecycle row of the security anchors, on the
// in-process store and on Redis.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		run  func(t *testing.T, e *env)
	}{
		{"enrol send and verify", func(t *testing.T, e *env) {
			req := mfa.StartRequest{AccountID: alice, Phone: "+41 (0)79 123 45 67", IP: "192.0.2.1",
				Purpose: mfa.PurposeEnrol, Locale: "de-CH"}
			ch, code := e.start(t, req)
			if ch.MaskedPhone != "+41 79 *** ** 67" {
				t.Errorf("MaskedPhone = %q", ch.MaskedPhone)
			}
			if want := e.clock.Now().Add(5 * time.Minute); !ch.ExpiresAt.Equal(want) {
				t.Errorf("ExpiresAt = %v, want %v", ch.ExpiresAt, want)
			}
			if len(ch.ID) < 22 {
				t.Errorf("challenge ID %q is shorter than 128 bits", ch.ID)
			}
			msgs := e.tw.Messages()
			if len(msgs) != 1 || msgs[0].To != aliceE164 || msgs[0].From != "Kanton" || msgs[0].ValidityPeriod != "300" {
				t.Fatalf("messages = %+v", msgs)
			}
			if want := "Ihr Code für das Kundencenter: " + code + ". Gültig 5 Minuten. Geben Sie ihn nie weiter."; msgs[0].Body != want {
				t.Errorf("body = %q, want %q", msgs[0].Body, want)
			}
			v, err := e.svc.Verify(t.Context(), ch.ID, alice, mfa.PurposeEnrol, code[:3]+" "+code[3:])
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if v.ID != ch.ID || v.AccountID != alice || v.Purpose != mfa.PurposeEnrol ||
				v.Phone.E164 != aliceE164 || v.Phone.Region != "CH" || !v.VerifiedAt.Equal(e.clock.Now()) {
				t.Errorf("verified = %+v", v)
			}
			if left := e.store.live(t, ":c:"); len(left) != 0 {
				t.Errorf("challenge keys left after use: %v", left)
			}
		}},
		{"wrong codes across challenges lock the account", func(t *testing.T, e *env) {
			// New challenges do not reset the count: 10 wrong codes in 24 h
			// lock SMS codes for the account, even the right one.
			for round := range 3 {
				e.clock.Advance(time.Hour) // the account's sending budget (5 per hour)
				ch, code := e.start(t, loginReq())
				for range 4 {
					_, err := e.svc.Verify(t.Context(), ch.ID, alice, mfa.PurposeLogin, wrong(code))
					if err == nil {
						t.Fatalf("round %d: a wrong code was accepted", round)
					}
					if errors.Is(err, mfa.ErrAccountLocked) {
						if round != 2 {
							t.Fatalf("locked too early, in round %d", round)
						}
						_, err = e.svc.Verify(t.Context(), ch.ID, alice, mfa.PurposeLogin, code)
						wantErr(t, err, mfa.ErrAccountLocked)
						return
					}
				}
			}
			t.Fatal("12 wrong codes over three challenges did not lock the account")
		}},
		{"parallel guesses across challenges stay within the account's limit", func(t *testing.T, e *env) {
			var chs []mfa.Challenge
			var codes []string
			for range 4 {
				e.clock.Advance(31 * time.Second)
				ch, code := e.start(t, loginReq())
				chs, codes = append(chs, ch), append(codes, code)
			}
			results := parallel(20, func(i int) error {
				_, err := e.svc.Verify(context.Background(), chs[i%4].ID, alice, mfa.PurposeLogin, wrong(codes[i%4]))
				return err
			})
			compared := 0
			for _, err := range results {
				if errors.Is(err, mfa.ErrCodeWrong) || errors.Is(err, mfa.ErrLocked) {
					compared++
				}
			}
			if compared > 10 {
				t.Fatalf("%d of 20 parallel guesses were compared, want at most the account's 10", compared)
			}
		}},
		{"wrong code five times locks", func(t *testing.T, e *env) {
			ch, code := e.start(t, loginReq())
			for i := 1; i <= 4; i++ {
				_, err := e.svc.Verify(t.Context(), ch.ID, alice, mfa.PurposeLogin, wrong(code))
				var we *mfa.WrongCodeError
				if !errors.As(err, &we) || !errors.Is(err, mfa.ErrCodeWrong) || we.Left != 5-i {
					t.Fatalf("attempt %d: err = %v, want ErrCodeWrong with %d left", i, err, 5-i)
				}
			}
			_, err := e.svc.Verify(t.Context(), ch.ID, alice, mfa.PurposeLogin, wrong(code))
			wantErr(t, err, mfa.ErrLocked)
			_, err = e.svc.Verify(t.Context(), ch.ID, alice, mfa.PurposeLogin, code)
			wantErr(t, err, mfa.ErrCodeExpired)
			_, err = e.svc.Resend(t.Context(), ch.ID, "192.0.2.10")
			wantErr(t, err, mfa.ErrCodeExpired)
		}},
		{"resend does not reset the failure count", func(t *testing.T, e *env) {
			ch, code := e.start(t, loginReq())
			for range 3 {
				_, err := e.svc.Verify(t.Context(), ch.ID, alice, mfa.PurposeLogin, wrong(code))
				wantErr(t, err, mfa.ErrCodeWrong)
			}
			e.clock.Advance(31 * time.Second)
			ch2, err := e.svc.Resend(t.Context(), ch.ID, "192.0.2.10")
			if err != nil {
				t.Fatalf("Resend: %v", err)
			}
			if ch2.ID != ch.ID || !ch2.ExpiresAt.Equal(e.clock.Now().Add(5*time.Minute)) {
				t.Errorf("resent challenge = %+v", ch2)
			}
			if n := e.tw.Count(); n != 2 {
				t.Fatalf("%d SMS sent, want 2", n)
			}
			code2 := e.code(t, alicePhone)
			_, err = e.svc.Verify(t.Context(), ch.ID, alice, mfa.PurposeLogin, wrong(code2))
			var we *mfa.WrongCodeError
			if !errors.As(err, &we) || we.Left != 1 {
				t.Fatalf("4th attempt: err = %v, want ErrCodeWrong with 1 left", err)
			}
			_, err = e.svc.Verify(t.Context(), ch.ID, alice, mfa.PurposeLogin, wrong(code2))
			wantErr(t, err, mfa.ErrLocked)
			_, err = e.svc.Verify(t.Context(), ch.ID, alice, mfa.PurposeLogin, wrong(code2))
			wantErr(t, err, mfa.ErrCodeExpired)
			_, err = e.svc.Verify(t.Context(), ch.ID, alice, mfa.PurposeLogin, code2)
			wantErr(t, err, mfa.ErrCodeExpired)
		}},
		{"resend replaces the code", func(t *testing.T, e *env) {
			ch, code := e.start(t, loginReq())
			_, err := e.svc.Resend(t.Context(), ch.ID, "192.0.2.10")
			wantErr(t, err, mfa.ErrResendTooSoon)
			if n := e.tw.Count(); n != 1 {
				t.Fatalf("%d SMS sent after an early resend, want 1", n)
			}
			e.clock.Advance(30 * time.Second)
			if _, err := e.svc.Resend(t.Context(), ch.ID, "192.0.2.10"); err != nil {
				t.Fatalf("Resend: %v", err)
			}
			code2 := e.code(t, alicePhone)
			if code2 != code {
				_, err = e.svc.Verify(t.Context(), ch.ID, alice, mfa.PurposeLogin, code)
				wantErr(t, err, mfa.ErrCodeWrong)
			}
			if _, err := e.svc.Verify(t.Context(), ch.ID, alice, mfa.PurposeLogin, code2); err != nil {
				t.Fatalf("Verify with the resent code: %v", err)
			}
		}},
		{"reuse refused", func(t *testing.T, e *env) {
			ch, code := e.start(t, loginReq())
			if _, err := e.svc.Verify(t.Context(), ch.ID, alice, mfa.PurposeLogin, code); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			_, err := e.svc.Verify(t.Context(), ch.ID, alice, mfa.PurposeLogin, code)
			wantErr(t, err, mfa.ErrCodeExpired)
			_, err = e.svc.Resend(t.Context(), ch.ID, "192.0.2.10")
			wantErr(t, err, mfa.ErrCodeExpired)
		}},
		{"valid until the lifetime ends", func(t *testing.T, e *env) {
			ch, code := e.start(t, loginReq())
			e.clock.Advance(5*time.Minute - time.Second)
			if _, err := e.svc.Verify(t.Context(), ch.ID, alice, mfa.PurposeLogin, code); err != nil {
				t.Fatalf("Verify 1 s before expiry: %v", err)
			}
		}},
		{"expired at lifetime plus one second", func(t *testing.T, e *env) {
			ch, code := e.start(t, loginReq())
			e.clock.Advance(5*time.Minute + time.Second)
			_, err := e.svc.Verify(t.Context(), ch.ID, alice, mfa.PurposeLogin, code)
			wantErr(t, err, mfa.ErrCodeExpired)
			_, err = e.svc.Resend(t.Context(), ch.ID, "192.0.2.10")
			wantErr(t, err, mfa.ErrCodeExpired)
		}},
		{"resends cannot stretch a challenge beyond three lifetimes", func(t *testing.T, e *env) {
			ch, code := e.start(t, loginReq())
			for i := range 3 { // at 4, 8 and 12 minutes, each while the last code is valid
				e.clock.Advance(4 * time.Minute)
				if _, err := e.svc.Resend(t.Context(), ch.ID, "192.0.2.10"); err != nil {
					t.Fatalf("resend %d: %v", i+1, err)
				}
				code = e.code(t, alicePhone)
			}
			// 12 min after the start: the third code lives until 15 min.
			e.clock.Advance(3*time.Minute + time.Second)
			_, err := e.svc.Verify(t.Context(), ch.ID, alice, mfa.PurposeLogin, code)
			wantErr(t, err, mfa.ErrCodeExpired)
		}},
		{"code of challenge A refused in challenge B", func(t *testing.T, e *env) {
			a, codeA := e.start(t, loginReq())
			e.clock.Advance(time.Second)
			b, codeB := e.start(t, loginReq())
			for codeB == codeA { // one chance in a million
				b, codeB = e.start(t, loginReq())
			}
			_, err := e.svc.Verify(t.Context(), b.ID, alice, mfa.PurposeLogin, codeA)
			wantErr(t, err, mfa.ErrCodeWrong)
			if _, err := e.svc.Verify(t.Context(), a.ID, alice, mfa.PurposeLogin, codeA); err != nil {
				t.Fatalf("Verify A: %v", err)
			}
			if _, err := e.svc.Verify(t.Context(), b.ID, alice, mfa.PurposeLogin, codeB); err != nil {
				t.Fatalf("Verify B: %v", err)
			}
		}},
		{"other account or purpose refused", func(t *testing.T, e *env) {
			ch, code := e.start(t, loginReq())
			_, err := e.svc.Verify(t.Context(), ch.ID, bob, mfa.PurposeLogin, code)
			wantErr(t, err, mfa.ErrCodeExpired)
			_, err = e.svc.Verify(t.Context(), ch.ID, alice, mfa.PurposePhoneChange, code)
			wantErr(t, err, mfa.ErrCodeExpired)
			_, err = e.svc.Verify(t.Context(), "unknown-challenge-id", alice, mfa.PurposeLogin, code)
			wantErr(t, err, mfa.ErrCodeExpired)
			if _, err := e.svc.Verify(t.Context(), ch.ID, alice, mfa.PurposeLogin, code); err != nil {
				t.Fatalf("Verify by the owner: %v", err)
			}
		}},
		{"malformed code not counted", func(t *testing.T, e *env) {
			ch, code := e.start(t, loginReq())
			for _, c := range []string{"", "12345", "1234567", "abcdef", "١٢٣٤٥٦"} {
				_, err := e.svc.Verify(t.Context(), ch.ID, alice, mfa.PurposeLogin, c)
				wantErr(t, err, mfa.ErrCodeWrong)
			}
			for range 4 {
				_, err := e.svc.Verify(t.Context(), ch.ID, alice, mfa.PurposeLogin, wrong(code))
				wantErr(t, err, mfa.ErrCodeWrong)
			}
			if _, err := e.svc.Verify(t.Context(), ch.ID, alice, mfa.PurposeLogin, code); err != nil {
				t.Fatalf("Verify at the 5th counted attempt: %v", err)
			}
		}},
		{"parallel guesses get at most five tries", func(t *testing.T, e *env) {
			ch, code := e.start(t, loginReq())
			results := parallel(20, func(int) error {
				_, err := e.svc.Verify(context.Background(), ch.ID, alice, mfa.PurposeLogin, wrong(code))
				return err
			})
			var wrongs, locked int
			for _, err := range results {
				switch {
				case errors.Is(err, mfa.ErrCodeWrong):
					wrongs++
				case errors.Is(err, mfa.ErrLocked):
					locked++
				case errors.Is(err, mfa.ErrCodeExpired): // read after the lock deleted it
				case errors.Is(err, mfa.ErrAccountLocked): // the account's own limit (10) came first
				default:
					t.Errorf("unexpected result %v", err)
				}
			}
			if wrongs > 4 || locked < 1 {
				t.Errorf("%d wrong and %d locked of 20 parallel guesses, want ≤ 4 wrong and ≥ 1 locked", wrongs, locked)
			}
			_, err := e.svc.Verify(t.Context(), ch.ID, alice, mfa.PurposeLogin, code)
			if err == nil {
				t.Fatal("the right code worked after 20 wrong guesses")
			}
		}},
		{"parallel right codes succeed once", func(t *testing.T, e *env) {
			ch, code := e.start(t, loginReq())
			results := parallel(10, func(int) error {
				_, err := e.svc.Verify(context.Background(), ch.ID, alice, mfa.PurposeLogin, code)
				return err
			})
			ok := 0
			for _, err := range results {
				if err == nil {
					ok++
				}
			}
			if ok != 1 {
				t.Errorf("%d of 10 parallel verifications succeeded, want exactly 1 (%v)", ok, results)
			}
		}},
		{"failed send deletes the challenge", func(t *testing.T, e *env) {
			e.tw.FailTo(aliceE164, &twiliotest.InvalidNumber)
			_, err := e.svc.Start(t.Context(), loginReq())
			wantErr(t, err, mfa.ErrSend)
			wantErr(t, err, mfa.ErrRecipientRejected)
			if left := e.store.live(t, ":c:"); len(left) != 0 {
				t.Errorf("challenge kept after a failed send: %v", left)
			}
		}},
		{"failed resend deletes the challenge", func(t *testing.T, e *env) {
			ch, code := e.start(t, loginReq())
			e.clock.Advance(time.Minute)
			e.tw.FailAll(&twiliotest.TooManyRequests)
			_, err := e.svc.Resend(t.Context(), ch.ID, "192.0.2.10")
			wantErr(t, err, mfa.ErrSend)
			e.tw.FailAll(nil)
			_, err = e.svc.Verify(t.Context(), ch.ID, alice, mfa.PurposeLogin, code)
			wantErr(t, err, mfa.ErrCodeExpired)
		}},
		{"cancel", func(t *testing.T, e *env) {
			ch, code := e.start(t, loginReq())
			if err := e.svc.Cancel(t.Context(), ch.ID); err != nil {
				t.Fatalf("Cancel: %v", err)
			}
			_, err := e.svc.Verify(t.Context(), ch.ID, alice, mfa.PurposeLogin, code)
			wantErr(t, err, mfa.ErrCodeExpired)
		}},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					tt.run(t, newEnv(t, st.open, nil))
				})
			}
		})
	}
}

// parallel runs f n times at once and returns the results.
func parallel(n int, f func(i int) error) []error {
	out := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			out[i] = f(i)
		})
	}
	close(start)
	wg.Wait()
	return out
}

func TestStartRefusesBadRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, stores[0].open, nil)
	tests := []struct {
		name string
		req  mfa.StartRequest
		want error
	}{
		{"no account", mfa.StartRequest{Phone: alicePhone, Purpose: mfa.PurposeLogin}, mfa.ErrInvalidRequest},
		{"unknown purpose", mfa.StartRequest{AccountID: alice, Phone: alicePhone, Purpose: "reset"}, mfa.ErrInvalidRequest},
		{"landline", mfa.StartRequest{AccountID: alice, Phone: "044 123 45 67", Purpose: mfa.PurposeLogin}, mfa.ErrPhoneNotMobile},
		{"German number", mfa.StartRequest{AccountID: alice, Phone: "+49 151 23456789", Purpose: mfa.PurposeLogin}, mfa.ErrPhoneCountry},
		{"garbage", mfa.StartRequest{AccountID: alice, Phone: "call me", Purpose: mfa.PurposeLogin}, mfa.ErrPhoneInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.Start(t.Context(), tt.req)
			wantErr(t, err, tt.want)
		})
	}
	if n := e.tw.Requests(); n != 0 {
		t.Errorf("%d requests reached Twilio, want 0", n)
	}
}

// TestPumping is the sms-pumping row of the security anchors: 500 start
// requests per scenario never send more than the budget that applies, and
// nothing to numbers outside CH/LI mobile ranges.
func TestPumping(t *testing.T) {
	t.Parallel()
	// numbers cycles through CH and LI mobiles in many ranges, and numbers
	// that must never get an SMS.
	numbers := func(i int) string {
		switch i % 6 {
		case 0:
			return fmt.Sprintf("+4179%07d", i*7919%10_000_000)
		case 1:
			return fmt.Sprintf("+4176%07d", i*104729%10_000_000)
		case 2:
			return fmt.Sprintf("+423 66%05d", i*7919%100_000)
		case 3:
			return fmt.Sprintf("+44 7700 9%05d", i%100_000) // UK
		case 4:
			return fmt.Sprintf("+41 90%07d", i%10_000_000) // CH premium rate
		default:
			return fmt.Sprintf("+882 16%07d", i%10_000_000) // international networks
		}
	}
	tests := []struct {
		name   string
		adjust func(*mfa.Config)
		req    func(i int) mfa.StartRequest
		max    int    // the budget that applies
		budget string // the budget that refuses
	}{
		{"one IP, many accounts and numbers", nil, func(i int) mfa.StartRequest {
			return mfa.StartRequest{AccountID: fmt.Sprint("acct-", i), Phone: numbers(i), IP: "198.51.100.7", Purpose: mfa.PurposeEnrol}
		}, 20, "sms_ip"},
		{"one account, many IPs and numbers", nil, func(i int) mfa.StartRequest {
			return mfa.StartRequest{AccountID: alice, Phone: numbers(i), IP: fmt.Sprintf("10.0.%d.%d", i/256, i%256), Purpose: mfa.PurposeEnrol}
		}, 5, "sms_acct"},
		{"one number, many IPs and accounts", nil, func(i int) mfa.StartRequest {
			return mfa.StartRequest{AccountID: fmt.Sprint("acct-", i), Phone: alicePhone, IP: fmt.Sprintf("10.1.%d.%d", i/256, i%256), Purpose: mfa.PurposeLogin}
		}, 5, "sms_num"},
		{"one number range, many IPs and accounts", nil, func(i int) mfa.StartRequest {
			return mfa.StartRequest{AccountID: fmt.Sprint("acct-", i), Phone: fmt.Sprintf("+4178555%04d", i), IP: fmt.Sprintf("10.2.%d.%d", i/256, i%256), Purpose: mfa.PurposeEnrol}
		}, 20, "sms_prefix"},
		{"everything distributed, global budget", func(c *mfa.Config) {
			c.Budgets.Global.Limit = 50
		}, func(i int) mfa.StartRequest {
			return mfa.StartRequest{AccountID: fmt.Sprint("acct-", i), Phone: numbers(i), IP: fmt.Sprintf("10.3.%d.%d", i/256, i%256), Purpose: mfa.PurposeEnrol}
		}, 50, "sms_global"},
		{"country budget", func(c *mfa.Config) {
			c.Budgets.Country.Limit = 30
		}, func(i int) mfa.StartRequest {
			return mfa.StartRequest{AccountID: fmt.Sprint("acct-", i), Phone: numbers(i), IP: fmt.Sprintf("10.4.%d.%d", i/256, i%256), Purpose: mfa.PurposeEnrol}
		}, 60, "sms_country"}, // 30 to CH and 30 to LI
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					pump(t, newEnv(t, st.open, tt.adjust), tt.req, tt.max, tt.budget)
				})
			}
		})
	}
}

// pump sends 500 start requests and checks that exactly max SMS went out,
// that budget refused the rest, and that only CH/LI mobiles got an SMS.
func pump(t *testing.T, e *env, req func(i int) mfa.StartRequest, max int, budget string) {
	t.Helper()
	ok := 0
	refused := map[string]int{}
	for i := range 500 {
		_, err := e.svc.Start(t.Context(), req(i))
		var be *mfa.BudgetError
		switch {
		case err == nil:
			ok++
		case errors.As(err, &be):
			refused[be.Budget]++
		case errors.Is(err, mfa.ErrPhoneCountry), errors.Is(err, mfa.ErrPhoneNotMobile):
			refused["number"]++
		default:
			t.Fatalf("request %d: %v", i, err)
		}
	}
	sent := e.tw.Messages()
	if len(sent) != ok || ok != max {
		t.Errorf("%d SMS sent, %d starts succeeded, want both = budget %d (refused: %v)", len(sent), ok, max, refused)
	}
	if refused[budget] == 0 {
		t.Errorf("budget %s never refused (refused: %v)", budget, refused)
	}
	for _, m := range sent {
		if !strings.HasPrefix(m.To, "+417") && !strings.HasPrefix(m.To, "+4236") {
			t.Errorf("SMS sent to %s, outside CH/LI mobile ranges", mfa.MaskPhone(m.To))
		}
	}
	// A refused request spends no wider budget: another client on another
	// IP still gets its code unless the global or country budget is gone.
	if budget != "sms_global" && budget != "sms_country" {
		if _, err := e.svc.Start(t.Context(), mfa.StartRequest{AccountID: "acct-other", Phone: "+41 77 000 00 01",
			IP: "203.0.113.99", Purpose: mfa.PurposeLogin}); err != nil {
			t.Errorf("a bystander got no code: %v", err)
		}
	}
}

// failingStore is an ephemeral store whose methods fail when their
// function field says so.
type failingStore struct {
	idp.Ephemeral
	incr  func() error
	setNX func() error
}

func (f *failingStore) Incr(ctx context.Context, k string, w time.Duration) (int64, error) {
	if f.incr != nil {
		if err := f.incr(); err != nil {
			return 0, err
		}
	}
	return f.Ephemeral.Incr(ctx, k, w)
}

func (f *failingStore) IncrAll(ctx context.Context, ks []string, ws []time.Duration) ([]int64, error) {
	if f.incr != nil {
		if err := f.incr(); err != nil {
			return nil, err
		}
	}
	return f.Ephemeral.IncrAll(ctx, ks, ws)
}

func (f *failingStore) SetNX(ctx context.Context, k string, v []byte, ttl time.Duration) (bool, error) {
	if f.setNX != nil {
		if err := f.setNX(); err != nil {
			return false, err
		}
	}
	return f.Ephemeral.SetNX(ctx, k, v, ttl)
}

// TestStoreDown: without the ephemeral store no SMS is sent (fail closed)
// and the caller gets ErrUnavailable.
func TestStoreDown(t *testing.T) {
	t.Parallel()
	down := fmt.Errorf("redis 127.0.0.1:6379: incr: %w: connection refused", idp.ErrUnavailable)
	tests := []struct {
		name string
		open func(t *testing.T, c *clock) *tracked
	}{
		{"closed Redis store", func(t *testing.T, _ *clock) *tracked {
			s := openRedis(t)
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			return track(s)
		}},
		{"budget counters fail", func(t *testing.T, c *clock) *tracked {
			m := memory.New(c.Now)
			t.Cleanup(func() { _ = m.Close() })
			return track(&failingStore{Ephemeral: m, incr: func() error { return down }})
		}},
		{"challenge cannot be stored", func(t *testing.T, c *clock) *tracked {
			m := memory.New(c.Now)
			t.Cleanup(func() { _ = m.Close() })
			return track(&failingStore{Ephemeral: m, setNX: func() error { return down }})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.open, nil)
			_, err := e.svc.Start(t.Context(), loginReq())
			wantErr(t, err, mfa.ErrUnavailable)
			if n := e.tw.Requests(); n != 0 {
				t.Errorf("%d requests reached Twilio with the store down, want 0", n)
			}
			_, err = e.svc.Verify(t.Context(), "some-challenge", alice, mfa.PurposeLogin, "123456")
			if tt.name == "closed Redis store" {
				wantErr(t, err, mfa.ErrUnavailable)
			}
		})
	}
	t.Run("verify counter fails", func(t *testing.T) {
		var fail bool
		var mu sync.Mutex
		e := newEnv(t, func(t *testing.T, c *clock) *tracked {
			m := memory.New(c.Now)
			t.Cleanup(func() { _ = m.Close() })
			return track(&failingStore{Ephemeral: m, incr: func() error {
				mu.Lock()
				defer mu.Unlock()
				if fail {
					return down
				}
				return nil
			}})
		}, nil)
		ch, code := e.start(t, loginReq())
		mu.Lock()
		fail = true
		mu.Unlock()
		_, err := e.svc.Verify(t.Context(), ch.ID, alice, mfa.PurposeLogin, code)
		wantErr(t, err, mfa.ErrUnavailable)
	})
}

// TestNoSecretsInLogs runs every path that logs and checks that neither a
// code nor a full number appears in the log or in an error.
func TestNoSecretsInLogs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, stores[0].open, func(c *mfa.Config) { c.Budgets.Account.Limit = 3 })
	var errs []error
	keep := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	ch, code := e.start(t, loginReq())
	codes := []string{code}
	_, err := e.svc.Verify(t.Context(), ch.ID, alice, mfa.PurposeLogin, wrong(code))
	keep(err)
	_, err = e.svc.Verify(t.Context(), ch.ID, bob, mfa.PurposeLogin, code)
	keep(err)
	e.clock.Advance(time.Minute)
	_, err = e.svc.Resend(t.Context(), ch.ID, "192.0.2.10")
	keep(err)
	codes = append(codes, e.code(t, alicePhone))
	for range 5 {
		_, err = e.svc.Verify(t.Context(), ch.ID, alice, mfa.PurposeLogin, wrong(codes[1]))
		keep(err)
	}
	ch, code = e.start(t, loginReq())
	codes = append(codes, code)
	_, err = e.svc.Verify(t.Context(), ch.ID, alice, mfa.PurposeLogin, code)
	keep(err)
	_, err = e.svc.Start(t.Context(), loginReq()) // over the account budget
	keep(err)
	e.tw.FailTo("+41781112233", &twiliotest.InvalidNumber)
	_, err = e.svc.Start(t.Context(), mfa.StartRequest{AccountID: bob, Phone: "078 111 22 33", IP: "192.0.2.11", Purpose: mfa.PurposeEnrol})
	keep(err)
	_, err = e.svc.Start(t.Context(), mfa.StartRequest{AccountID: bob, Phone: "+49 151 23456789", IP: "192.0.2.11", Purpose: mfa.PurposeEnrol})
	keep(err)

	logs := e.logs.String()
	for _, want := range []string{`"sms code sent"`, `"sms code wrong"`, `"sms code locked"`, `"sms code verified"`,
		`"sms budget exhausted"`, `"sms not sent"`, `+41 79 *** ** 67`} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s:\n%s", want, logs)
		}
	}
	secrets := append([]string{"791234567", "781112233", "15123456789"}, codes...)
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("log contains %q:\n%s", s, logs)
		}
		for _, err := range errs {
			if strings.Contains(err.Error(), s) {
				t.Errorf("error contains %q: %v", s, err)
			}
		}
	}
	if len(errs) < 9 {
		t.Errorf("only %d errors collected, the scenario went wrong: %v", len(errs), errs)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	key := make([]byte, 32)
	tests := []struct {
		name string
		cfg  mfa.Config
		want []string // substrings of the error; none means valid
	}{
		{"defaults", mfa.Config{Key: key}, nil},
		{"all countries", mfa.Config{Key: key, Countries: []string{"ch", "LI", "AT", "DE", "FR", "IT"}}, nil},
		{"everything wrong", mfa.Config{
			Key: key[:16], CodeTTL: 11 * time.Minute, MaxAttempts: 50, ResendAfter: 20 * time.Minute,
			Countries: []string{"CH", "US"},
			Budgets:   mfa.Budgets{IP: idp.Rule{Name: "sms_ip", Limit: -1, Window: time.Hour}},
		}, []string{"key", "lifetime", "attempts", "resend", `"US"`, `"sms_ip"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, mfa.ErrInvalidRequest) {
				t.Fatalf("Validate = %v, want ErrInvalidRequest", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
		})
	}
}

// TestBodies checks the SMS text in every language: the code, the
// lifetime, one GSM-7 segment, and the WebOTP line.
func TestBodies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, locale, want string
		ttl                time.Duration
		host               string
	}{
		{"German by default", "", "Ihr Code für das Kundencenter: %s. Gültig 5 Minuten. Geben Sie ihn nie weiter.", 0, ""},
		{"French", "fr-CH", "Votre code pour le Kundencenter: %s. Valable 5 minutes. Ne le transmettez jamais.", 0, ""},
		{"Italian", "it", "Il suo codice per il Kundencenter: %s. Valido 5 minuti. Non lo inoltri mai a nessuno.", 0, ""},
		{"English, one minute", "en_GB", "Your Kundencenter code: %s. Valid for 1 minute. Never share it.", time.Minute, ""},
		{"unknown language", "rm", "Ihr Code für das Kundencenter: %s. Gültig 10 Minuten. Geben Sie ihn nie weiter.", 10 * time.Minute, ""},
		{"WebOTP", "de", "Ihr Code für das Kundencenter: %[1]s. Gültig 5 Minuten. Geben Sie ihn nie weiter.\n\n@login.kanton.example #%[1]s", 0, "login.kanton.example"},
	}
	const gsm7 = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			st := memory.New(c.Now)
			t.Cleanup(func() { _ = st.Close() })
			dev := notify.NewDevOutbox(0, c.Now)
			svc, err := mfa.New(mfa.Config{Key: make([]byte, 32), Now: c.Now, CodeTTL: tt.ttl, ResendAfter: 10 * time.Second,
				WebOTPHost: tt.host}, st, dev, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			req := loginReq()
			req.Locale = tt.locale
			if _, err := svc.Start(t.Context(), req); err != nil {
				t.Fatalf("Start: %v", err)
			}
			m, ok := dev.Last(aliceE164)
			if !ok {
				t.Fatal("no SMS in the dev outbox")
			}
			code, _ := twiliotest.Code(m.Text)
			if want := fmt.Sprintf(tt.want, code); m.Text != want {
				t.Errorf("body = %q, want %q", m.Text, want)
			}
			if n := len([]rune(m.Text)); n > 160 {
				t.Errorf("body has %d characters, more than one SMS segment", n)
			}
			for _, r := range m.Text {
				if !strings.ContainsRune(gsm7, r) {
					t.Errorf("body has %q, outside the GSM 03.38 basic alphabet", r)
				}
			}
		})
	}
}
