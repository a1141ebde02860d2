package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"golang.org/x/oauth2"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
	"github.com/kanton/kundencenter/keyring"
	"github.com/kanton/kundencenter/mfa/twilio/twiliotest"
	"github.com/kanton/kundencenter/notify"
	"github.com/kanton/kundencenter/store/postgres"
)

func TestMain(m *testing.M) { idptest.Main(m) }

const (
	clientID     = "rp"
	clientSecret = "rp-secret-for-the-failure-suite"
	redirectURI  = "http://127.0.0.1:1/cb" // never followed
	password     = "Korrekt-Pferd-Batterie-9"
)

// cluster is n IdP instances over one store and one ephemeral store,
// behind a round-robin reverse proxy on the issuer's address, with a River
// worker for the IdP's jobs (end_sessions, mail).
type cluster struct {
	t      *testing.T
	issuer string
	envs   []*idptest.Env
	up     []atomic.Bool
	next   atomic.Uint64
	store  idp.Store
	eph    idp.Ephemeral
	oauth  *oauth2.Config
	mails  *notify.DevOutbox
}

type clusterOptions struct {
	Limits *idp.Limits
}

func newCluster(t *testing.T, store idp.Store, eph idp.Ephemeral, n int, o clusterOptions) *cluster {
	t.Helper()
	ring, err := keyring.Parse(keyring.Generate())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, issuer: "http://" + ln.Addr().String(), store: store, eph: eph, up: make([]atomic.Bool, n)}
	tw := twiliotest.New()
	t.Cleanup(tw.Close)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var backends []*url.URL
	for i := range n {
		opts := idptest.Options{Store: store, Eph: eph, Ring: ring, Issuer: c.issuer, Twilio: tw, Log: quiet}
		if o.Limits != nil {
			opts.Limits = *o.Limits
		}
		e := idptest.Start(t, opts)
		u, _ := url.Parse(e.Addr)
		backends = append(backends, u)
		c.envs = append(c.envs, e)
		c.up[i].Store(true)
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(backends[c.pick()])
			r.Out.Host = r.In.Host
			r.SetXForwarded()
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	srv := &http.Server{Handler: proxy, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	c.envs[0].AddClient(t, idp.Client{ID: clientID, RedirectURIs: []string{redirectURI}}, clientSecret)
	for _, e := range c.envs {
		if err := e.Keys.Load(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := e.Clients.Load(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	c.oauth = &oauth2.Config{ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURI,
		Endpoint: oauth2.Endpoint{AuthURL: c.issuer + "/authorize", TokenURL: c.issuer + "/oauth/token", AuthStyle: oauth2.AuthStyleInHeader},
		Scopes:   []string{"openid", "offline_access"}}
	c.startWorker(quiet)
	return c
}

// pick returns the next instance that is up (round robin).
func (c *cluster) pick() int {
	for range len(c.envs) {
		i := int(c.next.Add(1) % uint64(len(c.envs)))
		if c.up[i].Load() {
			return i
		}
	}
	return 0
}

// shutdown takes instance i out of the proxy's rotation and shuts it down
// gracefully (in-flight requests finish), as on SIGTERM behind a load
// balancer that stops routing to a draining instance.
func (c *cluster) shutdown(i int) {
	c.up[i].Store(false)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.envs[i].Server.Shutdown(ctx); err != nil {
		c.t.Errorf("graceful shutdown of instance %d: %v", i, err)
	}
}

// startWorker runs the IdP's River jobs (the end of sessions after a
// reset, the mails) on the store, as the binaries do.
func (c *cluster) startWorker(log *slog.Logger) {
	pg, ok := c.store.(*postgres.Store)
	if !ok {
		c.t.Fatalf("the failure suite runs on PostgreSQL, not %T", c.store)
	}
	c.mails = notify.NewDevOutbox(500, nil)
	ws := notify.Workers(c.envs[0].Ring, c.mails, log)
	notify.AddEndSessionsWorker(ws, c.envs[0].Service)
	client, err := river.NewClient[pgx.Tx](riverpgxv5.New(pg.Pool()), &river.Config{
		Schema:            pg.Schema(),
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 4}},
		Workers:           ws,
		FetchCooldown:     20 * time.Millisecond,
		FetchPollInterval: 100 * time.Millisecond,
		Logger:            log,
	})
	if err != nil {
		c.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := client.Start(ctx); err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() {
		stop, cancelStop := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancelStop()
		_ = client.Stop(stop)
		cancel()
	})
}

// browser is a cookie-keeping client that stops at redirects leaving the
// issuer.
func (c *cluster) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 15 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if !strings.HasPrefix(req.URL.String(), c.issuer) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf fetches page and returns its CSRF token, or an error.
func csrf(b *http.Client, page string) (string, error) {
	resp, err := b.Get(page)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := csrfRE.FindSubmatch(body)
	if m == nil {
		return "", fmt.Errorf("GET %s: %d, no CSRF token", page, resp.StatusCode)
	}
	return string(m[1]), nil
}

// post submits a form with the Origin of the issuer.
func (c *cluster) post(b *http.Client, path string, form url.Values) (int, string, *http.Response, error) {
	req, _ := http.NewRequest(http.MethodPost, c.issuer+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.issuer)
	resp, err := b.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp, nil
}

// tokens runs the code flow with PKCE for email in browser b: it returns
// the token response or an error naming the step that failed.
func (c *cluster) tokens(ctx context.Context, b *http.Client, email string) (*oauth2.Token, error) {
	code, v, err := c.code(b, email)
	if err != nil {
		return nil, err
	}
	tok, err := c.oauth.Exchange(ctx, code, oauth2.VerifierOption(v))
	if err != nil {
		return nil, fmt.Errorf("exchange: %w", err)
	}
	return tok, nil
}

// code runs the authorization request (logging in if b has no session)
// and returns the code and its PKCE verifier.
func (c *cluster) code(b *http.Client, email string) (string, string, error) {
	v := oauth2.GenerateVerifier()
	resp, err := b.Get(c.oauth.AuthCodeURL("s", oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("nonce", "n")))
	if err != nil {
		return "", "", fmt.Errorf("authorize: %w", err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if loc == nil || loc.Query().Get("code") == "" {
		if resp.Request.URL.Path != "/login" {
			return "", "", fmt.Errorf("authorize: %d at %s", resp.StatusCode, resp.Request.URL.Path)
		}
		id := resp.Request.URL.Query().Get("authRequestID")
		tok, err := csrf(b, c.issuer+"/login?authRequestID="+url.QueryEscape(id))
		if err != nil {
			return "", "", fmt.Errorf("login page: %w", err)
		}
		status, _, r, err := c.post(b, "/login", url.Values{"csrf": {tok}, "authRequestID": {id}, "email": {email}, "password": {password}})
		if err != nil {
			return "", "", fmt.Errorf("login: %w", err)
		}
		if loc, _ = url.Parse(r.Header.Get("Location")); loc == nil || loc.Query().Get("code") == "" {
			return "", "", fmt.Errorf("login: status %d, no code", status)
		}
	}
	return loc.Query().Get("code"), v, nil
}

// tokenCall posts to a client-authenticated endpoint (token, introspect,
// revoke) and returns the status and the JSON answer (nil if none).
func (c *cluster) tokenCall(ctx context.Context, path string, form url.Values) (int, map[string]any, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.issuer+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, clientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out, nil
}

// refreshed is the answer to a refresh-token grant.
type refreshed struct {
	status       int
	rt, at, code string // new refresh and access token (200), OAuth error code
}

// refresh redeems a refresh token.
func (c *cluster) refresh(ctx context.Context, rt string) (refreshed, error) {
	status, out, err := c.tokenCall(ctx, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
	if err != nil {
		return refreshed{}, err
	}
	r := refreshed{status: status}
	r.rt, _ = out["refresh_token"].(string)
	r.at, _ = out["access_token"].(string)
	r.code, _ = out["error"].(string)
	return r, nil
}

// active introspects an access token: its status and "active".
func (c *cluster) active(ctx context.Context, at string) (int, bool, error) {
	status, out, err := c.tokenCall(ctx, "/oauth/introspect", url.Values{"token": {at}})
	if err != nil {
		return 0, false, err
	}
	return status, out["active"] == true, nil
}

// waitFor polls cond every 100 ms until it holds or d passed.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// counter counts outcomes per phase of a fault and kind of call, for the
// error-rate table.
type counter struct {
	mu    sync.Mutex
	phase string
	order []string
	ops   []string
	n     map[[2]string]int
	fail  map[[2]string]int
}

func newCounter(ops ...string) *counter {
	return &counter{ops: ops, n: map[[2]string]int{}, fail: map[[2]string]int{}}
}

func (k *counter) setPhase(p string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.phase = p
	k.order = append(k.order, p)
}

func (k *counter) add(op string, ok bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	key := [2]string{k.phase, op}
	k.n[key]++
	if !ok {
		k.fail[key]++
	}
}

// table formats the errors of each phase: failed/all per kind of call and
// the phase's error rate.
func (k *counter) table() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-34s", "phase")
	for _, op := range k.ops {
		fmt.Fprintf(&b, " %14s", op)
	}
	fmt.Fprintf(&b, " %8s\n", "errors")
	for _, p := range k.order {
		fmt.Fprintf(&b, "%-34s", p)
		var n, f int
		for _, op := range k.ops {
			key := [2]string{p, op}
			n, f = n+k.n[key], f+k.fail[key]
			fmt.Fprintf(&b, " %14s", fmt.Sprintf("%d/%d", k.fail[key], k.n[key]))
		}
		rate := 0.0
		if n > 0 {
			rate = 100 * float64(f) / float64(n)
		}
		fmt.Fprintf(&b, " %7.1f%%\n", rate)
	}
	return b.String()
}

// withCookies returns a browser with b's cookies but no session: the
// device cookie stays, the SSO session is dropped, so the next
// authorization asks for the password again.
func (c *cluster) withCookies(b *http.Client) *http.Client {
	nb := c.browser()
	u, _ := url.Parse(c.issuer)
	var keep []*http.Cookie
	for _, ck := range b.Jar.Cookies(u) {
		if strings.Contains(ck.Name, "device") {
			keep = append(keep, ck)
		}
	}
	nb.Jar.SetCookies(u, keep)
	return nb
}
