// Package account is the account area of the IdP's pages: "Mein Konto",
// security (second factors, passkeys, the sign-in history), linked
// upstream logins, my data with the e-mail change and the deletion of
// the account, and profiles. It runs on the kit shared with the other
// areas.
package account

import (
	"github.com/kanton/kundencenter/idp/web/kit"

	"net/http"
)

// Handler serves the area's pages on the kit's mux.
type Handler struct{ *kit.Kit }

// New returns the area's handler.
func New(k *kit.Kit) *Handler { return &Handler{Kit: k} }

// Routes registers the account's pages: "Mein Konto", security (second
// factors, passkeys, sign-in history), linked logins, my data, e-mail
// change, deletion and profiles.
func (h *Handler) Routes() {
	h.Page("GET /{$}", h.home)
	if h.Cfg.Factors != nil {
		h.Page("GET /security", h.security)
		h.Page("POST /security/phone", h.phoneStart)
		h.Page("POST /security/phone/confirm", h.phoneConfirm)
		h.Page("POST /security/phone/remove", h.phoneRemove)
		h.Page("POST /security/mfa", h.mfaSwitch)
		h.Page("POST /security/recovery", h.recoveryNew)
	}
	if h.Cfg.Factors != nil && h.Cfg.Passkeys != nil {
		h.Page("POST /security/passkeys", h.passkeyAdd)
		h.Page("POST /security/passkeys/remove", h.passkeyRemove)
	}
	h.Page("GET "+pathHistory, h.securityHistory) // history.go
	if h.Cfg.Federation != nil && h.Cfg.Federation.Flow != nil {
		h.Page("POST /account/links/remove", h.fedUnlink)
	}
	h.mydataRoutes()
	h.profileRoutes()
}

// home is the IdP's own start page ("Mein Konto"), for a logged-in user.
func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	s, ok := h.Session(r)
	if !ok {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	a, err := h.Svc.Account(r.Context(), s.AccountID)
	if err != nil {
		h.ErrorPage(w, r, http.StatusInternalServerError, "err.unavailable")
		return
	}
	pd, err := h.Svc.Personal(a)
	if err != nil {
		h.ErrorPage(w, r, http.StatusInternalServerError, "err.unavailable")
		return
	}
	v := &accountView{Name: pd.GivenName + " " + pd.FamilyName, Email: pd.Email, KontoID: a.KontoID}
	for _, s := range h.Cfg.Services {
		v.Services = append(v.Services, serviceLink{Name: h.ServiceName(h.LangOf(r), s.ID, s.Name), URL: s.URL})
	}
	h.accountLinks(r, a.ID, v)
	h.Render(w, r, http.StatusOK, "account", h.Lang(w, r), v)
}
