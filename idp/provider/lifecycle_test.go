package provider_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/kanton/kundencenter/idp/idptest"
	"github.com/kanton/kundencenter/idp/provider"
)

// clock is a settable fake clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func newClock() *clock               { return &clock{t: time.Now()} }
func kidOf(t *testing.T, jwt string) string {
	t.Helper()
	h, err := base64.RawURLEncoding.DecodeString(strings.Split(jwt, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ Kid string }
	json.Unmarshal(h, &v)
	return v.Kid
}

func TestCodeExpires(t *testing.T) {
	c := newClock()
	f := newFixtureOn(t, idptest.Options{Now: c.Now})
	v := oauth2.GenerateVerifier()
	code := f.code(t, f.env.NewBrowser(t), v, "n")
	c.Add(61 * time.Second) // codes live one minute
	_, err := f.oauth.Exchange(t.Context(), code, oauth2.VerifierOption(v))
	if got := oauthError(t, err); got != "invalid_grant" {
		t.Fatalf("expired code: %s", got)
	}
}

func TestCodeRedeemedOnceUnderRace(t *testing.T) {
	f := newFixture(t)
	v := oauth2.GenerateVerifier()
	code := f.code(t, f.env.NewBrowser(t), v, "n")
	var ok atomic.Int32
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.oauth.Exchange(t.Context(), code, oauth2.VerifierOption(v)); err == nil {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 1 {
		t.Fatalf("%d concurrent redemptions succeeded, want exactly 1", ok.Load())
	}
}

func TestKeyRotation(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	exchange := func() string {
		v := oauth2.GenerateVerifier()
		tok, err := f.oauth.Exchange(ctx, f.code(t, f.env.NewBrowser(t), v, "n"), oauth2.VerifierOption(v))
		if err != nil {
			t.Fatal(err)
		}
		return tok.Extra("id_token").(string)
	}
	before := exchange()
	oldKid := kidOf(t, before)

	// Without -force the next key must have been published for an hour.
	if _, err := provider.Rotate(ctx, f.env.Store, f.env.Ring, time.Now(), provider.DefaultRotation, false); err == nil {
		t.Fatal("rotation did not wait for the publish lead")
	}
	next, err := provider.Rotate(ctx, f.env.Store, f.env.Ring, time.Now(), provider.DefaultRotation, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.env.Keys.Load(ctx); err != nil {
		t.Fatal(err)
	}
	after := exchange()
	if kidOf(t, after) != next.ID || next.ID == oldKid {
		t.Fatalf("new tokens signed by %s, want the promoted next key %s (old %s)", kidOf(t, after), next.ID, oldKid)
	}
	resp, err := http.Get(f.env.URL + "/keys")
	if err != nil {
		t.Fatal(err)
	}
	var jwks struct{ Keys []struct{ Kid string } }
	json.NewDecoder(resp.Body).Decode(&jwks)
	resp.Body.Close()
	kids := map[string]bool{}
	for _, k := range jwks.Keys {
		kids[k.Kid] = true
	}
	if len(kids) != 3 || !kids[oldKid] || !kids[next.ID] {
		t.Fatalf("JWKS after rotation %v: want retired, active and a new next key", kids)
	}
	// A fresh verifier (empty key cache) still accepts the token signed
	// before the rotation.
	p, err := oidc.NewProvider(ctx, f.env.URL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Verifier(&oidc.Config{ClientID: "rp"}).Verify(ctx, before); err != nil {
		t.Fatalf("token from before the rotation: %v", err)
	}
}
