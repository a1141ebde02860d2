package status

import (
	"cmp"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/kanton/kundencenter/health"
	"github.com/kanton/kundencenter/services/api"
	"github.com/kanton/kundencenter/services/page"
	"github.com/kanton/kundencenter/services/rp"
	"github.com/kanton/kundencenter/store/sqldb"
)

// Defaults of Config.
const (
	DefaultNotifyWindow = 10 * time.Minute
	DefaultMaxUpload    = 10 << 20
)

// Notifier sends the IdP's general e-mails (api.Notifier).
type Notifier interface {
	Notify(ctx context.Context, n api.Notification) error
}

// Config configures the status service.
type Config struct {
	RP    rp.Config  // login plumbing; RP.Pages and RP.OnSecurityEvent are set by New
	Links page.Links // base URLs of the three services, for the navigation
	DB    *sqldb.DB  // the service's own database; New applies Migrations
	// Clients maps the API clients to the services whose cases they may
	// touch; "*" stands for every service.
	Clients map[string][]string
	// Auth checks the API's bearer tokens; nil: introspection at RP.Issuer
	// with the service's own client credentials.
	Auth *api.Authenticator
	// Notifier sends the e-mails; nil: the IdP's notification endpoint
	// with the service's own client credentials.
	Notifier     Notifier
	NotifyWindow time.Duration // changes within it make one e-mail; 0: DefaultNotifyWindow
	MaxUpload    int64         // bytes of an answer with its files; 0: DefaultMaxUpload
	Now          func() time.Time
	Log          *slog.Logger
}

// Service is the status service: its HTTP handler and its job worker.
type Service struct {
	handler http.Handler
	worker  *sqldb.Worker
}

// New builds the status service and runs its job worker until ctx ends
// (see NewService).
func New(ctx context.Context, cfg Config) (http.Handler, error) {
	s, err := NewService(ctx, cfg)
	if err != nil {
		return nil, err
	}
	go s.worker.Run(ctx)
	return s.handler, nil
}

// NewService builds the status service: "Meine Vorgänge" ("/", login
// required), a case's page "/cases/{reference}" with the answer form, the
// back-office API below /api/v1, the login routes of package rp with the
// Security Event receiver (account-purged), "/logged-out", "/healthz" and
// "/static/". It migrates the database and blocks until the IdP's
// discovery document is found or ctx ends (see rp.New).
func NewService(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.DB == nil {
		return nil, errors.New("status service: no database")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = cfg.RP.Logger
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	cfg.NotifyWindow = cmp.Or(cfg.NotifyWindow, DefaultNotifyWindow)
	cfg.MaxUpload = cmp.Or(cfg.MaxUpload, DefaultMaxUpload)
	if err := cfg.DB.Migrate(ctx, Migrations()); err != nil {
		return nil, fmt.Errorf("status service: migrate: %w", err)
	}
	if cfg.Auth == nil {
		cfg.Auth = api.NewAuthenticator(api.AuthConfig{Issuer: cfg.RP.Issuer, ClientID: cfg.RP.ClientID,
			ClientSecret: cfg.RP.ClientSecret, HTTPClient: cfg.RP.HTTPClient, Now: cfg.Now})
	}
	if cfg.Notifier == nil {
		cfg.Notifier = api.NewNotifier(api.ClientConfig{Issuer: cfg.RP.Issuer, ClientID: cfg.RP.ClientID,
			ClientSecret: cfg.RP.ClientSecret, HTTPClient: cfg.RP.HTTPClient})
	}
	s := &service{store: NewStore(cfg.DB, cfg.Now, cfg.NotifyWindow), auth: cfg.Auth, notifier: cfg.Notifier,
		clients: cfg.Clients, base: strings.TrimSuffix(cfg.RP.BaseURL, "/"), links: cfg.Links, maxUpload: cfg.MaxUpload,
		now: cfg.Now, log: cfg.Log}
	pages, err := page.New(page.Site{Kind: page.Status, Links: cfg.Links, Ready: []health.Check{{Name: "database", Run: cfg.DB.Ping}}}, cfg.Log)
	if err != nil {
		return nil, fmt.Errorf("status service: %w", err)
	}
	s.pages = pages
	rc := cfg.RP
	rc.Pages = pages
	rc.OnSecurityEvent = s.securityEvent
	client, err := rp.New(ctx, rc)
	if err != nil {
		return nil, fmt.Errorf("status service: %w", err)
	}
	mux := http.NewServeMux()
	client.Mount(mux)
	pages.Mount(mux)
	s.mountPages(mux, client.RequireLogin)
	s.mountAPI(mux)
	w := &sqldb.Worker{DB: cfg.DB, Handlers: map[string]sqldb.Handler{JobNotify: s.sendNotification}, Now: cfg.Now, Log: cfg.Log}
	return &Service{handler: client.SecureHeaders(mux), worker: w}, nil
}

// Handler returns the service's HTTP handler.
func (s *Service) Handler() http.Handler { return s.handler }

// RunDue works every due job once (tests, with a fake clock).
func (s *Service) RunDue(ctx context.Context) (int, error) { return s.worker.RunDue(ctx) }

// service holds what the handlers need.
type service struct {
	store     *Store
	auth      *api.Authenticator
	notifier  Notifier
	clients   map[string][]string
	base      string
	links     page.Links
	maxUpload int64
	pages     *page.Renderer
	now       func() time.Time
	log       *slog.Logger
}

//go:embed openapi.json
var openAPI []byte

// serveOpenAPI serves the API's OpenAPI 3.1 description.
func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(openAPI)
}
