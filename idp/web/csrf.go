package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
)

// CSRF protection has two layers, both applied to every page route in
// routes (never by a handler): Go's CrossOriginProtection (Sec-Fetch-Site /
// Origin) and formToken, a token bound to the browser's CSRF cookie that
// every state-changing form carries in its "csrf" field.

// smallFormMax bounds the body of the account console's forms
// (/account/...), which hold a few short fields.
const smallFormMax = 4096

// formToken checks the CSRF token of every state-changing request before
// the handler runs. A request without a valid token gets the error page
// (403) with a link back to the form, which carries a fresh token.
func (h *Handler) formToken(f http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			f(w, r)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/account/") {
			r.Body = http.MaxBytesReader(w, r.Body, smallFormMax)
		}
		if err := r.ParseForm(); err != nil {
			h.errorPage(w, r, http.StatusBadRequest, "err.bad_request")
			return
		}
		if !h.checkCSRF(r) {
			h.render(w, r, http.StatusForbidden, "error", h.lang(w, r), &errorView{MessageKey: "err.csrf", BackURL: h.formURL(r)})
			return
		}
		f(w, r)
	}
}

// formURL is the page that shows the form a refused POST came from: the
// same path when it has a page, keeping the flow's parameters; else "".
func (h *Handler) formURL(r *http.Request) string {
	get := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: r.URL.Path}, Host: r.Host, Header: http.Header{}}
	if _, pattern := h.mux.Handler(get); pattern == "" || pattern == "/" {
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

// csrfToken returns the form token bound to the browser's CSRF cookie
// (created when missing): HMAC(key, cookie).
func (h *Handler) csrfToken(w http.ResponseWriter, r *http.Request) string {
	name := h.cookieName("kc_csrf")
	c, err := r.Cookie(name)
	val := ""
	if err == nil && len(c.Value) >= 22 {
		val = c.Value
	} else {
		b := make([]byte, 18)
		rand.Read(b)
		val = base64.RawURLEncoding.EncodeToString(b)
		h.setCookie(w, name, val, 0)
		r.AddCookie(&http.Cookie{Name: name, Value: val})
	}
	m := hmac.New(sha256.New, h.cfg.CSRFKey)
	m.Write([]byte(val))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (h *Handler) checkCSRF(r *http.Request) bool {
	c, err := r.Cookie(h.cookieName("kc_csrf"))
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, h.cfg.CSRFKey)
	m.Write([]byte(c.Value))
	want := base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	return hmac.Equal([]byte(want), []byte(r.PostFormValue("csrf")))
}
