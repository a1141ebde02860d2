package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kanton/kundencenter/bench/loadgen"
	"github.com/kanton/kundencenter/idp/idptest"
)

// enumeration measures whether /register and /reset tell a known address
// from an unknown one by their answer time (issue 16, item 9): each form
// is posted for duration, every client alternating a registered address and
// a fresh one (so a busy moment of the machine hits both alike), and the
// p50 of both and their ratio are printed (1.00 = indistinguishable). Registering a fresh address creates an account each
// time, so that is the real cost an attacker would observe.
func enumeration(ctx context.Context, env *idptest.Env, hc *http.Client, duration time.Duration, conc int) error {
	const known = "known@bench.example"
	if err := createAccount(ctx, env, known); err != nil {
		return err
	}
	conc = min(conc, 4) // a ratio, not a throughput: few clients keep the queueing out of it
	clients, tokens, err := browsers(conc, hc, env.URL+"/register")
	if err != nil {
		return err
	}
	var fresh atomic.Int64
	unknown := func() string { return fmt.Sprintf("unknown%d-%s@bench.example", fresh.Add(1), loadgen.RandHex(3)) }
	register := func(w int, email string) error {
		return postPage(clients[w], env.URL+"/register", url.Values{"csrf": {tokens[w]}, "given_name": {"Erika"},
			"family_name": {"Lasttest"}, "email": {email}, "password": {password}, "password_repeat": {password}})
	}
	reset := func(w int, email string) error {
		return postPage(clients[w], env.URL+"/reset", url.Values{"csrf": {tokens[w]}, "email": {email}})
	}
	var lines []string
	for _, form := range []struct {
		name string
		post func(int, string) error
	}{{"register", register}, {"reset", reset}} {
		k, u, errs := interleaved(duration, conc, func(w int, isKnown bool) error {
			if isKnown {
				return form.post(w, known)
			}
			return form.post(w, unknown())
		})
		if len(k) == 0 || len(u) == 0 {
			return fmt.Errorf("/%s: no successful requests (%d errors)", form.name, errs)
		}
		pk, pu := k[len(k)/2], u[len(u)/2]
		lines = append(lines, fmt.Sprintf("%-9s %d+%d requests, p50 known %8s, unknown %8s, ratio known/unknown %.2f, errors %d",
			"/"+form.name, len(k), len(u), pk.Round(100*time.Microsecond), pu.Round(100*time.Microsecond), float64(pk)/float64(pu), errs))
	}
	fmt.Printf("\nTiming enumeration (1.00 = a known address cannot be told from an unknown one):\n  %s\n", strings.Join(lines, "\n  "))
	return nil
}

// postPage posts a form and wants a page (2xx) back.
func postPage(c *http.Client, u string, form url.Values) error {
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: status %d", u, resp.StatusCode)
	}
	return nil
}

// interleaved calls fn from conc workers for d, each worker alternating
// known = true and false, and returns the sorted latencies of the
// successful calls of each kind and the number of errors.
func interleaved(d time.Duration, conc int, fn func(worker int, known bool) error) (k, u []time.Duration, errs int) {
	type sample struct {
		known bool
		d     time.Duration
		err   error
	}
	out := make([][]sample, conc)
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := range conc {
		wg.Go(func() {
			for i := 0; time.Now().Before(deadline); i++ {
				known := (i+w)%2 == 0
				t0 := time.Now()
				err := fn(w, known)
				out[w] = append(out[w], sample{known, time.Since(t0), err})
			}
		})
	}
	wg.Wait()
	for _, ss := range out {
		for _, s := range ss {
			switch {
			case s.err != nil:
				errs++
			case s.known:
				k = append(k, s.d)
			default:
				u = append(u, s.d)
			}
		}
	}
	slices.Sort(k)
	slices.Sort(u)
	return k, u, errs
}
