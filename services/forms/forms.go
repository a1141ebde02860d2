package forms

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/kanton/kundencenter/health"
	"github.com/kanton/kundencenter/keyring"
	"github.com/kanton/kundencenter/services/api"
	"github.com/kanton/kundencenter/services/forms/definitions"
	"github.com/kanton/kundencenter/services/forms/form"
	"github.com/kanton/kundencenter/services/forms/payment"
	"github.com/kanton/kundencenter/services/page"
	"github.com/kanton/kundencenter/services/rp"
	"github.com/kanton/kundencenter/store/sqldb"
	"github.com/kanton/kundencenter/templates"
	"github.com/kanton/kundencenter/webkit"
)

// Defaults of Config.
const (
	DefaultDraftRetention = 90 * 24 * time.Hour
	DefaultReminderBefore = 7 * 24 * time.Hour
	MaxFileBytes          = 10 << 20 // per attachment
	MaxDraftFileBytes     = 25 << 20 // all attachments of a draft
)

// Scopes are the scopes the service asks for when Config.RP.Scopes is
// empty: the contact data that pre-fill the forms.
var Scopes = []string{"openid", "profile", "email", "address", "phone"}

// Notifier asks the IdP to send a short, general e-mail (api.Notifier).
type Notifier interface {
	Notify(ctx context.Context, n api.Notification) error
}

// Scanner checks an uploaded file (e.g. for malware) before it is stored;
// an error refuses the file.
type Scanner interface {
	Scan(ctx context.Context, name, contentType string, data []byte) error
}

// Config configures the form service.
type Config struct {
	RP    rp.Config  // login plumbing; RP.Pages is set by New
	Links page.Links // base URLs of the three services, for the navigation

	DB        *sqldb.DB     // the service's own database (migrated by New)
	Ring      *keyring.Ring // seals answers and files at rest
	Catalogue *form.Catalogue
	// Payments is the payment provider; PaymentPage is the origin of its
	// payment page (allowed as a form target by the page's CSP).
	Payments    payment.Provider
	PaymentPage string
	Cases       Cases
	Notifier    Notifier
	// Receipts records a sending for a represented person in that
	// person's timeline at the IdP; nil = not recorded.
	Receipts Receipts
	Scanner  Scanner // nil = no scan

	DraftRetention time.Duration // 0 = DefaultDraftRetention
	ReminderBefore time.Duration // 0 = DefaultReminderBefore
	Now            func() time.Time
	Logger         *slog.Logger
}

// Validate reports every problem of the configuration at once.
func (c Config) Validate() error {
	var errs []error
	if c.DB == nil {
		errs = append(errs, errors.New("forms: DB is required"))
	}
	if c.Ring == nil {
		errs = append(errs, errors.New("forms: Ring is required (answers are sealed at rest)"))
	}
	if c.Payments == nil {
		errs = append(errs, errors.New("forms: Payments is required"))
	}
	if c.Cases == nil {
		errs = append(errs, errors.New("forms: Cases is required"))
	}
	if c.Notifier == nil {
		errs = append(errs, errors.New("forms: Notifier is required"))
	}
	if c.DraftRetention < 0 || c.ReminderBefore < 0 {
		errs = append(errs, errors.New("forms: DraftRetention and ReminderBefore must not be negative"))
	}
	return errors.Join(errs...)
}

// Service is the form service: its pages (an http.Handler) and its jobs.
type Service struct {
	handler http.Handler
	s       *service
}

// ServeHTTP serves the pages, the payment webhook and the login routes.
func (x *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) { x.handler.ServeHTTP(w, r) }

// Jobs returns the handlers of the service's jobs, for a sqldb.Worker.
func (x *Service) Jobs() map[string]sqldb.Handler {
	return map[string]sqldb.Handler{jobCase: x.s.caseJob, jobNotify: x.s.notifyJob, jobSweep: x.s.sweepJob,
		jobReceipt: x.s.receiptJob}
}

// RunJobs works the service's jobs until ctx ends.
func (x *Service) RunJobs(ctx context.Context) error {
	w := &sqldb.Worker{DB: x.s.db.db, Handlers: x.Jobs(), Now: x.s.now, Log: x.s.log}
	return w.Run(ctx)
}

// securityEvent handles the IdP's Security Events: account-purged deletes
// the open drafts (with their files) the person started or owns; sent
// submissions stay, as their cases are being handled.
func (s *service) securityEvent(ctx context.Context, ev rp.SecurityEvent) error {
	if ev.Type != rp.EventAccountPurged {
		return nil
	}
	n, err := s.db.purgeAccount(ctx, ev.Subject)
	if err != nil {
		return err
	}
	s.log.InfoContext(ctx, "account purged: drafts deleted", "drafts", n)
	return nil
}

