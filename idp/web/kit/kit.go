package kit

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/provider"
	"github.com/kanton/kundencenter/templates"

	"github.com/kanton/kundencenter/webkit"
)

// Kit is what every area of the IdP's pages shares: the configuration,
// the services they call, the templates, the log and the mux the areas
// register their pages on (Page).
type Kit struct {
	Cfg  Config
	Svc  *idp.Service
	Prov *provider.Provider
	Tpl  *templates.Renderer
	Log  *slog.Logger
	Mux  *http.ServeMux

	headers webkit.Headers
	forms   webkit.FormGuard
}

// New returns the kit.
func New(cfg Config, svc *idp.Service, prov *provider.Provider, tpl *templates.Renderer, log *slog.Logger) *Kit {
	if log == nil {
		log = slog.Default()
	}
	k := &Kit{Cfg: cfg, Svc: svc, Prov: prov, Tpl: tpl, Log: log, Mux: http.NewServeMux()}
	k.headers = webkit.Headers{
		CSP: "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
			"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
		HSTS: cfg.Secure,
		Cacheable: func(path string) bool {
			return strings.HasPrefix(path, "/static/") || strings.HasPrefix(path, "/.well-known/") || path == "/keys"
		},
	}
	k.forms = webkit.FormGuard{Token: k.expectedToken, Refuse: k.refuseForm, MaxBody: formMax}
	return k
}

// Page registers a page: a handler of an area behind the CSRF guard of
// every state-changing form (csrf.go) and PageHeaders.
func (h *Kit) Page(pattern string, f http.HandlerFunc) {
	h.Mux.Handle(pattern, h.PageHeaders(h.forms.Wrap(f).ServeHTTP))
}

// Wrap gives every response the security headers and a request ID
// (webkit.Headers), and every request the client IP (for rate limits)
// and the state it loads at most once (session.go).
func (h *Kit) Wrap(next http.Handler) http.Handler {
	return h.headers.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := idp.WithClientIP(r.Context(), h.ClientIP(r))
		next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, requestStateKey{}, &requestState{})))
	}))
}

// RequestID is the request's ID (webkit.Headers): error pages show it,
// log entries carry it.
func RequestID(ctx context.Context) string { return webkit.RequestID(ctx) }

// SessionCookieName is the SSO cookie's name: __Host- prefixed (Secure,
// Path=/, no Domain) whenever the IdP is served over TLS.
func SessionCookieName(secure bool) string { return webkit.CookieName("kc_session", secure) }

// CookieName is base, __Host- prefixed when the IdP is served over TLS.
func (h *Kit) CookieName(base string) string { return webkit.CookieName(base, h.Cfg.Secure) }

// maxPageBody bounds the body of every page request.
const maxPageBody = 256 << 10

// PageHeaders marks a page as not to be stored (it may show personal
// data) and bounds its body: a huge body is cut before it is parsed or a
// password in it is hashed.
func (h *Kit) PageHeaders(f http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Pragma", "no-cache")
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, maxPageBody)
		}
		f(w, r)
	})
}

// ClientIP is the TCP peer, or the right-most X-Forwarded-For entry not
// added by a trusted proxy when the peer is one.
func (h *Kit) ClientIP(r *http.Request) string { return webkit.ClientIP(r, h.Cfg.TrustedProxies) }

// SetCookie sets an HttpOnly, SameSite=Lax cookie on Path=/; maxAge 0 =
// session cookie, <0 = delete.
func (h *Kit) SetCookie(w http.ResponseWriter, name, value string, maxAge int) {
	webkit.SetCookie(w, name, value, maxAge, h.Cfg.Secure)
}
