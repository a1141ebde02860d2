package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"github.com/kanton/kundencenter/templates"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"golang.org/x/sync/errgroup"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/web"
	"github.com/kanton/kundencenter/keyring"
	"github.com/kanton/kundencenter/mfa"
	"github.com/kanton/kundencenter/mfa/twilio"
	"github.com/kanton/kundencenter/notify"
	"github.com/kanton/kundencenter/services/page"
	"github.com/kanton/kundencenter/services/rp"
	"github.com/kanton/kundencenter/store/memory"
	"github.com/kanton/kundencenter/store/sqlite"
)

// bundled are the three relying parties shipped with the IdP, with the
// scopes each may request with client_credentials and the scopes it serves
// as an API.
var bundled = []struct {
	id, name          string
	scopes, apiScopes []string
}{
	{"forms", "Formulare", []string{scopeNotify, "cases:write", idp.ScopeActionReceipts}, nil},
	{"status", "Meine Vorgänge", []string{scopeNotify}, []string{"cases:write", "cases:read"}},
	{"documents", "Meine Dokumente", []string{scopeNotify}, []string{"documents:write", "documents:read"}},
}

// scopeNotify is the scope of the IdP's notification endpoint.
const scopeNotify = idp.ScopeNotify

// backofficeClient is the demo back office `serve` registers, driven by
// `kundencenter backoffice`; its secret is kept in the data folder.
var backofficeClient = idp.Client{ID: "backoffice", Name: "Demo-Fachanwendung",
	GrantTypes: []string{idp.GrantClientCredentials}, Scopes: []string{"cases:write", "cases:read", "documents:write"}}

// backofficeSecretFile is the file in KC_DATA_DIR holding the demo back
// office's client secret.
const backofficeSecretFile = "backoffice.secret"

// runServe runs the whole product in one process on embedded storage:
// SQLite in KC_DATA_DIR, in-process ephemeral state, e-mail to the dev
// outbox (or SMTP when KC_SMTP_URL is set). The IdP listens on :8080 and
// forms, status and documents on the next three ports.
func runServe(ctx context.Context, cfg config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	port := fs.Int("port", 8080, "IdP port; the services use port+1 (forms), +2 (status), +3 (documents)")
	host := fs.String("host", "localhost", "host name the browser uses")
	bindAll := fs.Bool("bind-all", false, "listen on all interfaces instead of loopback only (the dev outbox shows every activation link!)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.Issuer == "http://localhost:8080" {
		cfg.Issuer = fmt.Sprintf("http://%s:%d", *host, *port)
	}
	var p problems
	cfg.validateIssuer(&p)
	cfg.validateSessions(&p)
	if err := p.err(); err != nil {
		return err
	}
	if err := cfg.embeddedSecrets(); err != nil {
		return err
	}
	ring, err := keyring.Parse(cfg.Keyring)
	if err != nil {
		return fmt.Errorf("key ring: %w", err)
	}
	dbPath := filepath.Join(cfg.DataDir, "kundencenter.db")
	store, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		return fmt.Errorf("open %s: %w", dbPath, err)
	}
	defer store.Close()
	eph := memory.New(nil)
	defer eph.Close()

	var sender notify.Sender
	var devOutbox http.Handler
	if cfg.SMTPURL != "" {
		sc, err := parseSMTPURL(cfg.SMTPURL)
		if err != nil {
			return fmt.Errorf("KC_SMTP_URL: %w", err)
		}
		if sender, err = notify.NewSMTP(sc); err != nil {
			return fmt.Errorf("KC_SMTP_URL: %w", err)
		}
	}
	// Without SMTP the mails, and without Twilio the SMS, stay in the dev
	// outbox (served at /dev/outbox, only in this embedded mode).
	box := notify.NewDevOutbox(200, nil)
	if sender == nil {
		sender, devOutbox = box, box.Handler()
	}
	var sms mfa.SMSSender = box
	if cfg.twilioConfigured() {
		if sms, err = twilio.New(cfg.twilio()); err != nil {
			return fmt.Errorf("KC_TWILIO_*: %w", err)
		}
	} else {
		devOutbox = box.Handler()
	}
	ev, err := eventsConfig(ctx, cfg.Issuer, store, ring, log)
	if err != nil {
		return err
	}
	life, err := lifecycleService(cfg.Issuer, store, eph, ring, log)
	if err != nil {
		return err
	}
	jobs, err := startWorkersSQLite(ctx, store.DB(), ring, sender, log, life, ev)
	if err != nil {
		return err
	}
	defer stopWorkers(jobs)

	// The bundled services get fresh secrets on every start of the embedded mode.
	svcURL := func(i int) string { return fmt.Sprintf("http://%s:%d", *host, *port+1+i) }
	secrets := map[string]string{}
	var links []web.Service
	for i, b := range bundled {
		secret := random32()
		secrets[b.id] = secret
		base := svcURL(i)
		c := idp.Client{ID: b.id, Name: b.name, SecretHash: idp.HashToken(secret),
			RedirectURIs: []string{base + "/auth/callback"}, PostLogoutRedirectURIs: []string{base + "/logged-out"},
			BackChannelLogoutURI: base + rp.BackChannelLogoutPath,
			GrantTypes:           []string{idp.GrantAuthorizationCode, idp.GrantRefreshToken, idp.GrantClientCredentials},
			Scopes:               b.scopes, APIScopes: b.apiScopes}
		// Every bundled service acts on account-purged (rp.Config.OnSecurityEvent).
		c.EventsURI = base + rp.EventsPath
		if err := putClient(ctx, store, c); err != nil {
			return fmt.Errorf("register bundled client %s: %w", b.id, err)
		}
		links = append(links, web.Service{ID: b.id, Name: b.name, URL: base + "/"})
	}
	if err := registerBackoffice(ctx, store, cfg.DataDir); err != nil {
		return err
	}
	if cfg.ClientsFile != "" {
		if err := loadClientsFile(ctx, store, cfg.ClientsFile); err != nil {
			return err
		}
	}
	pt, err := newPortal(ctx, cfg, store, ring, templates.PortalLinks{Forms: svcURL(0), Status: svcURL(1), Documents: svcURL(2)}, true, log)
	if err != nil {
		return err
	}
	defer pt.close()
	handler, err := buildIdP(ctx, cfg, idpParts{store: store, eph: eph, ring: ring, devOutbox: devOutbox, sms: sms, services: links, portal: pt}, log)
	if err != nil {
		return err
	}
	// Bind every port first: a port in use fails the start at once, and the
	// services' discovery finds the IdP listening.
	lns := make([]net.Listener, 1+len(bundled))
	for i := range lns {
		addr := "127.0.0.1:" + strconv.Itoa(*port+i)
		if *bindAll {
			addr = ":" + strconv.Itoa(*port+i)
		}
		if lns[i], err = net.Listen("tcp", addr); err != nil {
			for _, ln := range lns[:i] {
				ln.Close()
			}
			return fmt.Errorf("listen on %s: %w (is another kundencenter running? use -port)", addr, err)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return serveOn(gctx, lns[0], handler, log, "idp") })
	for i, b := range bundled {
		h, err := serviceHandler(gctx, b.id, serviceConfig{Issuer: cfg.Issuer, ClientID: b.id, ClientSecret: secrets[b.id],
			BaseURL: svcURL(i), CookieKey: cfg.CookieKey, DataDir: cfg.DataDir,
			Links: page.Links{Forms: svcURL(0), Status: svcURL(1), Documents: svcURL(2)}}, log)
		if err != nil {
			return err
		}
		g.Go(func() error { return serveOn(gctx, lns[1+i], h, log, b.id) })
	}
	log.Info("Kundencenter is running", "idp", cfg.Issuer, "status", svcURL(1), "forms", svcURL(0),
		"documents", svcURL(2), "dev_outbox", func() string {
			if devOutbox != nil {
				return cfg.Issuer + "/dev/outbox"
			}
			return "off (SMTP configured)"
		}())
	return g.Wait()
}

