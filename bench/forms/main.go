// Command forms is the load harness of the form service ("Formulare"). It
// starts an IdP in-process (SQLite, for the logins) and the form service on
// PostgreSQL (a fresh schema, dropped afterwards), logs -concurrency people
// in through the real login pages, gives each a draft of "Umzug melden",
// and reports requests/s, requests/s per core, p50 and p99 for:
//
//   - render_page: GET of a question page (session cookie, draft read and
//     unsealed, page rendered);
//
//   - save_answer: POST of the page's answers ("Weiter": CSRF, validation,
//     answers sealed and saved, redirect to the next page);
//
//   - render_and_save: both, as a person filling the form does.
//
//     go run ./bench/forms -duration 10s -concurrency 16
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"github.com/kanton/kundencenter/bench/loadgen"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
	"github.com/kanton/kundencenter/keyring"
	"github.com/kanton/kundencenter/services/api"
	"github.com/kanton/kundencenter/services/forms"
	"github.com/kanton/kundencenter/services/forms/datatrans"
	"github.com/kanton/kundencenter/services/forms/datatrans/datatranstest"
	"github.com/kanton/kundencenter/services/rp"
	"github.com/kanton/kundencenter/store/memory"
	"github.com/kanton/kundencenter/store/sqldb"
	"github.com/kanton/kundencenter/store/sqlite"
)

const password = "Bench-Passwort-Aare-2026"

