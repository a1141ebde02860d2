package provider_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/kanton/kundencenter/idp/idptest"
)

// movingClock advances by step on every reading, like a real clock that
// never shows the same time twice (a fixed test clock hides freshness
// comparisons made at different moments).
type movingClock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

func (c *movingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(c.step)
	return c.t
}

func (c *movingClock) Jump(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// TestReauthentication: prompt=login and max_age=0 show the login page
// despite a session, and the password then yields a code whose ID token
// has an auth_time newer than the request, in the same browser and in a
// fresh one, with a clock that moves between every step.
func TestReauthentication(t *testing.T) {
	t.Parallel()
	for _, p := range []struct{ k, v string }{{"prompt", "login"}, {"max_age", "0"}, {"max_age", "1"}} {
		t.Run(p.k+"="+p.v, func(t *testing.T) {
			t.Parallel()
			clock := &movingClock{t: time.Now(), step: 5 * time.Millisecond}
			f := newFixtureOn(t, idptest.Options{Now: clock.Now})
			ctx := t.Context()
			b := f.env.NewBrowser(t)
			v := oauth2.GenerateVerifier()
			first, err := f.oauth.Exchange(ctx, f.code(t, b, v, "n1"), oauth2.VerifierOption(v))
			if err != nil {
				t.Fatal(err)
			}
			firstID, err := f.verifier.Verify(ctx, first.Extra("id_token").(string))
			if err != nil {
				t.Fatal(err)
			}
			var c0 struct {
				AuthTime int64 `json:"auth_time"`
			}
			_ = firstID.Claims(&c0)

			for _, fresh := range []bool{false, true} {
				clock.Jump(3 * time.Second) // the user reads the service for a while
				br := b
				if fresh {
					br = f.env.NewBrowser(t)
				}
				requested := clock.Now()
				v := oauth2.GenerateVerifier()
				r := br.Open(t, f.oauth.AuthCodeURL("s", oauth2.S256ChallengeOption(v), oidc.Nonce("n2"),
					oauth2.SetAuthURLParam(p.k, p.v)))
				if r.URL().Path != "/login" || r.Resp.StatusCode != 200 {
					t.Fatalf("fresh=%v: re-authentication not asked: %d at %s", fresh, r.Resp.StatusCode, r.URL())
				}
				clock.Jump(1500 * time.Millisecond) // typing the password
				u := br.Login(t, r.URL().Query().Get("authRequestID"), email, password)
				if !strings.HasPrefix(u.String(), redirect) || u.Query().Get("code") == "" {
					t.Fatalf("fresh=%v: no code after the password: %s", fresh, u)
				}
				tok, err := f.oauth.Exchange(ctx, u.Query().Get("code"), oauth2.VerifierOption(v))
				if err != nil {
					t.Fatalf("fresh=%v: exchange: %v", fresh, err)
				}
				id, err := f.verifier.Verify(ctx, tok.Extra("id_token").(string))
				if err != nil {
					t.Fatal(err)
				}
				var c struct {
					AuthTime int64  `json:"auth_time"`
					Nonce    string `json:"nonce"`
				}
				_ = id.Claims(&c)
				if c.AuthTime <= c0.AuthTime || c.AuthTime < requested.Unix() || c.Nonce != "n2" {
					t.Fatalf("fresh=%v: auth_time %d not newer than the request at %d (first login %d)",
						fresh, c.AuthTime, requested.Unix(), c0.AuthTime)
				}
			}
		})
	}
}
