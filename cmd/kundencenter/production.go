package main

import (
	"context"
	"flag"
	"fmt"
	"github.com/kanton/kundencenter/templates"
	"log/slog"
	"net/url"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/keyring"
	"github.com/kanton/kundencenter/mfa/twilio"
	"github.com/kanton/kundencenter/notify"
	"github.com/kanton/kundencenter/store/postgres"
	"github.com/kanton/kundencenter/store/redis"
)

// runIdP runs the OpenID provider in production mode: PostgreSQL, Redis,
// SMTP. Every instance is stateless; run as many as needed.
func runIdP(ctx context.Context, cfg config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("idp", flag.ContinueOnError)
	listenAddr := fs.String("listen", firstNonEmpty(cfg.Listen, ":8080"), "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := cfg.validateProduction(); err != nil {
		return err
	}
	ring, _ := keyring.Parse(cfg.Keyring)
	store, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("KC_DATABASE_URL: %w", err)
	}
	defer store.Close()
	eph, err := redis.Open(ctx, cfg.RedisURL, "kc:")
	if err != nil {
		return fmt.Errorf("KC_REDIS_URL: %w", err)
	}
	defer eph.Close()
	sc, _ := parseSMTPURL(cfg.SMTPURL)
	sender, err := notify.NewSMTP(sc)
	if err != nil {
		return fmt.Errorf("KC_SMTP_URL: %w", err)
	}
	ev, err := eventsConfig(ctx, cfg.Issuer, store, ring, log)
	if err != nil {
		return err
	}
	life, err := lifecycleService(cfg.Issuer, store, eph, ring, log)
	if err != nil {
		return err
	}
	jobs, err := startWorkersPostgres(ctx, store.Pool(), ring, sender, log, life, ev)
	if err != nil {
		return err
	}
	defer stopWorkers(jobs)
	if cfg.ClientsFile != "" {
		if err := loadClientsFile(ctx, store, cfg.ClientsFile); err != nil {
			return err
		}
	}
	sms, err := twilio.New(cfg.twilio())
	if err != nil {
		return fmt.Errorf("KC_TWILIO_*: %w", err)
	}
	sl := serviceLinks()
	pt, err := newPortal(ctx, cfg, store, ring, templates.PortalLinks{Forms: sl.Forms, Status: sl.Status, Documents: sl.Documents}, false, log)
	if err != nil {
		return err
	}
	defer pt.close()
	handler, err := buildIdP(ctx, cfg, idpParts{store: store, eph: eph, ring: ring, sms: sms, portal: pt}, log)
	if err != nil {
		return err
	}
	return listen(ctx, *listenAddr, handler, log, "idp")
}

// startWorkersPostgres runs the River workers; River elects a leader for
// maintenance, and each job is worked by exactly one instance.
// life runs the account lifecycle job (lifecycle.go).
func startWorkersPostgres(ctx context.Context, pool *pgxpool.Pool, ring *keyring.Ring, sender notify.Sender, log *slog.Logger, life *idp.Service, ev *notify.EventsConfig) (*river.Client[pgx.Tx], error) {
	workers, periodic := jobWorkers(ring, sender, log, life, ev)
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		PeriodicJobs: periodic,
		Queues:       map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 4}},
		Workers:      workers,
		Logger:       riverLog(log), // portal.go: warnings only
	})
	if err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	if err := client.Start(ctx); err != nil {
		return nil, fmt.Errorf("start job queue: %w", err)
	}
	return client, nil
}

// runService runs one relying-party service in production mode.
func runService(ctx context.Context, name string, cfg config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	listenAddr := fs.String("listen", firstNonEmpty(cfg.Listen, ":8080"), "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var p problems
	cfg.validateIssuer(&p)
	if cfg.ClientID == "" {
		p.add("KC_CLIENT_ID: missing (the client ID registered at the IdP)")
	}
	if cfg.ClientSecret == "" {
		p.add("KC_CLIENT_SECRET: missing (printed by `kundencenter admin clients add`)")
	}
	if u, err := url.Parse(cfg.BaseURL); cfg.BaseURL == "" || err != nil || u.Host == "" {
		p.add("KC_BASE_URL: missing or not a URL (the service's public URL, e.g. https://status.example.ch)")
	}
	if _, err := key32(cfg.CookieKey); err != nil {
		p.add("KC_COOKIE_KEY: %v", err)
	}
	if err := p.err(); err != nil {
		return err
	}
	h, err := serviceHandler(ctx, name, serviceConfig{Issuer: cfg.Issuer, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
		BaseURL: cfg.BaseURL, CookieKey: cfg.CookieKey, Links: serviceLinks()}, log)
	if err != nil {
		return err
	}
	return listen(ctx, *listenAddr, h, log, name)
}

// runMigrate applies the migrations (postgres.Open migrates).
func runMigrate(ctx context.Context, cfg config) error {
	if cfg.DatabaseURL == "" {
		return fmt.Errorf("KC_DATABASE_URL: missing (postgres://user:password@host:5432/db); the embedded mode migrates its SQLite file at start")
	}
	store, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("KC_DATABASE_URL: %w", err)
	}
	store.Close()
	fmt.Println("migrations applied")
	return nil
}

// parseSMTPURL reads smtp://user:password@host:port?from=…&tls=none|starttls|tls.
func parseSMTPURL(s string) (notify.SMTPConfig, error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "smtp" || u.Hostname() == "" {
		return notify.SMTPConfig{}, fmt.Errorf("not an smtp://host:port URL")
	}
	c := notify.SMTPConfig{Host: u.Hostname(), From: u.Query().Get("from"), TLS: notify.TLSMode(u.Query().Get("tls")),
		Timeout: 30 * time.Second}
	if p := u.Port(); p != "" {
		if c.Port, err = strconv.Atoi(p); err != nil {
			return c, fmt.Errorf("port %q is not a number", p)
		}
	}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	return c, c.Validate()
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
