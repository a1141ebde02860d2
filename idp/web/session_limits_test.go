package web_test

import (
	"testing"
	"time"

	"github.com/kanton/kundencenter/idp/idptest"
)

// TestConfiguredSessionLimits: with KC_SESSION_IDLE=10m and
// KC_SESSION_MAX=30m (wire.Config, as cmd passes them) and a fake clock, a
// session survives steady activity but ends after 11 idle minutes, and
// ends 30 minutes after the login however active it is — where the
// defaults (60 minutes, 12 hours) would have kept it.
func TestConfiguredSessionLimits(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{}
	env := idptest.Start(t, idptest.Options{Now: clock.now, SessionIdle: 10 * time.Minute, SessionMax: 30 * time.Minute})
	env.CreateAccount(t, "Anna", "Muster", "anna@example.ch", "Korrekt-Pferd-42")
	b := env.NewBrowser(t)

	plainLogin(t, env, b, "anna@example.ch", "Korrekt-Pferd-42")
	clock.advance(9 * time.Minute)
	if !signedIn(t, env, b) {
		t.Fatal("signed out after 9 idle minutes (idle timeout 10)")
	}
	clock.advance(11 * time.Minute)
	if signedIn(t, env, b) {
		t.Fatal("still signed in after 11 idle minutes (idle timeout 10)")
	}

	plainLogin(t, env, b, "anna@example.ch", "Korrekt-Pferd-42")
	for elapsed := 5 * time.Minute; elapsed < 30*time.Minute; elapsed += 5 * time.Minute {
		clock.advance(5 * time.Minute)
		if !signedIn(t, env, b) {
			t.Fatalf("signed out after %v of steady activity (absolute 30m)", elapsed)
		}
	}
	clock.advance(6 * time.Minute)
	if signedIn(t, env, b) {
		t.Fatal("still signed in 31 minutes after the login (absolute 30m)")
	}
}
