package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/kanton/kundencenter/delegation"
	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/provider"
	"github.com/kanton/kundencenter/mfa"
	"github.com/kanton/kundencenter/mfa/passkey"
	"github.com/kanton/kundencenter/templates"
)

// Config configures the pages.
type Config struct {
	// Issuer is the IdP's public base URL.
	Issuer string
	// Secure marks cookies Secure with the __Host- prefix and sends HSTS; on
	// whenever the issuer is https.
	Secure bool
	// CSRFKey keys the CSRF tokens (32 random bytes, same on every instance).
	CSRFKey []byte
	// TrustedProxies are the peers whose X-Forwarded-For is believed for the
	// client IP used in rate limits; empty means the TCP peer is the client.
	TrustedProxies []netip.Prefix
	// DevOutbox, when set (embedded mode without SMTP), is served at /dev/outbox.
	DevOutbox http.Handler
	// Services are the bundled services linked from the account page.
	Services []Service
	// Factors manages second factors (SMS, recovery codes); nil disables
	// the security page and every second-factor step.
	Factors *mfa.Factors
	// Passkeys runs WebAuthn ceremonies; nil hides passkeys.
	Passkeys *passkey.Service
	// Acting decides whom a login may act for (organisations,
	// representations): "Für wen handeln Sie?". nil: nobody else.
	Acting idp.ActingResolver
	// Orgs runs the organisation pages ("Organisationen", /orgs); nil
	// disables them.
	Orgs *delegation.Service
	// Federation runs logins through upstream identity providers (SwissID,
	// AGOV; see federation.go); nil hides them.
	Federation *Federation
	// Portal configures the portal pages (navigation, catalogue, contact,
	// overview, enablement; see portal.go).
	Portal Portal
}

// Service is a link to an integrated service.
type Service struct{ ID, Name, URL string }

// Handler serves the IdP's pages and protocol endpoints.
type Handler struct {
	cfg  Config
	svc  *idp.Service
	prov *provider.Provider
	tpl  *templates.Renderer
	log  *slog.Logger
	mux  *http.ServeMux
}

// New builds the handler.
func New(cfg Config, svc *idp.Service, prov *provider.Provider, tpl *templates.Renderer, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.Default()
	}
	h := &Handler{cfg: cfg, svc: svc, prov: prov, tpl: tpl, log: log, mux: http.NewServeMux()}
	h.routes()
	return h
}

// SessionCookieName is the SSO cookie's name: __Host- prefixed (Secure,
// Path=/, no Domain) whenever the IdP is served over TLS.
func SessionCookieName(secure bool) string {
	if secure {
		return "__Host-kc_session"
	}
	return "kc_session"
}

func (h *Handler) cookieName(base string) string {
	if h.cfg.Secure {
		return "__Host-" + base
	}
	return base
}