// New builds the form service. It migrates the tables, loads the form
// definitions (the embedded ones when cfg.Catalogue is nil), queues the
// daily draft sweep and blocks until the IdP's discovery document is found
// or ctx ends (see rp.New).
func New(ctx context.Context, cfg Config) (*Service, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := Migrate(ctx, cfg.DB); err != nil {
		return nil, err
	}
	pages, err := page.New(page.Site{Kind: page.Forms, Links: cfg.Links, Ready: []health.Check{{Name: "database", Run: cfg.DB.Ping}}}, cfg.Logger)
	if err != nil {
		return nil, err
	}
	s := newService(cfg, pages)
	rc := cfg.RP
	rc.Pages = pages
	rc.OnSecurityEvent = s.securityEvent
	if len(rc.Scopes) == 0 {
		rc.Scopes = Scopes
	}
	client, err := rp.New(ctx, rc)
	if err != nil {
		return nil, fmt.Errorf("form service: %w", err)
	}
	if err := s.db.db.Enqueue(ctx, jobSweep, cfg.Now().UTC().Format(time.DateOnly), nil, cfg.Now()); err != nil {
		return nil, fmt.Errorf("queue the draft sweep: %w", err)
	}
	mux := http.NewServeMux()
	client.Mount(mux)
	pages.Mount(mux)
	s.routes(mux, client.RequireLogin)
	return &Service{handler: client.SecureHeaders(mux), s: s}, nil
}

// withDefaults validates c and fills in the defaults.
func (c Config) withDefaults() (Config, error) {
	if err := c.Validate(); err != nil {
		return c, err
	}
	if c.Catalogue == nil {
		cat, err := form.Load(definitions.FS)
		if err != nil {
			return c, err
		}
		c.Catalogue = cat
	}
	if c.DraftRetention == 0 {
		c.DraftRetention = DefaultDraftRetention
	}
	if c.ReminderBefore == 0 {
		c.ReminderBefore = DefaultReminderBefore
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

func newService(cfg Config, pages *page.Renderer) *service {
	return &service{
		cfg: cfg, pages: pages, db: &store{db: cfg.DB, ring: cfg.Ring}, cat: cfg.Catalogue,
		now: cfg.Now, log: cfg.Logger,
		base: strings.TrimSuffix(cfg.RP.BaseURL, "/"),
	}
}

// service holds what the handlers need.
type service struct {
	cfg   Config
	pages *page.Renderer
	db    *store
	cat   *form.Catalogue
	now   func() time.Time
	log   *slog.Logger
	base  string // the service's origin
}

// Paths.
const (
	webhookPath = "/payments/datatrans/webhook"
)

// routes registers the pages on mux; login wraps those that need a session.
func (s *service) routes(mux *http.ServeMux, login func(http.Handler) http.Handler) {
	get := func(pattern string, h http.HandlerFunc) { mux.Handle("GET "+pattern, login(s.withSession(h))) }
	guard := s.formGuard()
	post := func(pattern string, h http.HandlerFunc) {
		mux.Handle("POST "+pattern, login(s.withSession(guard.Wrap(h).ServeHTTP)))
	}
	get("/{$}", s.catalogue)
	get("/forms/{form}", s.start)
	post("/forms/{form}", s.startDraft)
	get("/drafts", s.draftList)
	get("/drafts/{draft}", s.resume)
	post("/drafts/{draft}/delete", s.deleteDraft)
	get("/drafts/{draft}/pages/{page}", s.question)
	post("/drafts/{draft}/pages/{page}", s.answer)
	get("/drafts/{draft}/check", s.check)
	post("/drafts/{draft}/send", s.send)
	get("/drafts/{draft}/payments/{payment}/return", s.paymentReturn)
	get("/submissions/{submission}", s.confirmation)
	post("/submissions/{submission}/reuse", s.reuse)
	get("/submissions/{submission}/receipt.pdf", s.receipt)
	mux.HandleFunc("POST "+webhookPath, s.webhook)
	mux.HandleFunc("GET /forms.css", stylesheet)
}

// request carries the session facts a handler needs.
type request struct {
	sess  *rp.Session
	owner Owner
	lang  string
}

type requestKey struct{}

// withSession puts the request facts into the context.
func (s *service) withSession(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, ok := rp.SessionFrom(r.Context())
		if !ok {
			http.Redirect(w, r, rp.LoginPath, http.StatusSeeOther)
			return
		}
		kind, id := sess.Owner()
		q := &request{sess: sess, owner: Owner{Kind: kind, ID: id}, lang: page.Lang(r)}
		h(w, r.WithContext(context.WithValue(r.Context(), requestKey{}, q)))
	}
}

func from(r *http.Request) *request { return r.Context().Value(requestKey{}).(*request) }

// audience is whom the session acts as: person, organisation or
// representative.
func (q *request) audience() string {
	switch {
	case q.sess.Acting == nil:
		return form.AudiencePerson
	case q.sess.Acting.Kind == rp.ActingOrganisation:
		return form.AudienceOrganisation
	}
	return form.AudienceRepresentative
}

// Body limits of the form posts: a question page may carry a file, the
// other posts only a few fields.
const (
	maxUploadPost = MaxFileBytes + 1<<20
	maxPlainPost  = 256 << 10
)

// answerRoute is the pattern of the one post that carries uploads.
const answerRoute = "POST /drafts/{draft}/pages/{page}"

// formGuard is the CSRF protection of every state-changing page route
// (webkit.FormGuard): same-site posts carrying the session's CSRF token
// only; anything else gets the friendly 403 page.
func (s *service) formGuard() *webkit.FormGuard {
	return &webkit.FormGuard{
		Token: rp.FormToken,
		Refuse: func(w http.ResponseWriter, r *http.Request, err error) {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				s.fail(w, r, http.StatusRequestEntityTooLarge, "forms.error.too_large", err)
				return
			}
			s.fail(w, r, http.StatusForbidden, "forms.error.forbidden", err)
		},
		MaxBody: func(r *http.Request) int64 {
			if r.Pattern == answerRoute {
				return maxUploadPost
			}
			return maxPlainPost
		},
	}
}

