// Command bench is the load harness of the identity provider. It starts
// the IdP in-process on PostgreSQL and Redis (the production adapters, in a
// schema and key prefix of their own), then drives it over loopback HTTP
// and reports, per scenario, requests/s, requests/s per core, p50 and p99:
//
//   - discovery + JWKS
//   - client_credentials grants
//   - introspections
//   - refresh-token grants (each worker rotates its own family)
//   - password logins (POST /login with the production Argon2id parameters)
//   - enumeration: /register and /reset answer times for a known and an
//     unknown address, p50 of both and their ratio (enumeration.go)
//   - audit: hash-chained audit appends against plain inserts at 1, 16 and
//     64 clients, and the share of the chain failed logins use (audit.go)
//
// and, in the same run, the raw Argon2id hashes/s of those parameters, so
// logins/s can be read as a fraction of the physical limit. The load
// generator shares the machine's cores with the server; the per-core figure
// divides by all cores (a conservative number).
//
//	go run ./bench -duration 10s -concurrency 16
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/kanton/kundencenter/bench/loadgen"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/oauth2"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
	"github.com/kanton/kundencenter/store/postgres"
	"github.com/kanton/kundencenter/store/redis"
)

func main() {
	duration := flag.Duration("duration", 10*time.Second, "time per scenario")
	conc := flag.Int("concurrency", 16, "concurrent clients per scenario")
	pgURL := flag.String("postgres", env("KC_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"), "PostgreSQL URL")
	redisURL := flag.String("redis", env("KC_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"), "Redis URL")
	only := flag.String("only", "", "comma-separated scenarios to run (discovery,client_credentials,introspection,refresh,login,argon2,enumeration,audit)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof)")
	trips := flag.Bool("trips", false, "route PostgreSQL and Redis through counting proxies and report round trips per request (run with -concurrency 1; the rates are then not comparable)")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	// The OIDC library logs every request error through the default logger.
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	var tc *tripCount
	if *trips {
		var err error
		if tc, *pgURL, *redisURL, err = newTripCount(*pgURL, *redisURL); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		defer tc.Close()
	}
	if err := run(*duration, *conc, *pgURL, *redisURL, *only, tc); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

const (
	clientID = "bench"
	secret   = "bench-secret-0123456789abcdef0123456789"
	redirect = "http://localhost:9/cb"
	password = "Bench-Passwort-Aare-2026"
)

func run(duration time.Duration, conc int, pgURL, redisURL, only string, tc *tripCount) error {
	ctx := context.Background()
	suffix := loadgen.RandHex(4)
	schema := "bench_" + suffix
	store, err := postgres.OpenSchema(ctx, pgURL, schema)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer func() {
		store.Close()
		if c, err := pgx.Connect(ctx, pgURL); err == nil {
			c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
			c.Close(ctx)
		}
	}()
	eph, err := redis.Open(ctx, redisURL, "bench:"+suffix+":")
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	defer eph.Close()
	params := idp.DefaultArgon2
	lim := idp.Rule{Name: "x", Limit: 1 << 40, Window: time.Hour}
	env, err := idptest.New(ctx, idptest.Options{Store: store, Eph: eph, Argon2: &params, MaxHashes: 2 * runtime.GOMAXPROCS(0),
		Limits: idp.Limits{LoginPerAccount: lim, LoginPerDevice: lim, LoginPerIP: lim, LoginPerNetwork: lim, RegisterPerIP: lim, ResetPerAccount: lim, ResetPerIP: lim}})
	if err != nil {
		return err
	}
	defer env.Close()
	now := time.Now().UTC()
	if err := store.PutClient(ctx, idp.Client{ID: clientID, Name: "Bench", SecretHash: idp.HashToken(secret),
		RedirectURIs: []string{redirect}, CreatedAt: now, UpdatedAt: now,
		GrantTypes: []string{idp.GrantAuthorizationCode, idp.GrantRefreshToken, idp.GrantClientCredentials}, Scopes: []string{"api"}}); err != nil {
		return err
	}
	if err := env.Clients.Load(ctx); err != nil {
		return err
	}
	want := func(s string) bool { return only == "" || slices.Contains(strings.Split(only, ","), s) }
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc * 2}, Timeout: 30 * time.Second}

	fmt.Printf("Kundencenter bench: %d cores (GOMAXPROCS), %d concurrent clients, %s per scenario, PostgreSQL + Redis on loopback\n",
		runtime.GOMAXPROCS(0), conc, duration)
	fmt.Printf("Argon2id: m=%d KiB, t=%d, p=%d\n\n", params.Memory, params.Time, params.Threads)
	fmt.Printf("%-22s %10s %10s %12s %10s %10s %8s\n", "scenario", "requests", "req/s", "req/s/core", "p50", "p99", "errors")
	var results []loadgen.Result
	if tc != nil {
		tc.measureIdle(2 * time.Second)
	}

	if want("discovery") {
		i := atomic.Int64{}
		results = append(results, tc.run("discovery+jwks", duration, conc, func(int) error {
			p := "/.well-known/openid-configuration"
			if i.Add(1)%2 == 0 {
				p = "/keys"
			}
			return get(hc, env.URL+p)
		}))
	}
	if want("client_credentials") || want("introspection") {
		if want("client_credentials") {
			results = append(results, tc.run("client_credentials", duration, conc, func(int) error {
				_, err := clientCredentials(hc, env.URL)
				return err
			}))
		}
		if want("introspection") {
			at, err := clientCredentials(hc, env.URL)
			if err != nil {
				return err
			}
			results = append(results, tc.run("introspection", duration, conc, func(int) error {
				return introspect(hc, env.URL, at)
			}))
		}
	}
	if want("refresh") {
		// One refresh-token family per worker, from a real code flow.
		email := "refresh@bench.example"
		if err := createAccount(ctx, env, email); err != nil {
			return err
		}
		oc := &oauth2.Config{ClientID: clientID, ClientSecret: secret, RedirectURL: redirect,
			Endpoint: oauth2.Endpoint{AuthURL: env.URL + "/authorize", TokenURL: env.URL + "/oauth/token", AuthStyle: oauth2.AuthStyleInHeader},
			Scopes:   []string{"openid", "offline_access"}}
		rts := make([]string, conc)
		for w := range conc {
			rt, err := codeFlow(ctx, env.URL, oc, email)
			if err != nil {
				return fmt.Errorf("code flow: %w", err)
			}
			rts[w] = rt
		}
		results = append(results, tc.run("refresh_token", duration, conc, func(w int) error {
			tok, err := oc.TokenSource(context.WithValue(ctx, oauth2.HTTPClient, hc),
				&oauth2.Token{RefreshToken: rts[w], Expiry: time.Now().Add(-time.Hour)}).Token()
			if err != nil {
				return err
			}
			rts[w] = tok.RefreshToken
			return nil
		}))
	}
	var loginRate, hashRate float64
	if want("login") {
		emails := make([]string, conc)
		for w := range conc {
			emails[w] = fmt.Sprintf("login%d@bench.example", w)
			if err := createAccount(ctx, env, emails[w]); err != nil {
				return err
			}
		}
		clients, tokens, err := browsers(conc, hc, env.URL+"/login")
		if err != nil {
			return err
		}
		r := tc.run("password_login", duration, conc, func(w int) error {
			return postLogin(clients[w], env.URL, tokens[w], emails[w])
		})
		results = append(results, r)
		loginRate = r.Rate
	}
	if want("argon2") || want("login") {
		h := idp.NewHasher(params, runtime.GOMAXPROCS(0))
		r := loadgen.Run("argon2id_raw_hash", duration, runtime.GOMAXPROCS(0), func(int) error {
			_, err := h.Hash(ctx, password)
			return err
		})
		results = append(results, r)
		hashRate = r.Rate
	}
	if want("enumeration") {
		if err := enumeration(ctx, env, hc, duration, conc); err != nil {
			return err
		}
	}
	if want("audit") {
		if err := auditBench(ctx, env, store, hc, duration, conc); err != nil { // audit.go
			return err
		}
	}
	_ = results
	if loginRate > 0 && hashRate > 0 {
		fmt.Printf("\npassword logins/s ÷ raw Argon2id hashes/s = %.2f (1.00 = the hash is the only cost)\n", loginRate/hashRate)
	}
	fmt.Println("\nAnchors (Keycloak sizing guide, per vCPU): 15 logins/s, 120 refresh/s, 120 client-credentials/s.")
	return nil
}

