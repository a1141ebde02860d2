package signin

import (
	"net/http"
	"net/url"
)

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
	if _, err := h.Prov.AuthRequest(r.Context(), id); err != nil {
		return
	}
	h.SetCookie(w, h.CookieName(resetReturnCookie), id, 3600)
}

// resetReturnLogin is the login after a reset: for the remembered auth
// request while it exists, else the plain login.
func (h *Handler) resetReturnLogin(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(h.CookieName(resetReturnCookie))
	if err != nil || c.Value == "" {
		return "/login"
	}
	h.SetCookie(w, h.CookieName(resetReturnCookie), "", -1)
	if _, err := h.Prov.AuthRequest(r.Context(), c.Value); err != nil {
		return "/login"
	}
	return "/login?authRequestID=" + url.QueryEscape(c.Value)
}
