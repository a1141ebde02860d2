package faults

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
	"github.com/kanton/kundencenter/store/redis"
	"github.com/kanton/kundencenter/testenv/servers"
)

// privateRedis opens the ephemeral store on a private Redis the test may
// kill (its snapshot on: Save before Kill, Start loads it).
func privateRedis(t *testing.T) (*servers.Redis, *redis.Store) {
	t.Helper()
	r := servers.StartRedis(t)
	eph, err := redis.Open(t.Context(), r.URL, "kc:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eph.Close() })
	return r, eph
}

// TestResetWithRedisDown: a password reset while Redis is down completes
// everywhere. The answer is success (the change committed in PostgreSQL
// with the job that ends the sessions), the link is used up, the audit row
// exists, the refresh token issued before the reset is dead at once, and
// once Redis is back (from its snapshot, with the old access token in it)
// the job ends the access token and the session too. Before: 503, new
// password working, link used, old refresh token refreshing, no audit row.
func TestResetWithRedisDown(t *testing.T) {
	ctx := t.Context()
	r, eph := privateRedis(t)
	c := newCluster(t, idptest.Postgres(t), eph, 1, clusterOptions{})
	const email = "reset@example.ch"
	acct := c.envs[0].CreateAccount(t, "Rita", "Reset", email, password)
	b := c.browser()
	old, err := c.tokens(ctx, b, email)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.envs[0].Service.RequestReset(ctx, email, "de", "203.0.113.7"); err != nil {
		t.Fatal(err)
	}
	m, ok := c.envs[0].LastMail(email, idp.MailReset)
	if !ok {
		t.Fatal("no reset mail")
	}
	link, _ := url.Parse(m.Data["Link"])
	token := link.Query().Get("token")
	form, err := csrf(b, c.issuer+"/reset/confirm?token="+url.QueryEscape(token))
	if err != nil {
		t.Fatal(err)
	}

	r.Save(t) // a snapshot with the session and the old access token
	r.Kill(t)
	const newPassword = "Neues-Passwort-Rhein-77"
	status, body, _, err := c.post(b, "/reset/confirm", url.Values{"csrf": {form}, "token": {token},
		"password": {newPassword}, "password_repeat": {newPassword}})
	if err != nil {
		t.Fatal(err)
	}
	if status != 200 {
		t.Fatalf("reset with Redis down: status %d, want 200 (the change is committed, the job ends the sessions): %.200s", status, body)
	}
	// The old refresh token died with the reset's transaction; the
	// refresh fails for good (not 5xx: that would be retried).
	ref, err := c.refresh(ctx, old.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if ref.status == 200 {
		t.Fatal("the refresh token issued before the reset still refreshes (Redis down)")
	}
	events, err := c.store.ListAudit(ctx, acct.ID, 50)
	if err != nil {
		t.Fatal(err)
	}
	var audited bool
	for _, e := range events {
		audited = audited || e.Action == "account.password_reset"
	}
	if !audited {
		t.Fatal("no audit row for the reset")
	}

	r.Start(t) // from the snapshot: the old session and access token are back
	if !waitFor(30*time.Second, func() bool {
		status, active, err := c.active(ctx, old.AccessToken)
		return err == nil && status == 200 && !active
	}) {
		t.Fatal("the access token issued before the reset is still active 30 s after Redis came back")
	}
	sessions, err := eph.SMembers(ctx, "acctsess:"+acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range sessions {
		if _, err := c.envs[0].Service.Session(ctx, id); err == nil {
			t.Fatalf("session %s… survived the reset", id[:6])
		}
	}
	if ref, _ = c.refresh(ctx, old.RefreshToken); ref.status != 400 || ref.code != "invalid_grant" {
		t.Fatalf("old refresh token after Redis returned: %d %s, want 400 invalid_grant", ref.status, ref.code)
	}
	// The link is used up; the new password works, the old does not.
	form, _ = csrf(b, c.issuer+"/reset/confirm?token="+url.QueryEscape(token))
	_, body, _, _ = c.post(b, "/reset/confirm", url.Values{"csrf": {form}, "token": {token},
		"password": {"Drittes-Passwort-Reuss-5"}, "password_repeat": {"Drittes-Passwort-Reuss-5"}})
	if strings.Contains(body, "reset_done") {
		t.Fatal("the reset link worked twice")
	}
	if _, err := c.envs[0].Service.Login(context.Background(), email, newPassword, "203.0.113.8"); err != nil {
		t.Fatalf("new password: %v", err)
	}
	if _, err := c.envs[0].Service.Login(context.Background(), email, password, "203.0.113.8"); err != idp.ErrLoginFailed {
		t.Fatalf("old password: %v", err)
	}
}
