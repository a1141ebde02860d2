package idp_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
)

// TestLoginThrottlesAttackerNotOwner: wrong passwords typed for someone's
// address from many addresses lock out unknown browsers, but not the
// owner's own browser; the owner's browser has its own count; a network
// has a count of its own; an absurdly long password is refused before
// hashing.
func TestLoginThrottlesAttackerNotOwner(t *testing.T) {
	t.Parallel()
	rule := func(name string, n int64) idp.Rule { return idp.Rule{Name: name, Limit: n, Window: 15 * time.Minute} }
	env := idptest.Start(t, idptest.Options{Limits: idp.Limits{
		LoginPerAccount: rule("login_acct", 5), LoginPerDevice: rule("login_dev", 5),
		LoginPerIP: rule("login_ip", 1000), LoginPerNetwork: rule("login_net", 20),
	}})
	const pw = "Korrekt-Pferd-42"
	env.CreateAccount(t, "Olga", "Owner", "olga@example.ch", pw)
	ctx := t.Context()
	svc := env.Service

	// The owner logs in once from her browser, which is then known.
	device := idp.NewDeviceID()
	a, err := svc.LoginFrom(ctx, idp.LoginAttempt{Email: "olga@example.ch", Password: pw, IP: "198.51.100.7", Device: device})
	if err != nil {
		t.Fatalf("first login: %v", err)
	}
	if err := svc.RememberDevice(ctx, a.ID, device); err != nil {
		t.Fatal(err)
	}

	// An attacker tries from addresses all over the internet.
	for i := range 8 {
		_, err := svc.LoginFrom(ctx, idp.LoginAttempt{Email: "olga@example.ch", Password: "wrong-" + fmt.Sprint(i),
			IP: fmt.Sprintf("203.0.%d.1", i)})
		if err == nil {
			t.Fatal("wrong password accepted")
		}
	}
	_, err = svc.LoginFrom(ctx, idp.LoginAttempt{Email: "olga@example.ch", Password: pw, IP: "192.0.2.200"})
	if !errors.Is(err, idp.ErrRateLimited) {
		t.Errorf("unknown browser after the attack: %v, want ErrRateLimited", err)
	}
	if _, err := svc.LoginFrom(ctx, idp.LoginAttempt{Email: "olga@example.ch", Password: pw, IP: "198.51.100.7", Device: device}); err != nil {
		t.Errorf("the owner's own browser is locked out by the attacker: %v", err)
	}
	// A made-up device ID is an unknown browser.
	if _, err := svc.LoginFrom(ctx, idp.LoginAttempt{Email: "olga@example.ch", Password: pw, IP: "192.0.2.201", Device: idp.NewDeviceID()}); !errors.Is(err, idp.ErrRateLimited) {
		t.Errorf("forged device: %v, want ErrRateLimited", err)
	}

	// The known browser has its own count: wrong passwords there are throttled too.
	for range 5 {
		_, _ = svc.LoginFrom(ctx, idp.LoginAttempt{Email: "olga@example.ch", Password: "nope", IP: "198.51.100.7", Device: device})
	}
	if _, err := svc.LoginFrom(ctx, idp.LoginAttempt{Email: "olga@example.ch", Password: pw, IP: "198.51.100.7", Device: device}); !errors.Is(err, idp.ErrRateLimited) {
		t.Errorf("known browser after 5 failures: %v, want ErrRateLimited", err)
	}

	// One network spraying many addresses.
	var limited bool
	for i := range 25 {
		_, err := svc.LoginFrom(ctx, idp.LoginAttempt{Email: fmt.Sprintf("nobody%d@example.ch", i), Password: "x", IP: fmt.Sprintf("192.0.2.%d", i+1)})
		limited = limited || errors.Is(err, idp.ErrRateLimited)
	}
	if !limited {
		t.Error("25 attempts from one /24 were never throttled (limit 20)")
	}

	if _, err := svc.LoginFrom(ctx, idp.LoginAttempt{Email: "x@example.ch", Password: strings.Repeat("a", 9<<20), IP: "198.51.100.99"}); !errors.Is(err, idp.ErrLoginFailed) {
		t.Errorf("9 MiB password: %v, want ErrLoginFailed", err)
	}
}
