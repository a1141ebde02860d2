package web

import (
	"bytes"
	"log/slog"
	"net/http"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/provider"
	"github.com/kanton/kundencenter/idp/web/account"
	"github.com/kanton/kundencenter/idp/web/kit"
	"github.com/kanton/kundencenter/idp/web/orgs"
	"github.com/kanton/kundencenter/idp/web/signin"
	"github.com/kanton/kundencenter/templates"
)

// The configuration types live in the kit, which every area shares.
type (
	// Config configures the pages (kit.Config).
	Config = kit.Config
	// Service is a link to an integrated service.
	Service = kit.Service
	// Federation configures logins through upstream identity providers.
	Federation = kit.Federation
	// ConnectorOptions are the login page's settings of one connector.
	ConnectorOptions = kit.ConnectorOptions
	// Portal configures the portal pages.
	Portal = kit.Portal
)

// Step-up modes of ConnectorOptions.StepUp and the upstream callback path.
const (
	StepUpUpstream = kit.StepUpUpstream
	StepUpLocal    = kit.StepUpLocal
	CallbackPath   = kit.CallbackPath
)

// SessionCookieName is the SSO cookie's name (kit.SessionCookieName).
func SessionCookieName(secure bool) string { return kit.SessionCookieName(secure) }

// Handler serves the IdP's pages and protocol endpoints: the areas
// (signin, account, orgs) and the portal pages register on the kit's mux.
type Handler struct {
	*kit.Kit
	root http.Handler
}

// New builds the handler.
func New(cfg Config, svc *idp.Service, prov *provider.Provider, tpl *templates.Renderer, log *slog.Logger) *Handler {
	h := &Handler{Kit: kit.New(cfg, svc, prov, tpl, log)}
	signin.New(h.Kit).Routes()
	account.New(h.Kit).Routes()
	orgs.New(h.Kit).Routes()
	h.routes()
	h.root = h.Wrap(h.Mux)
	return h
}

// ServeHTTP serves a request with the kit's headers and request state.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.root.ServeHTTP(w, r) }

// routes registers the portal's pages, the APIs the services call, the
// static files, the dev outbox and, underneath, the OpenID provider.
func (h *Handler) routes() {
	h.portalRoutes() // portal.go
	h.Mux.Handle("GET /static/", templates.Static())
	h.Mux.HandleFunc("POST /api/notifications", h.notificationsAPI)
	h.Mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	if h.Cfg.DevOutbox != nil {
		h.Mux.Handle("/dev/outbox", h.PageHeaders(h.Cfg.DevOutbox.ServeHTTP))
		h.Mux.Handle("/dev/outbox/", h.PageHeaders(h.Cfg.DevOutbox.ServeHTTP))
	}
	// Everything else is the OpenID provider (discovery, JWKS, authorize,
	// token, userinfo, introspection, revocation, end_session).
	h.Mux.Handle("/", h.Prov.Handler())
	h.Mux.Handle("GET /authorize", h.authorizeErrors(h.Prov.Handler()))
}

// authorizeErrors turns the authorize endpoint's non-redirect errors (an
// unknown client or a redirect URI that is not registered: RFC 6749
// §4.1.2.1 forbids redirecting then) from JSON into the friendly error page
// in the user's language; the OAuth detail goes to the log.
func (h *Handler) authorizeErrors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{header: http.Header{}, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		if rec.status < 400 {
			for k, v := range rec.header {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.status)
			w.Write(rec.body.Bytes())
			return
		}
		h.Log.WarnContext(r.Context(), "authorize request refused", "status", rec.status,
			"client_id", r.URL.Query().Get("client_id"), "detail", rec.body.String(), "request_id", kit.RequestID(r.Context()))
		h.ErrorPage(w, r, rec.status, "err.bad_request")
	})
}

// recorder buffers a response (the authorize endpoint's are small).
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }

func (r *recorder) WriteHeader(status int) { r.status = status }
