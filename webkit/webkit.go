// Package webkit is the small kit every web front of Kundencenter shares:
// the IdP's pages (idp/web) and the bundled services (services/...). It
// holds what must be the same everywhere and is easy to get wrong once:
// security headers, request IDs, the client IP behind trusted proxies,
// cookies, the CSRF guard of state-changing forms and the mapping of an
// error to a page's answer. It knows no domain package and no template.
package webkit

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// HSTS is the Strict-Transport-Security value of every origin served over
// TLS: two years, sub-domains included.
const HSTS = "max-age=63072000; includeSubDomains"

// Headers is the header policy of one origin.
type Headers struct {
	// CSP is the Content-Security-Policy; it must forbid framing
	// (frame-ancestors 'none') as X-Frame-Options does.
	CSP string
	// HSTS sends Strict-Transport-Security (the origin is served over TLS).
	HSTS bool
	// Cacheable reports paths whose responses may be stored (versioned
	// static files, discovery documents); nil: none. Every other response
	// gets Cache-Control: no-store, since pages show personal data.
	Cacheable func(path string) bool
}

// Wrap returns next with the policy's headers set on every response, a
// request ID (X-Request-ID, RequestID) in the response and the context.
func (p Headers) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Content-Security-Policy", p.CSP)
		if p.HSTS {
			h.Set("Strict-Transport-Security", HSTS)
		}
		if p.Cacheable == nil || !p.Cacheable(r.URL.Path) {
			h.Set("Cache-Control", "no-store")
		}
		id := NewRequestID()
		h.Set("X-Request-ID", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}

type requestIDKey struct{}

// RequestID is the ID Headers.Wrap gave the request: it links an error
// page to its log entry ("" outside Wrap).
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// LogID is the request ID to show on an error page and log with it:
// RequestID, or a new ID for a request that did not pass Headers.Wrap.
func LogID(ctx context.Context) string {
	if id := RequestID(ctx); id != "" {
		return id
	}
	return NewRequestID()
}

// NewRequestID returns a short random ID (12 characters).
func NewRequestID() string {
	b := make([]byte, 9)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ClientIP is the TCP peer, or the right-most X-Forwarded-For entry not
// added by a trusted proxy when the peer is one. Rate limits key on it, so
// a header set by the client itself is never believed.
func ClientIP(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	if !isTrusted(peer) {
		return peer.String()
	}
	parts := strings.Split(r.Header.Get("X-Forwarded-For"), ",")
	for i := len(parts) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(parts[i]))
		if err != nil {
			break
		}
		if !isTrusted(a) {
			return a.String()
		}
	}
	return peer.String()
}

// CookieName is base, __Host- prefixed (Secure, Path=/, no Domain) when
// the origin is served over TLS.
func CookieName(base string, secure bool) string {
	if secure {
		return "__Host-" + base
	}
	return base
}

// SetCookie sets an HttpOnly, SameSite=Lax cookie on Path=/; maxAge 0
// makes a session cookie, <0 deletes it.
func SetCookie(w http.ResponseWriter, name, value string, maxAge int, secure bool) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: secure, SameSite: http.SameSiteLaxMode})
}