// layout returns the page layout for the request.
func (s *service) layout(r *http.Request, titleKey string) page.Layout {
	q := from(r)
	l := s.pages.Layout(r, titleKey)
	l.User, l.For, l.CSRF = q.sess.DisplayName(), q.sess.For, q.sess.CSRF
	return l
}

// messagePage is the view model of a page that only says something.
type messagePage struct {
	page.Layout
	Heading   string
	Text      string
	RequestID string
	Links     []link
}

type link struct{ Text, URL string }

// fail logs err and shows a friendly page with the message key msgKey.
func (s *service) fail(w http.ResponseWriter, r *http.Request, status int, msgKey string, err error) {
	id := webkit.LogID(r.Context())
	level := s.log.WarnContext
	if status >= 500 {
		level = s.log.ErrorContext
	}
	level(r.Context(), "form service refused a request", "request_id", id, "path", r.URL.Path, "status", status, "error", err)
	l := s.layout(r, "forms.error.title")
	s.pages.Render(w, r, status, "forms/message", messagePage{
		Layout: l, Heading: s.pages.Message(l.Lang, "forms.error.title"), Text: s.pages.Message(l.Lang, msgKey),
		RequestID: id, Links: []link{{s.pages.Message(l.Lang, "forms.catalogue.back"), "/"}},
	})
}

// notFound answers 404 with the friendly page.
func (s *service) notFound(w http.ResponseWriter, r *http.Request, err error) {
	s.fail(w, r, http.StatusNotFound, "forms.error.not_found", err)
}

// stepUp sends the browser to a login at the form's level and back to the
// current page, or says why the form cannot be used after a step-up that
// did not reach the level. It returns false when the handler must stop.
func (s *service) levelOK(w http.ResponseWriter, r *http.Request, d *form.Definition) bool {
	q := from(r)
	if form.LevelReached(q.sess.ACR, d.Level) {
		return true
	}
	if r.Method == http.MethodGet && r.URL.Query().Get("stepup") == "" {
		back := r.URL.Path + "?stepup=1"
		http.Redirect(w, r, rp.LoginPath+"?return="+url.QueryEscape(back)+"&acr_values="+url.QueryEscape(form.Levels[d.Level]), http.StatusSeeOther)
		return false
	}
	l := s.layout(r, "forms.level.title")
	s.pages.Render(w, r, http.StatusForbidden, "forms/message", messagePage{
		Layout: l, Heading: s.pages.Message(l.Lang, "forms.level.title"), Text: s.pages.Message(l.Lang, "forms.level.text"),
		Links: []link{{s.pages.Message(l.Lang, "forms.catalogue.back"), "/"}},
	})
	return false
}

// stylesheet serves the form pages' stylesheet (templates/services/forms/forms.css).
func stylesheet(w http.ResponseWriter, r *http.Request) {
	css, err := fs.ReadFile(templates.ServiceFS, "services/forms/forms.css")
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(css)
}
