package faults

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
)

// TestLockoutAcrossInstances: two IdP instances share one Redis; an
// attacker's wrong passwords for someone's address, spread over both, are
// counted once (throttled after the per-account limit, not twice that),
// unknown browsers are then refused even with the right password, and the
// owner's browser, known to the account by its device cookie from an
// earlier login, still logs in through either instance.
//
// The instances see the proxy's address as every client's (the test IdP
// trusts no X-Forwarded-For), so the per-IP and per-network limits are set
// out of the way and this tests the account and device counts.
func TestLockoutAcrossInstances(t *testing.T) {
	ctx := t.Context()
	rule := func(name string, n int64) idp.Rule { return idp.Rule{Name: name, Limit: n, Window: 15 * time.Minute} }
	const perAccount = 5
	limits := idp.Limits{LoginPerAccount: rule("login_acct", perAccount), LoginPerDevice: rule("login_dev", perAccount),
		LoginPerIP: rule("login_ip", 10000), LoginPerNetwork: rule("login_net", 10000)}
	_, eph := privateRedis(t)
	c := newCluster(t, idptest.Postgres(t), eph, 2, clusterOptions{Limits: &limits})
	const email = "olga@example.ch"
	c.envs[0].CreateAccount(t, "Olga", "Owner", email, password)

	owner := c.browser()
	if _, err := c.tokens(ctx, owner, email); err != nil { // sets the device cookie
		t.Fatalf("the owner's first login: %v", err)
	}
	login := func(b *http.Client, pw string) int {
		t.Helper()
		tok, err := csrf(b, c.issuer+"/login")
		if err != nil {
			t.Fatal(err)
		}
		status, _, _, err := c.post(b, "/login", url.Values{"csrf": {tok}, "email": {email}, "password": {pw}})
		if err != nil {
			t.Fatal(err)
		}
		return status
	}
	// 4 × the limit of wrong passwords, alternating between the instances.
	attacker := c.browser()
	var checked, throttled int
	for i := range 4 * perAccount {
		switch status := login(attacker, "falsch-"+string(rune('a'+i))); status {
		case http.StatusTooManyRequests:
			throttled++
		case http.StatusUnauthorized, http.StatusOK, http.StatusUnprocessableEntity:
			checked++
		default:
			t.Fatalf("attempt %d: status %d", i, status)
		}
	}
	t.Logf("attacker: %d passwords checked, %d throttled", checked, throttled)
	if checked > perAccount {
		t.Errorf("%d wrong passwords checked over two instances, want at most %d (the count is shared)", checked, perAccount)
	}
	if throttled == 0 {
		t.Fatal("the attacker was never throttled")
	}
	if status := login(c.browser(), password); status != http.StatusTooManyRequests {
		t.Errorf("an unknown browser with the right password after the attack: %d, want 429", status)
	}
	for i := range 2 { // through both instances
		if _, err := c.tokens(ctx, c.withCookies(owner), email); err != nil {
			t.Fatalf("the owner's known browser is locked out (attempt %d): %v", i, err)
		}
	}
}
