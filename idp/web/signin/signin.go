// Package signin is the login area of the IdP's pages: the first factor
// (password, passkey, upstream identity providers such as SwissID), the
// second factor and enrolment, the acting context ("Für wen handeln
// Sie?") and profile choice, the enablement gate, registration,
// activation, password reset and logout. The decisions are in idp/login
// (which step comes next) and idp; this package turns them into pages
// and redirects, on the kit shared with the other areas.
package signin

import (
	"github.com/kanton/kundencenter/idp/web/kit"
)

// Handler serves the area's pages on the kit's mux.
type Handler struct{ *kit.Kit }

// New returns the area's handler.
func New(k *kit.Kit) *Handler { return &Handler{Kit: k} }

// Routes registers the login's pages: the first factor (password,
// passkey, upstream providers), the second factor, the acting context and
// profile choice, enablement, registration, activation, reset and logout.
func (h *Handler) Routes() {
	h.Page("GET /login", h.loginForm)
	h.Page("POST /login", h.login)
	h.Page("GET /login/error", h.requestError)
	h.Page("GET /register", h.registerForm)
	h.Page("POST /register", h.register)
	h.Page("GET /activate", h.activateForm)
	h.Page("POST /activate", h.activate)
	h.Page("GET /reset", h.resetRequestForm)
	h.Page("POST /reset", h.resetRequest)
	h.Page("GET /reset/confirm", h.resetForm)
	h.Page("POST /reset/confirm", h.reset)
	h.Page("GET /logout", h.logoutForm)
	h.Page("POST /logout", h.logout)
	h.Page("GET /login/mfa", h.mfaForm)
	h.Page("POST /login/mfa/sms", h.mfaSMSSend)
	h.Page("POST /login/mfa/sms/verify", h.mfaSMSVerify)
	h.Page("POST /login/mfa/recovery", h.mfaRecovery)
	h.Page("POST /login/mfa/cancel", h.mfaCancel)
	h.Page("GET /login/continue", h.continueLogin)
	h.Page("GET /login/context", h.contextForm)
	h.Page("POST /login/context", h.context)
	h.Page("GET "+pathLoginProfile, h.loginProfileForm)
	h.Page("POST "+pathLoginProfile, h.loginProfile)
	if h.Cfg.Factors != nil && h.Cfg.Passkeys != nil {
		h.Page("POST /login/mfa/passkey", h.passkeyMFA)
		h.Page("POST /login/passkey/start", h.passkeyStart)
		h.Page("POST /login/passkey", h.passkeyFinish)
	}
	h.federationRoutes()
	if h.Cfg.Portal.Catalogue != nil && h.Cfg.Portal.Enablements != nil {
		h.Prov.SetSSOHold(h.enablementPending) // enablement.go
	}
}
