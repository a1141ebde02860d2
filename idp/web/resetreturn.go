package web

import (
	"net/http"
	"net/url"
)

// After a password reset the person continues to the service where the
// login started (issue 14): the login page's "Passwort vergessen?" link
// carries the auth request, the reset form remembers it in a short-lived
// cookie of this browser, and the "Passwort geändert" page logs in for
// that request while it is still open. A reset link opened in another
// browser ends at the plain login, as before.

const resetReturnCookie = "kc_reset_return"

// resetURL is the "Passwort vergessen?" link for an auth request.
func resetURL(authRequestID string) string {
	if authRequestID == "" {
		return "/reset"
	}
	return "/reset?authRequestID=" + url.QueryEscape(authRequestID)
}

// rememberResetReturn keeps the auth request of a reset request for the
// page after the reset.
func (h *Handler) rememberResetReturn(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("authRequestID")
	if id == "" {
		return
	}
	if _, err := h.prov.AuthRequest(r.Context(), id); err != nil {
		return
	}
	h.setCookie(w, h.cookieName(resetReturnCookie), id, 3600)
}

// resetReturnLogin is the login after a reset: for the remembered auth
// request while it exists, else the plain login.
func (h *Handler) resetReturnLogin(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(h.cookieName(resetReturnCookie))
	if err != nil || c.Value == "" {
		return "/login"
	}
	h.setCookie(w, h.cookieName(resetReturnCookie), "", -1)
	if _, err := h.prov.AuthRequest(r.Context(), c.Value); err != nil {
		return "/login"
	}
	return "/login?authRequestID=" + url.QueryEscape(c.Value)
}