func main() {
	duration := flag.Duration("duration", 10*time.Second, "time per scenario")
	conc := flag.Int("concurrency", 16, "concurrent people")
	pgURL := flag.String("postgres", env("KC_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"), "PostgreSQL URL")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file (go tool pprof)")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench forms:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := run(*duration, *conc, *pgURL); err != nil {
		fmt.Fprintln(os.Stderr, "bench forms:", err)
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

// discard drops notifications; noCases refuses cases (nothing is sent).
type (
	discard struct{}
	noCases struct{}
)

func (discard) Notify(context.Context, api.Notification) error { return nil }
func (noCases) Create(context.Context, forms.CaseRequest) (forms.Case, error) {
	return forms.Case{}, errors.New("the bench sends nothing")
}

func run(duration time.Duration, conc int, pgURL string) error {
	ctx := context.Background()
	if !strings.Contains(pgURL, "pool_max_conns=") {
		sep := "?"
		if strings.Contains(pgURL, "?") {
			sep = "&"
		}
		pgURL += fmt.Sprintf("%spool_max_conns=%d", sep, conc)
	}
	schema := "bench_forms_" + loadgen.RandHex(4)
	db, err := sqldb.Open(ctx, pgURL, schema)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer db.Close()
	defer db.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")

	dir, err := os.MkdirTemp("", "bench-forms")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	idpStore, err := sqlite.Open(ctx, filepath.Join(dir, "idp.db"))
	if err != nil {
		return err
	}
	defer idpStore.Close()
	eph := memory.New(nil)
	defer eph.Close()
	idpEnv, err := idptest.New(ctx, idptest.Options{Store: idpStore, Eph: eph})
	if err != nil {
		return err
	}
	defer idpEnv.Close()
	app := httptest.NewUnstartedServer(nil)
	defer app.Close()
	base := "http://" + app.Listener.Addr().String()
	now := time.Now().UTC()
	if err := idpStore.PutClient(ctx, idp.Client{ID: "forms", Name: "Formulare", SecretHash: idp.HashToken("forms-secret"),
		RedirectURIs: []string{base + rp.CallbackPath}, GrantTypes: []string{idp.GrantAuthorizationCode},
		CreatedAt: now, UpdatedAt: now}); err != nil {
		return err
	}
	if err := idpEnv.Clients.Load(ctx); err != nil {
		return err
	}
	fake := datatranstest.New()
	psp := httptest.NewServer(fake)
	defer psp.Close()
	provider, err := datatrans.New(datatrans.Config{APIURL: psp.URL, PayURL: psp.URL, MerchantID: fake.MerchantID,
		Password: fake.Password, SignKey: fake.SignKeyHex()})
	if err != nil {
		return err
	}
	ring, err := keyring.Parse(keyring.Generate())
	if err != nil {
		return err
	}
	key := make([]byte, 32)
	rand.Read(key)
	svc, err := forms.New(ctx, forms.Config{RP: rp.Config{Issuer: idpEnv.URL, ClientID: "forms", ClientSecret: "forms-secret",
		BaseURL: base, CookieKey: key, Insecure: true}, DB: db, Ring: ring, Payments: provider, PaymentPage: psp.URL,
		Cases: noCases{}, Notifier: discard{}})
	if err != nil {
		return err
	}
	app.Config.Handler = svc
	app.Start()

	// Log everyone in and start a draft each.
	people := make([]*person, conc)
	for w := range people {
		if people[w], err = login(ctx, idpEnv, base, fmt.Sprintf("erika-%d-%s@example.ch", w, loadgen.RandHex(3)), fmt.Sprintf("198.51.%d.%d", w/250, 1+w%250)); err != nil {
			return fmt.Errorf("person %d: %w", w, err)
		}
	}

	fmt.Printf("Kundencenter form bench: %d cores (GOMAXPROCS), %d concurrent people, %s per scenario, PostgreSQL on loopback\n\n",
		runtime.GOMAXPROCS(0), conc, duration)
	fmt.Printf("%-22s %10s %10s %12s %10s %10s %8s\n", "scenario", "requests", "req/s", "req/s/core", "p50", "p99", "errors")
	loadgen.Run("render_page", duration, conc, func(w int) error { return people[w].render() })
	loadgen.Run("save_answer", duration, conc, func(w int) error { return people[w].save() })
	loadgen.Run("render_and_save", duration, conc, func(w int) error {
		if err := people[w].render(); err != nil {
			return err
		}
		return people[w].save()
	})
	fmt.Println("\nrender_and_save counts one GET and one POST as one request (a person's \"Weiter\" on one page).")
	return nil
}

// person is a logged-in browser with a draft.
type person struct {
	c    *http.Client
	page string // the question page of the draft
	csrf string
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// login creates an account and logs it in through the IdP's login page
// (following the redirects of the code flow), then starts a draft.
func login(ctx context.Context, env *idptest.Env, base, email, ip string) (*person, error) {
	if err := env.Service.Register(ctx, idp.RegisterInput{GivenName: "Erika", FamilyName: "Lasttest", Email: email,
		Password: password, PasswordRepeat: password, IP: ip}); err != nil {
		return nil, err
	}
	a, err := env.Store.GetAccountByEmailIndex(ctx, env.Service.EmailIndex(email))
	if err != nil {
		return nil, err
	}
	if _, err := env.Store.UpdateAccount(ctx, a.ID, func(a idp.Account) (idp.Account, []idp.Outgoing, error) {
		a.Status = idp.StatusActive
		return a, nil, nil
	}); err != nil {
		return nil, err
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: &http.Transport{MaxIdleConnsPerHost: 4}, Timeout: 30 * time.Second}
	resp, err := c.Get(base + "/")
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	id := resp.Request.URL.Query().Get("authRequestID")
	m := csrfRE.FindSubmatch(body)
	if id == "" || m == nil {
		return nil, fmt.Errorf("no login page at %s", resp.Request.URL)
	}
	resp, err = c.PostForm(env.URL+"/login", url.Values{"csrf": {string(m[1])}, "authRequestID": {id}, "email": {email}, "password": {password}})
	if err != nil {
		return nil, err
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(resp.Request.URL.String(), base+"/") {
		return nil, fmt.Errorf("login ended at %s", resp.Request.URL)
	}
	m = csrfRE.FindSubmatch(body)
	if m == nil {
		return nil, errors.New("no CSRF token on the catalogue")
	}
	p := &person{c: c, csrf: string(m[1])}
	// Start a draft; stop following redirects from now on.
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err = c.PostForm(base+"/forms/umzug-melden", url.Values{"csrf": {p.csrf}})
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/drafts/") {
		return nil, fmt.Errorf("start draft: %d %s", resp.StatusCode, loc)
	}
	p.page = base + strings.TrimSuffix(loc, "/pages/herkunft") + "/pages/neue_adresse"
	return p, nil
}

func (p *person) render() error {
	resp, err := p.c.Get(p.page)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d", p.page, resp.StatusCode)
	}
	return nil
}

var answers = url.Values{"action": {"continue"}, "neue_adresse.street": {"Bahnhofstrasse 3"},
	"neue_adresse.postal_code": {"2540"}, "neue_adresse.locality": {"Grenchen"}, "umzugsdatum": {"01.02.2027"}, "personen": {"2"}}

func (p *person) save() error {
	form := url.Values{"csrf": {p.csrf}}
	for k, v := range answers {
		form[k] = v
	}
	resp, err := p.c.PostForm(p.page, form)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("POST %s: %d", p.page, resp.StatusCode)
	}
	return nil
}
