package documents

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/kanton/kundencenter/health"
	"github.com/kanton/kundencenter/services/api"
	"github.com/kanton/kundencenter/services/documents/seal"
	"github.com/kanton/kundencenter/services/page"
	"github.com/kanton/kundencenter/services/rp"
	"github.com/kanton/kundencenter/store/sqldb"
	"github.com/kanton/kundencenter/webkit"
)

// Notifier tells the IdP to send a short, general e-mail (api.Notifier).
type Notifier interface {
	Notify(ctx context.Context, n api.Notification) error
}

// Config configures the document service.
type Config struct {
	RP    rp.Config  // login plumbing; RP.Pages and RP.OnSecurityEvent are set by New
	Links page.Links // base URLs of the three services, for the navigation
	DB    *sqldb.DB  // migrated by New

	Sealer   *seal.Sealer   // the authority's seal with its timestamp authority
	Verifier *seal.Verifier // trust anchors for the public verification
	Issuer   string         // the issuing authority printed on generated documents

	// Auth checks the back offices' bearer tokens (scope documents:write);
	// nil leaves the delivery API unmounted.
	Auth *api.Authenticator
	// Notifier tells owners about new documents; nil tells nobody.
	Notifier Notifier
	// Retention keeps documents of a kind (certificate, register-extract,
	// decision, receipt, other) for this long after delivery; a kind not
	// listed is kept until deleted.
	Retention map[string]time.Duration
	// MaxPDFBytes bounds a delivered PDF; 0 means DefaultMaxPDFBytes.
	MaxPDFBytes int64
	// Now is the clock (share link expiry, retention); nil means time.Now.
	Now func() time.Time
	// Poll is the pause of the background worker (notifications, retention);
	// 0 means one second.
	Poll time.Duration
}

// DefaultMaxPDFBytes bounds a delivered PDF when Config.MaxPDFBytes is 0.
const DefaultMaxPDFBytes = 10 << 20

// Paths of the service.
const (
	VerifyPath  = "/pruefen"
	APIBase     = "/api/v1"
	OpenAPIPath = APIBase + "/openapi.json"
)

// Scopes of the API: delivering, and reading what one delivered.
const (
	ScopeWrite = "documents:write"
	ScopeRead  = "documents:read"
)

// Document kinds (eCH-0039 document types, simplified).
var documentKinds = []string{"certificate", "register-extract", "decision", "receipt", "other"}

// New builds the document service: the inbox (login required), the public
// verification page, share links, the delivery API and the login routes of
// package rp. It blocks until the IdP's discovery document is found or ctx
// ends (see rp.New); the background worker (notifications, retention) runs
// until ctx ends.
func New(ctx context.Context, cfg Config) (http.Handler, error) {
	s, h, err := build(ctx, cfg)
	if err != nil {
		return nil, err
	}
	go s.run(ctx)
	return h, nil
}

// build wires the service without starting the background worker.
func build(ctx context.Context, cfg Config) (*service, http.Handler, error) {
	pages, err := page.New(page.Site{Kind: page.Documents, Links: cfg.Links, Ready: []health.Check{{Name: "database", Run: cfg.DB.Ping}}}, cfg.RP.Logger)
	if err != nil {
		return nil, nil, err
	}
	s, err := newService(ctx, cfg, pages)
	if err != nil {
		return nil, nil, err
	}
	rc := s.cfg.RP
	rc.Pages = pages
	rc.OnSecurityEvent = s.onSecurityEvent
	client, err := rp.New(ctx, rc)
	if err != nil {
		return nil, nil, fmt.Errorf("document service: %w", err)
	}
	s.log = client.Logger()
	mux := http.NewServeMux()
	client.Mount(mux)
	pages.Mount(mux)
	s.routes(mux, client.RequireLogin)
	return s, client.SecureHeaders(mux), nil
}

