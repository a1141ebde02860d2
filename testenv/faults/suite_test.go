package faults

import (
	"errors"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/store/postgres"
	"github.com/kanton/kundencenter/testenv/servers"
)

// phaseLength is how long the load runs in each phase of the suite.
const phaseLength = 2 * time.Second

// user is one load worker's state: its account, the tokens of its family
// that the IdP last accepted, and the refresh tokens answered
// invalid_grant (checked at the end: burned, or a live family refused).
type user struct {
	email     string
	rt, at    string
	suspects  []string
	needLogin bool
}

// TestFailureSuite runs two IdP instances behind a proxy under a bounded
// load (refreshes, introspections, registrations) while a private Redis is
// killed, restarted from its snapshot and flushed, a private PostgreSQL is
// stopped at once and restarted, and one instance shuts down gracefully.
// It reports the error rate of each phase and asserts:
//
//   - zero refresh families burned: every worker's last accepted refresh
//     token still refreshes at the end (a retry after a failed answer must
//     not trip reuse detection), and no live family was answered
//     invalid_grant during an outage (standard clients drop the grant then);
//   - zero revoked things revived by Redis' snapshot: an access token
//     revoked, a code redeemed, a session ended after the snapshot stay so;
//   - zero accepted writes lost: every registration answered 200 has its
//     account, every refresh answered 200 left a working token.
func TestFailureSuite(t *testing.T) {
	ctx := t.Context()
	pg := servers.StartPostgres(t)
	store, err := postgres.Open(ctx, pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	r, eph := privateRedis(t)
	// Every client comes through the proxy's address, and the workers log in
	// again and again: no login or registration limits.
	many := idp.Rule{Name: "many", Limit: 1 << 30, Window: time.Hour}
	c := newCluster(t, store, eph, 2, clusterOptions{Limits: &idp.Limits{RegisterPerIP: many,
		LoginPerIP: many, LoginPerNetwork: many, LoginPerAccount: many, LoginPerDevice: many}})

	const workers = 6
	users := make([]*user, workers)
	for i := range users {
		u := &user{email: fmt.Sprintf("last%d@example.ch", i)}
		c.envs[0].CreateAccount(t, "Lara", "Last", u.email, password)
		tok, err := c.tokens(ctx, c.browser(), u.email)
		if err != nil {
			t.Fatal(err)
		}
		u.rt, u.at = tok.RefreshToken, tok.AccessToken
		users[i] = u
	}

	// The load: each worker refreshes its family, introspects its access
	// token and now and then registers an address, with a pause between
	// calls (a bounded load, not a stress test).
	k := newCounter("refresh", "introspect", "register", "login")
	k.setPhase("baseline")
	var (
		accepted   sync.Map // registrations answered 200
		registered atomic.Int64
		stop       = make(chan struct{})
		wg         sync.WaitGroup
	)
	for w, u := range users {
		wg.Go(func() {
			b := c.browser()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-time.After(30 * time.Millisecond):
				}
				if u.needLogin { // a user whose grant was refused logs in again
					tok, err := c.tokens(ctx, c.browser(), u.email)
					k.add("login", err == nil)
					if err == nil {
						u.rt, u.at, u.needLogin = tok.RefreshToken, tok.AccessToken, false
					}
					continue
				}
				switch i % 5 {
				case 0, 2:
					ref, err := c.refresh(ctx, u.rt)
					switch {
					case err == nil && ref.status == 200 && ref.rt != "":
						u.rt, u.at = ref.rt, ref.at
						k.add("refresh", true)
					case ref.code == "invalid_grant":
						u.suspects = append(u.suspects, u.rt)
						u.needLogin = true
						k.add("refresh", false)
					default:
						k.add("refresh", false) // 5xx: a client retries with the same token
					}
				case 1, 3:
					status, active, err := c.active(ctx, u.at)
					k.add("introspect", err == nil && status == 200 && active)
				case 4:
					email := fmt.Sprintf("neu-%d-%d@example.ch", w, i)
					tok, err := csrf(b, c.issuer+"/register")
					if err != nil {
						k.add("register", false)
						continue
					}
					status, _, _, err := c.post(b, "/register", url.Values{"csrf": {tok}, "given_name": {"Nora"},
						"family_name": {"Neu"}, "email": {email}, "password": {password}, "password_repeat": {password}})
					k.add("register", err == nil && status == 200)
					if err == nil && status == 200 {
						accepted.Store(email, true)
						registered.Add(1)
					}
				}
			}
		})
	}
	stopLoad := sync.OnceFunc(func() { close(stop); wg.Wait() })
	t.Cleanup(stopLoad)
	time.Sleep(phaseLength)

	// What the Redis snapshot must not revive: taken now, then an access
	// token is revoked, a code redeemed and a session ended.
	victim := users[0].email
	b := c.browser()
	revokedTok, err := c.tokens(ctx, b, victim)
	if err != nil {
		t.Fatal(err)
	}
	code, verifier, err := c.code(b, victim)
	if err != nil {
		t.Fatal(err)
	}
	acct, err := store.GetAccountByEmailIndex(ctx, c.envs[0].Service.EmailIndex(victim))
	if err != nil {
		t.Fatal(err)
	}
	sess, err := c.envs[0].Service.StartSessionSince(ctx, acct.ID, []string{"pwd"}, idp.LevelLow, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	r.Save(t)
	if status, _, err := c.tokenCall(ctx, "/oauth/revoke", url.Values{"token": {revokedTok.AccessToken}}); err != nil || status != 200 {
		t.Fatalf("revoke: %d %v", status, err)
	}
	if _, err := c.oauth.Exchange(ctx, code, oauth2.VerifierOption(verifier)); err != nil {
		t.Fatalf("redeem the code: %v", err)
	}
	if err := c.envs[0].Service.EndSession(ctx, sess.ID); err != nil {
		t.Fatal(err)
	}

	k.setPhase("redis killed")
	r.Kill(t)
	time.Sleep(phaseLength)
	k.setPhase("redis restarted from snapshot")
	r.Start(t)
	time.Sleep(phaseLength)
	revived := 0
	if status, active, err := c.active(ctx, revokedTok.AccessToken); err != nil || status != 200 || active {
		t.Errorf("[item 3, tokens] a revoked access token is active again after Redis restarted from its snapshot (status %d, active %v, %v)", status, active, err)
		revived++
	}
	if _, err := c.oauth.Exchange(ctx, code, oauth2.VerifierOption(verifier)); err == nil {
		t.Error("[item 3, tokens] a redeemed code was redeemed again after Redis restarted from its snapshot")
		revived++
	}
	if _, err := c.envs[0].Service.Session(ctx, sess.ID); err == nil {
		t.Error("[item 3, tokens] an ended session is alive again after Redis restarted from its snapshot")
		revived++
	} else if !errors.Is(err, idp.ErrNotFound) {
		t.Errorf("session lookup after the restart: %v", err)
	}
	k.setPhase("redis flushed")
	r.Flush(t)
	time.Sleep(phaseLength)
	k.setPhase("postgres stopped (immediate)")
	pg.Stop(t)
	time.Sleep(phaseLength)
	k.setPhase("postgres restarted")
	pg.Start(t)
	time.Sleep(phaseLength)
	k.setPhase("instance 2 shut down (graceful)")
	c.shutdown(1)
	time.Sleep(phaseLength)
	k.setPhase("after the faults")
	time.Sleep(phaseLength)
	stopLoad()
	t.Log("error rate per phase:" + k.table())

	// Zero families burned, zero accepted writes lost.
	refresh := func(rt string) refreshed {
		var ref refreshed
		waitFor(10*time.Second, func() bool {
			var err error
			ref, err = c.refresh(ctx, rt)
			return err == nil && ref.status < 500
		})
		return ref
	}
	burned, refused, lastDead := 0, 0, 0
	for i, u := range users {
		for _, rt := range u.suspects {
			if refresh(rt).status == 200 {
				refused++ // a live family answered invalid_grant
			} else {
				burned++
			}
		}
		if u.needLogin {
			continue
		}
		if ref := refresh(u.rt); ref.status != 200 {
			lastDead++
			t.Errorf("worker %d: its last accepted refresh token is dead at the end: %d %s", i, ref.status, ref.code)
		}
	}
	if burned > 0 {
		t.Errorf("[item 1, tokens] %d refresh families burned by the faults (a retry after a failed answer tripped reuse detection)", burned)
	}
	if refused > 0 {
		t.Errorf("[item 5, tokens] %d refreshes of live families were answered invalid_grant during the faults (a client drops its grant then)", refused)
	}
	lost := 0
	accepted.Range(func(key, _ any) bool {
		if _, err := store.GetAccountByEmailIndex(ctx, c.envs[0].Service.EmailIndex(key.(string))); err != nil {
			lost++
			t.Errorf("registration of %s was answered 200 but its account is gone: %v", key, err)
		}
		return true
	})
	t.Logf("families burned: %d; live families refused: %d; last tokens dead: %d of %d; revoked things revived: %d of 3; "+
		"accepted registrations: %d, lost: %d", burned, refused, lastDead, workers, revived, registered.Load(), lost)
}