// startWorkersSQLite runs the River workers that deliver the outbox.
// life runs the account lifecycle job (lifecycle.go).
func startWorkersSQLite(ctx context.Context, db *sql.DB, ring *keyring.Ring, sender notify.Sender, log *slog.Logger, life *idp.Service, ev *notify.EventsConfig) (*river.Client[*sql.Tx], error) {
	workers, periodic := jobWorkers(ring, sender, log, life, ev)
	client, err := river.NewClient(riversqlite.New(db), &river.Config{
		PeriodicJobs:      periodic,
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 2}},
		Workers:           workers,
		FetchPollInterval: 200 * time.Millisecond,
		FetchCooldown:     50 * time.Millisecond,
		Logger:            riverLog(log), // portal.go: warnings only
	})
	if err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	if err := client.Start(ctx); err != nil {
		return nil, fmt.Errorf("start job queue: %w", err)
	}
	return client, nil
}

type stopper interface{ Stop(context.Context) error }

func stopWorkers(c stopper) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = c.Stop(ctx)
}

// listen serves h on addr until ctx ends, then shuts down gracefully.
func listen(ctx context.Context, addr string, h http.Handler, log *slog.Logger, name string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s: listen on %s: %w", name, addr, err)
	}
	return serveOn(ctx, ln, h, log, name)
}

// serveOn serves h on ln until ctx ends, then shuts down gracefully.
func serveOn(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger, name string) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	log.Info("listening", "service", name, "addr", ln.Addr().String())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// registerBackoffice registers the demo back office with the secret kept in
// dataDir (created on the first start), so `kundencenter backoffice` can use
// it across restarts.
func registerBackoffice(ctx context.Context, store idp.ClientStore, dataDir string) error {
	path := filepath.Join(dataDir, backofficeSecretFile)
	raw, err := os.ReadFile(path)
	secret := strings.TrimSpace(string(raw))
	if errors.Is(err, os.ErrNotExist) || secret == "" {
		secret = random32()
		if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	} else if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	c := backofficeClient
	c.SecretHash = idp.HashToken(secret)
	if err := putClient(ctx, store, c); err != nil {
		return fmt.Errorf("register the demo back office: %w", err)
	}
	return nil
}