// newService checks the configuration and opens the store.
func newService(ctx context.Context, cfg Config, pages *page.Renderer) (*service, error) {
	if cfg.DB == nil || cfg.Sealer == nil || cfg.Verifier == nil {
		return nil, errors.New("document service: DB, Sealer and Verifier are required")
	}
	if cfg.MaxPDFBytes == 0 {
		cfg.MaxPDFBytes = DefaultMaxPDFBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Poll == 0 {
		cfg.Poll = time.Second
	}
	if cfg.Issuer == "" {
		cfg.Issuer = "Kanton"
	}
	store, err := OpenStore(ctx, cfg.DB)
	if err != nil {
		return nil, err
	}
	log := cfg.RP.Logger
	if log == nil {
		log = slog.Default()
	}
	return &service{cfg: cfg, store: store, pages: pages, log: log, base: strings.TrimSuffix(cfg.RP.BaseURL, "/")}, nil
}

// routes registers the service's pages and API on mux; login wraps the
// handlers that need a session.
func (s *service) routes(mux *http.ServeMux, login func(http.Handler) http.Handler) {
	owner := func(h http.HandlerFunc) http.Handler { return login(h) }
	guard := formGuard()
	form := func(h http.HandlerFunc) http.Handler { return login(guard.Wrap(h)) }
	mux.Handle("GET /{$}", owner(s.inbox))
	mux.Handle("GET /d/{id}", owner(s.detail))
	mux.Handle("GET /d/{id}/download", owner(s.download))
	mux.Handle("POST /d/{id}/delete", form(s.delete))
	mux.Handle("POST /d/{id}/shares", form(s.createShare))
	mux.Handle("POST /d/{id}/shares/{share}/revoke", form(s.revokeShare))
	mux.HandleFunc("GET "+VerifyPath, s.verifyForm)
	mux.HandleFunc("POST "+VerifyPath, s.verify)
	mux.HandleFunc("GET /s/{token}", s.shareLanding)
	mux.HandleFunc("GET /s/{token}/download", s.shareDownload)
	mux.HandleFunc("GET "+OpenAPIPath, s.openAPI)
	if s.cfg.Auth != nil {
		mux.Handle("POST "+APIBase+"/documents", s.cfg.Auth.Require(ScopeWrite, http.HandlerFunc(s.deliverAPI)))
		mux.Handle("GET "+APIBase+"/documents/{id}", s.cfg.Auth.Require(ScopeRead, http.HandlerFunc(s.getAPI)))
	}
}

// formGuard is the CSRF protection of the owner's form posts
// (webkit.FormGuard): same-site posts carrying the session's CSRF token.
func formGuard() *webkit.FormGuard {
	return &webkit.FormGuard{
		Token: rp.FormToken,
		Refuse: func(w http.ResponseWriter, _ *http.Request, _ error) {
			http.Error(w, "invalid form", http.StatusForbidden)
		},
	}
}

// service holds what the handlers need.
type service struct {
	cfg   Config
	store *Store
	pages *page.Renderer
	log   *slog.Logger
	base  string // public origin, no trailing slash
}

// Jobs of the background worker.
const jobNotify = "documents.notify"

// run works the durable jobs (notifications) and purges documents whose
// retention ended, until ctx ends.
func (s *service) run(ctx context.Context) {
	w := &sqldb.Worker{DB: s.cfg.DB, Handlers: s.handlers(), Now: s.cfg.Now, Log: s.log, Poll: s.cfg.Poll}
	go func() { _ = w.Run(ctx) }()
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := s.store.PurgeExpired(ctx, s.cfg.Now()); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "retention purge failed", "error", err)
		} else if n > 0 {
			s.log.InfoContext(ctx, "documents past retention deleted", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// handlers are the worker's job handlers.
func (s *service) handlers() map[string]sqldb.Handler {
	return map[string]sqldb.Handler{jobNotify: s.sendNotification}
}

// newID returns a random UUID (version 4).
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// ownerOf returns whose documents a session sees (owner-or-acting).
func ownerOf(sess *rp.Session) Owner {
	kind, id := sess.Owner()
	if kind == rp.ActingOrganisation {
		return Owner{Kind: kind, ID: id}
	}
	return Owner{Kind: "person", Sub: id}
}

// visible reports whether the session may see d.
func visible(sess *rp.Session, d Document) bool {
	o := ownerOf(sess)
	return o.Kind == d.Owner.Kind && o.key() == d.Owner.key() && o.key() != ""
}

// title returns the document's title in lang, else German, else any.
func (d Document) title(lang string) string {
	if t := d.Title[lang]; t != "" {
		return t
	}
	if t := d.Title["de"]; t != "" {
		return t
	}
	for _, t := range d.Title {
		return t
	}
	return d.ID
}

// onSecurityEvent applies the IdP's Security Events (at rp.EventsPath):
// account-purged deletes the account's documents.
func (s *service) onSecurityEvent(ctx context.Context, ev rp.SecurityEvent) error {
	if ev.Type == rp.EventAccountPurged {
		return s.accountPurged(ctx, ev.Subject)
	}
	return nil
}

// accountPurged deletes the documents of a purged account; idempotent.
func (s *service) accountPurged(ctx context.Context, sub string) error {
	if sub == "" {
		return nil
	}
	n, err := s.store.DeleteOwner(ctx, Owner{Kind: "person", Sub: sub})
	if err != nil {
		return err
	}
	s.log.InfoContext(ctx, "account purged: documents deleted", "count", n)
	return nil
}
