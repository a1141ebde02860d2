package idp_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
)

// Failed logins, throttling and password resets leave security events with
// the outcome and the client's network (never the full address).
func TestSecurityEventsAudited(t *testing.T) {
	t.Parallel()
	// Three failures per account, no limit per address that matters here.
	var limits idp.Limits
	for _, r := range []struct {
		rule  *idp.Rule
		limit int64
	}{{&limits.LoginPerAccount, 3}, {&limits.LoginPerDevice, 3}, {&limits.LoginPerIP, 1 << 20}, {&limits.LoginPerNetwork, 1 << 20}} {
		*r.rule = idp.Rule{Name: fmt.Sprintf("login_%d", r.limit), Limit: r.limit, Window: time.Hour}
	}
	env := idptest.Start(t, idptest.Options{Limits: limits})
	const pw = "Korrekt-Pferd-42"
	a := env.CreateAccount(t, "Olga", "Owner", "olga@example.ch", pw)
	ctx := t.Context()
	svc := env.Service

	for range 4 {
		_, _ = svc.LoginFrom(ctx, idp.LoginAttempt{Email: "olga@example.ch", Password: "wrong", IP: "203.0.113.77"})
	}
	_, _ = svc.LoginFrom(ctx, idp.LoginAttempt{Email: "nobody@example.ch", Password: "x", IP: "2001:db8:1234:5678::1"})
	if err := svc.RequestReset(ctx, "olga@example.ch", "de", "198.51.100.9"); err != nil {
		t.Fatal(err)
	}
	m, ok := env.LastMail("olga@example.ch", idp.MailReset)
	if !ok {
		t.Fatal("no reset mail")
	}
	u, err := url.Parse(m.Data["Link"])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Reset(idp.WithClientIP(ctx, "198.51.100.10"), u.Query().Get("token"), "Neues-Pferd-4711", "Neues-Pferd-4711"); err != nil {
		t.Fatal(err)
	}

	events, err := env.Store.ListAudit(ctx, a.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range events {
		if e.Outcome != "" {
			got = append([]string{e.Action + " " + e.Outcome + " " + e.IP}, got...)
		}
	}
	want := []string{
		"login.failed failure 203.0.113.0/24",
		"login.failed failure 203.0.113.0/24",
		"login.failed failure 203.0.113.0/24",
		"login.throttled blocked 203.0.113.0/24",
		"account.reset_requested success 198.51.100.0/24",
		"account.password_reset success 198.51.100.0/24",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("security events of the account:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	all, err := env.Store.ListAudit(ctx, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var unknown bool
	for _, e := range all {
		unknown = unknown || e.Action == idp.EventLoginFailed && e.Subject == "" && e.IP == "2001:db8:1234::/48" && e.Detail == "unknown_account"
		if strings.Contains(e.IP, "77") || strings.Contains(e.IP, "5678") {
			t.Errorf("full address in the audit log: %+v", e)
		}
	}
	if !unknown {
		t.Error("no login.failed event for the unknown address")
	}
}

func TestTruncateIP(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.77": "192.0.2.0/24", "::ffff:192.0.2.77": "192.0.2.0/24", "2001:db8:aa:bb::1": "2001:db8:aa::/48",
		"fe80::1%eth0": "fe80::/48", "": "", "not an ip": "",
	} {
		if got := idp.TruncateIP(in); got != want {
			t.Errorf("TruncateIP(%q) = %q, want %q", in, got, want)
		}
	}
}