func get(c *http.Client, u string) error {
	resp, err := c.Get(u)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: %d", u, resp.StatusCode)
	}
	return nil
}

func postForm(c *http.Client, u string, form url.Values, basic bool) (*http.Response, error) {
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		req.SetBasicAuth(clientID, secret)
	}
	return c.Do(req)
}

func clientCredentials(c *http.Client, base string) (string, error) {
	resp, err := postForm(c, base+"/oauth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"api"}}, true)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var t struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&t); err != nil || resp.StatusCode != 200 || t.AccessToken == "" {
		return "", fmt.Errorf("client_credentials: %d %v", resp.StatusCode, err)
	}
	return t.AccessToken, nil
}

func introspect(c *http.Client, base, token string) error {
	resp, err := postForm(c, base+"/oauth/introspect", url.Values{"token": {token}}, true)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var r struct {
		Active bool `json:"active"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || !r.Active {
		return fmt.Errorf("introspection: %d active=%v %v", resp.StatusCode, r.Active, err)
	}
	return nil
}

func createAccount(ctx context.Context, env *idptest.Env, email string) error {
	if err := env.Service.Register(ctx, idp.RegisterInput{GivenName: "Erika", FamilyName: "Lasttest", Email: email,
		Password: password, PasswordRepeat: password, IP: "198.51.100.1"}); err != nil {
		return err
	}
	a, err := env.Store.GetAccountByEmailIndex(ctx, env.Service.EmailIndex(email))
	if err != nil {
		return err
	}
	_, err = env.Store.UpdateAccount(ctx, a.ID, func(a idp.Account) (idp.Account, []idp.Outgoing, error) {
		a.Status = idp.StatusActive
		return a, nil, nil
	})
	return err
}

// browsers returns n cookie-keeping clients that do not follow redirects,
// each with the CSRF token of page.
func browsers(n int, hc *http.Client, page string) ([]*http.Client, []string, error) {
	clients := make([]*http.Client, n)
	tokens := make([]string, n)
	for w := range n {
		jar, _ := cookiejar.New(nil)
		clients[w] = &http.Client{Jar: jar, Timeout: 30 * time.Second, Transport: hc.Transport,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		var err error
		if tokens[w], err = csrf(clients[w], page); err != nil {
			return nil, nil, err
		}
	}
	return clients, tokens, nil
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrf(c *http.Client, page string) (string, error) {
	resp, err := c.Get(page)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := csrfRE.FindSubmatch(b)
	if m == nil {
		return "", fmt.Errorf("no CSRF token on %s", page)
	}
	return string(m[1]), nil
}

func postLogin(c *http.Client, base, token, email string) error {
	req, _ := http.NewRequest(http.MethodPost, base+"/login", strings.NewReader(url.Values{
		"csrf": {token}, "email": {email}, "password": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("login: status %d", resp.StatusCode)
	}
	return nil
}

// codeFlow logs in through the real pages and returns a refresh token.
func codeFlow(ctx context.Context, base string, oc *oauth2.Config, email string) (string, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if !strings.HasPrefix(req.URL.String(), base) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	v := oauth2.GenerateVerifier()
	resp, err := c.Get(oc.AuthCodeURL("s", oauth2.S256ChallengeOption(v)))
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	id := resp.Request.URL.Query().Get("authRequestID")
	token, err := csrf(c, base+"/login?authRequestID="+id)
	if err != nil {
		return "", err
	}
	resp, err = postForm(c, base+"/login", url.Values{"csrf": {token}, "authRequestID": {id}, "email": {email}, "password": {password}}, false)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		return "", errors.New("no code after login")
	}
	tok, err := oc.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		return "", err
	}
	return tok.RefreshToken, nil
}