func (h *Handler) routes() {
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.errorPage(w, r, http.StatusForbidden, "err.csrf")
	}))
	ui := func(pattern string, f http.HandlerFunc) {
		h.mux.Handle(pattern, csrf.Handler(h.pageHeaders(h.formToken(f))))
	}
	ui("GET /{$}", h.home)
	ui("GET /login", h.loginForm)
	ui("POST /login", h.login)
	ui("GET /login/error", h.requestError)
	ui("GET /register", h.registerForm)
	ui("POST /register", h.register)
	ui("GET /activate", h.activateForm)
	ui("POST /activate", h.activate)
	ui("GET /reset", h.resetRequestForm)
	ui("POST /reset", h.resetRequest)
	ui("GET /reset/confirm", h.resetForm)
	ui("POST /reset/confirm", h.reset)
	ui("GET /logout", h.logoutForm)
	ui("POST /logout", h.logout)
	ui("GET /login/mfa", h.mfaForm)
	ui("POST /login/mfa/sms", h.mfaSMSSend)
	ui("POST /login/mfa/sms/verify", h.mfaSMSVerify)
	ui("POST /login/mfa/recovery", h.mfaRecovery)
	ui("POST /login/mfa/cancel", h.mfaCancel)
	ui("GET /login/continue", h.continueLogin)
	ui("GET /login/context", h.contextForm)
	ui("POST /login/context", h.context)
	if h.cfg.Factors != nil {
		ui("GET /security", h.security)
		ui("POST /security/phone", h.phoneStart)
		ui("POST /security/phone/confirm", h.phoneConfirm)
		ui("POST /security/phone/remove", h.phoneRemove)
		ui("POST /security/mfa", h.mfaSwitch)
		ui("POST /security/recovery", h.recoveryNew)
	}
	if h.cfg.Factors != nil && h.cfg.Passkeys != nil {
		ui("POST /login/mfa/passkey", h.passkeyMFA)
		ui("POST /login/passkey/start", h.passkeyStart)
		ui("POST /login/passkey", h.passkeyFinish)
		ui("POST /security/passkeys", h.passkeyAdd)
		ui("POST /security/passkeys/remove", h.passkeyRemove)
	}
	ui("GET "+pathHistory, h.securityHistory) // history.go
	h.orgRoutes(ui)
	h.repRoutes(ui)
	h.federationRoutes(ui)
	h.mydataRoutes(ui)
	h.profileRoutes(ui)
	h.portalRoutes(ui) // portal.go
	h.mux.Handle("GET /static/", templates.Static())
	h.mux.HandleFunc("POST /api/representation-actions", h.actionsAPI)
	h.mux.HandleFunc("POST /api/notifications", h.notificationsAPI)
	h.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	if h.cfg.DevOutbox != nil {
		h.mux.Handle("/dev/outbox", h.pageHeaders(h.cfg.DevOutbox.ServeHTTP))
		h.mux.Handle("/dev/outbox/", h.pageHeaders(h.cfg.DevOutbox.ServeHTTP))
	}
	// Everything else is the OpenID provider (discovery, JWKS, authorize,
	// token, userinfo, introspection, revocation, end_session).
	h.mux.Handle("/", h.prov.Handler())
	h.mux.Handle("GET /authorize", h.authorizeErrors(h.prov.Handler()))
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
		h.log.WarnContext(r.Context(), "authorize request refused", "status", rec.status,
			"client_id", r.URL.Query().Get("client_id"), "detail", rec.body.String(), "request_id", requestID(r.Context()))
		h.errorPage(w, r, rec.status, "err.bad_request")
	})
}

// recorder buffers a response (the authorize endpoint's are small).
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(status int)      { r.status = status }

// ServeHTTP adds the headers every response gets and a request ID.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
	if h.cfg.Secure {
		hd.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	}
	if !strings.HasPrefix(r.URL.Path, "/static/") && !strings.HasPrefix(r.URL.Path, "/.well-known/") && r.URL.Path != "/keys" {
		hd.Set("Cache-Control", "no-store")
	}
	id := newRequestID()
	hd.Set("X-Request-ID", id)
	ctx := idp.WithClientIP(context.WithValue(r.Context(), requestIDKey{}, id), h.clientIP(r))
	h.mux.ServeHTTP(w, r.WithContext(context.WithValue(ctx, requestStateKey{}, &requestState{})))
}

type requestIDKey struct{}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

func newRequestID() string {
	b := make([]byte, 9)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// pageHeaders marks a page as not to be stored (it may show personal data).
// maxPageBody bounds the body of every page request.
const maxPageBody = 256 << 10

func (h *Handler) pageHeaders(f http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Pragma", "no-cache")
		if r.Body != nil {
			// No page takes more: a huge body is cut before it is parsed
			// or a password in it is hashed.
			r.Body = http.MaxBytesReader(w, r.Body, maxPageBody)
		}
		f(w, r)
	})
}

// clientIP is the TCP peer, or the right-most X-Forwarded-For entry not
// added by a trusted proxy when the peer is one.
func (h *Handler) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	trusted := func(a netip.Addr) bool {
		for _, p := range h.cfg.TrustedProxies {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	if !trusted(peer) {
		return peer.String()
	}
	parts := strings.Split(r.Header.Get("X-Forwarded-For"), ",")
	for i := len(parts) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(parts[i]))
		if err != nil {
			break
		}
		if !trusted(a) {
			return a.String()
		}
	}
	return peer.String()
}

// setCookie sets an HttpOnly, SameSite=Lax cookie on Path=/; maxAge 0 = session cookie, <0 = delete.
func (h *Handler) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: h.cfg.Secure, SameSite: http.SameSiteLaxMode})
}
