// Package idptest starts a complete identity provider (the same wiring as
// `kundencenter serve`: SQLite, in-process ephemeral store, dev outbox, or
// PostgreSQL and Redis when asked) on a loopback port for tests, with
// helpers to create accounts and clients and to log in through the real
// login form.
package idptest

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kanton/kundencenter/connectors"
	"github.com/kanton/kundencenter/delegation"
	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/provider"
	"github.com/kanton/kundencenter/idp/web"
	"github.com/kanton/kundencenter/keyring"
	"github.com/kanton/kundencenter/mfa"
	"github.com/kanton/kundencenter/mfa/passkey"
	"github.com/kanton/kundencenter/mfa/twilio"
	"github.com/kanton/kundencenter/mfa/twilio/twiliotest"
	"github.com/kanton/kundencenter/notify"
	"github.com/kanton/kundencenter/store/memory"
	"github.com/kanton/kundencenter/store/sqlite/sqlitetest"
	"github.com/kanton/kundencenter/wire"
)

// Env is a running identity provider.
type Env struct {
	URL      string // the issuer
	Addr     string // this instance's own address (differs from URL behind a load balancer)
	Service  *idp.Service
	Provider *provider.Provider
	Store    idp.Store
	Eph      idp.Ephemeral
	Ring     *keyring.Ring
	Keys     *provider.KeyCache
	Clients  *provider.ClientCache
	Server   *http.Server
	Hasher   idp.Argon2Params
	// Factors manages second factors; its SMS go to Twilio, a fake Twilio
	// API on loopback reached by the real twilio-go client.
	Factors *mfa.Factors
	Twilio  *twiliotest.Server
	// Orgs is the delegation service (organisations, representations).
	Orgs    *delegation.Service
	mails   *mailLog
	closers []func()
}

// mailLog records every mail the IdP sealed for the outbox (the job queue
// delivers them in production; tests read links from here).
type mailLog struct {
	mu   sync.Mutex
	list []idp.Mail
}

func (l *mailLog) add(m idp.Mail) {
	l.mu.Lock()
	l.list = append(l.list, m)
	l.mu.Unlock()
}

// LastMail returns the newest mail with this template to this address.
func (e *Env) LastMail(to, template string) (idp.Mail, bool) {
	e.mails.mu.Lock()
	defer e.mails.mu.Unlock()
	for i := len(e.mails.list) - 1; i >= 0; i-- {
		if m := e.mails.list[i]; m.To == to && m.Template == template {
			return m, true
		}
	}
	return idp.Mail{}, false
}

// Mails returns every mail with this template to this address, oldest
// first.
func (e *Env) Mails(to, template string) []idp.Mail {
	e.mails.mu.Lock()
	defer e.mails.mu.Unlock()
	var out []idp.Mail
	for _, m := range e.mails.list {
		if m.To == to && m.Template == template {
			out = append(out, m)
		}
	}
	return out
}

// Options tweak the environment.
type Options struct {
	Store     idp.Store     // default: SQLite in t.TempDir()
	Eph       idp.Ephemeral // default: in-process
	Now       func() time.Time
	Argon2    *idp.Argon2Params // default: cheap parameters for fast tests
	Limits    idp.Limits
	DevOutbox http.Handler
	Log       *slog.Logger
	MaxHashes int // concurrent Argon2id hashes; 0 = 8
	// SessionIdle and SessionMax set the SSO sessions' lifetimes (wire.Config); 0 = idp's defaults.
	SessionIdle, SessionMax time.Duration
	Secure                  bool // cookies with __Host- prefix and Secure, HSTS (as behind TLS)
	// Ring and Issuer let several instances form one deployment (behind a
	// load balancer at Issuer, sharing stores and keys).
	Ring   *keyring.Ring
	Issuer string
	// SMS configures the SMS codes (Key and Now are filled in); Twilio is
	// the fake Twilio to send through (default: a fresh one per Env).
	SMS    mfa.Config
	Twilio *twiliotest.Server
	// Localhost names the issuer http://localhost:PORT instead of
	// 127.0.0.1, as WebAuthn needs a host name for the passkeys' RP ID.
	Localhost bool
	// Connectors are upstream identity providers offered on the login
	// page (e.g. connectortest.Provider.Config); an empty RedirectURL
	// becomes the IdP's callback. ConnectorOptions are their page settings.
	Connectors       []connectors.Config
	ConnectorOptions map[string]web.ConnectorOptions
	// Portal configures the portal pages (catalogue, enablement, contact,
	// overview); a nil Portal.Mail records the mails like the IdP's own.
	Portal web.Portal
}

