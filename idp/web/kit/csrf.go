package kit

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/kanton/kundencenter/webkit"
)

// CSRF protection is applied to every page route by Page, never by a
// handler: webkit.FormGuard checks that a state-changing request comes
// from the same site (Sec-Fetch-Site / Origin) and carries, in its "csrf"
// field, the token bound to the browser's CSRF cookie (CSRFToken).

// smallFormMax bounds the body of the account console's forms
// (/account/...), which hold a few short fields.
const smallFormMax = 4096

func formMax(r *http.Request) int64 {
	if strings.HasPrefix(r.URL.Path, "/account/") {
		return smallFormMax
	}
	return maxPageBody
}

// refuseForm answers a refused form: a cross-site post and a post without
// a valid token get the error page (403), the latter with a link back to
// the form, which carries a fresh token; an unreadable body is a 400.
func (h *Kit) refuseForm(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, webkit.ErrCrossOrigin):
		h.ErrorPage(w, r, http.StatusForbidden, "err.csrf")
	case errors.Is(err, webkit.ErrFormToken):
		h.Render(w, r, http.StatusForbidden, "error", h.Lang(w, r), &ErrorView{MessageKey: "err.csrf", BackURL: h.formURL(r)})
	default:
		h.ErrorPage(w, r, http.StatusBadRequest, "err.bad_request")
	}
}

// formURL is the page that shows the form a refused POST came from: the
// same path when it has a page, keeping the flow's parameters; else "".
func (h *Kit) formURL(r *http.Request) string {
	get := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: r.URL.Path}, Host: r.Host, Header: http.Header{}}
	if _, pattern := h.Mux.Handler(get); pattern == "" || pattern == "/" {
		return ""
	}
	q := url.Values{}
	for _, k := range []string{"authRequestID", "token", "logoutID"} {
		if v := r.PostFormValue(k); v != "" {
			q.Set(k, v)
		}
	}
	u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
	return u.String()
}

// CSRFToken returns the form token bound to the browser's CSRF cookie
// (created when missing): HMAC(key, cookie).
func (h *Kit) CSRFToken(w http.ResponseWriter, r *http.Request) string {
	name := h.CookieName("kc_csrf")
	c, err := r.Cookie(name)
	val := ""
	if err == nil && len(c.Value) >= 22 {
		val = c.Value
	} else {
		b := make([]byte, 18)
		rand.Read(b)
		val = base64.RawURLEncoding.EncodeToString(b)
		h.SetCookie(w, name, val, 0)
		r.AddCookie(&http.Cookie{Name: name, Value: val})
	}
	return h.tokenFor(val)
}

// expectedToken is the token a form of this browser must carry ("" without
// a CSRF cookie: no token is valid then).
func (h *Kit) expectedToken(r *http.Request) string {
	c, err := r.Cookie(h.CookieName("kc_csrf"))
	if err != nil || c.Value == "" {
		return ""
	}
	return h.tokenFor(c.Value)
}

func (h *Kit) tokenFor(cookie string) string {
	m := hmac.New(sha256.New, h.Cfg.CSRFKey)
	m.Write([]byte(cookie))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