// Start starts an IdP on 127.0.0.1 with a random port; it stops at test end.
func Start(t testing.TB, o Options) *Env {
	t.Helper()
	if o.Store == nil {
		o.Store = sqlitetest.Open(t)
	}
	if o.Eph == nil {
		m := memory.New(o.Now)
		t.Cleanup(func() { m.Close() })
		o.Eph = m
	}
	e, err := New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

// New starts an IdP on 127.0.0.1 with a random port over the given stores
// (both required); Close stops it. For programs (bench) without a testing.TB.
func New(ctx context.Context, o Options) (*Env, error) {
	ring := o.Ring
	if ring == nil {
		r, err := keyring.Parse(keyring.Generate())
		if err != nil {
			return nil, err
		}
		ring = r
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	params := idp.Argon2Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	if o.Argon2 != nil {
		params = *o.Argon2
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	mails := &mailLog{}
	addr := "http://" + ln.Addr().String()
	if o.Localhost {
		addr = strings.Replace(addr, "127.0.0.1", "localhost", 1)
	}
	issuer := cmp.Or(o.Issuer, addr)
	if c, ok := o.Store.(interface{ SetClock(func() time.Time) }); ok {
		c.SetClock(o.Now) // the store's own rules (account deletion) use the test's clock too
	}
	store, ok := o.Store.(wire.Store)
	if !ok {
		return nil, fmt.Errorf("store %T keeps no second factors or organisations", o.Store)
	}
	tw, ownTwilio := o.Twilio, o.Twilio == nil
	if ownTwilio {
		tw = twiliotest.New()
	}
	sender, err := twilio.New(twilio.Config{AccountSID: tw.AccountSID, AuthToken: tw.AuthToken, From: "Kanton", BaseURL: tw.URL})
	if err != nil {
		return nil, err
	}
	smsCfg := o.SMS
	smsCfg.Key = []byte("sms-key-for-tests-32-bytes-long!")
	// WebAuthn needs a host name as RP ID: passkeys only with Localhost
	// (or an Issuer with a host name).
	var passkeys *passkey.Config
	if u, _ := url.Parse(issuer); net.ParseIP(u.Hostname()) == nil {
		passkeys = wire.PasskeyConfig(issuer, "", ring)
	}
	fed, err := federation(o, issuer)
	if err != nil {
		return nil, err
	}
	if o.Portal.Mail == nil {
		o.Portal.Mail = func(ctx context.Context, m idp.Mail) error {
			mails.add(m)
			out, err := notify.SealMail(ring, m)
			if err != nil {
				return err
			}
			return o.Store.EnqueueOutgoing(ctx, out)
		}
	}
	w := wire.Web{SMS: smsCfg, SMSSender: sender, Passkeys: passkeys,
		Page: web.Config{Secure: o.Secure, CSRFKey: []byte("csrf-key-for-tests-32-bytes-long"), DevOutbox: o.DevOutbox,
			Federation: fed, Portal: o.Portal}}
	copy(w.CryptoKey[:], []byte("0123456789abcdef0123456789abcdef"))
	app, err := wire.New(ctx, wire.Config{Issuer: issuer, Now: o.Now, Limits: o.Limits, Store: store, Eph: o.Eph, Ring: ring,
		Hasher: idp.NewHasher(params, cmp.Or(o.MaxHashes, 8)), Log: o.Log, OnMail: mails.add,
		SessionIdle: o.SessionIdle, SessionMax: o.SessionMax}, w)
	if err != nil {
		if ownTwilio {
			tw.Close()
		}
		return nil, err
	}
	h := app.Handler
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	e := &Env{URL: issuer, Service: app.Service, Provider: app.Provider, Store: o.Store, Eph: o.Eph, Ring: ring, Keys: app.Keys,
		Clients: app.Clients, Server: srv, Hasher: params, mails: mails, Addr: addr, Factors: app.Factors, Twilio: tw, Orgs: app.Orgs}
	if ownTwilio {
		e.closers = append(e.closers, tw.Close)
	}
	return e, nil
}

// Close stops the server.
func (e *Env) Close() {
	e.Server.Close()
	for _, c := range e.closers {
		c()
	}
}

// AddClient registers a confidential client (or a public one when secret
// is "") and returns it.
func (e *Env) AddClient(t testing.TB, c idp.Client, secret string) idp.Client {
	t.Helper()
	if secret != "" {
		c.SecretHash = idp.HashToken(secret)
	} else {
		c.Public = true
	}
	if c.Name == "" {
		c.Name = c.ID
	}
	if len(c.GrantTypes) == 0 {
		c.GrantTypes = []string{idp.GrantAuthorizationCode, idp.GrantRefreshToken}
	}
	c.CreatedAt, c.UpdatedAt = time.Now().UTC(), time.Now().UTC()
	if err := e.Store.PutClient(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if err := e.Clients.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return c
}

// CreateAccount registers an account through the service and activates it
// with the link from its activation mail.
func (e *Env) CreateAccount(t testing.TB, given, family, email, password string) idp.Account {
	t.Helper()
	ctx := context.Background()
	if err := e.Service.Register(ctx, idp.RegisterInput{GivenName: given, FamilyName: family, Email: email,
		Password: password, PasswordRepeat: password, Locale: "de", IP: "203.0.113.1"}); err != nil {
		t.Fatalf("register %s: %v", email, err)
	}
	m, ok := e.LastMail(email, idp.MailActivate)
	if !ok {
		t.Fatalf("no activation mail to %s", email)
	}
	link, err := url.Parse(m.Data["Link"])
	if err != nil {
		t.Fatal(err)
	}
	a, err := e.Service.Activate(ctx, link.Query().Get("token"))
	if err != nil {
		t.Fatalf("activate %s: %v", email, err)
	}
	return a
}

// Browser is an HTTP client with a cookie jar that stops at redirects
// leaving the IdP (to the client's redirect URI).
type Browser struct {
	*http.Client
	env *Env
}

// NewBrowser returns a fresh browser.
func (e *Env) NewBrowser(t testing.TB) *Browser {
	jar, _ := cookiejar.New(nil)
	b := &Browser{env: e}
	b.Client = &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if !strings.HasPrefix(req.URL.String(), e.URL) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	return b
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// CSRF fetches a page and returns its CSRF token.
func (b *Browser) CSRF(t testing.TB, page string) string {
	t.Helper()
	resp, err := b.Get(page)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := csrfRE.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token on %s (status %d)", page, resp.StatusCode)
	}
	return string(m[1])
}

// Authorize runs an authorization request; if it lands on the login page,
// it logs in with email and password. It returns the final redirect to the
// client (Location of the last response) or fails.
func (b *Browser) Authorize(t testing.TB, authURL, email, password string) *url.URL {
	t.Helper()
	resp, err := b.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode/100 == 3 && loc != "" {
		u, _ := url.Parse(loc)
		return u // SSO or error redirect straight to the client
	}
	if resp.Request.URL.Path != "/login" {
		t.Fatalf("authorize ended on %s with status %d", resp.Request.URL, resp.StatusCode)
	}
	id := resp.Request.URL.Query().Get("authRequestID")
	return b.Login(t, id, email, password)
}

// Login posts the login form for an auth request and returns the redirect to the client.
func (b *Browser) Login(t testing.TB, authRequestID, email, password string) *url.URL {
	t.Helper()
	page := b.env.URL + "/login?authRequestID=" + url.QueryEscape(authRequestID)
	csrf := b.CSRF(t, page)
	req, _ := http.NewRequest(http.MethodPost, b.env.URL+"/login", strings.NewReader(url.Values{
		"csrf": {csrf}, "authRequestID": {authRequestID}, "email": {email}, "password": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.env.URL)
	resp, err := b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode/100 != 3 || loc == "" {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("login: status %d, no redirect to the client: %.300s", resp.StatusCode, body)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// Main runs a test binary's tests with the OIDC library's request logging
// (through the default slog logger) silenced unless -v: call it from TestMain.
func Main(m *testing.M) {
	flag.Parse()
	if !testing.Verbose() {
		slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	}
	os.Exit(m.Run())
}
