package signin

import (
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/mfa/passkey"
	"github.com/kanton/kundencenter/templates"
)

// passkeyLoginRule bounds passwordless ceremonies per client IP: each one
// holds a challenge in the ephemeral store for a few minutes.
var passkeyLoginRule = idp.Rule{Name: "passkey_login_ip", Limit: 30, Window: 15 * time.Minute}

// passkeyLevel is what a passkey assertion proves: a second factor that is
// phishing-resistant and bound to a device (high); without a password, it
// needs user verification on the authenticator (PIN or biometrics) to count
// as two factors.
func passkeyAMR(first []string, uv bool) []string {
	amr := slices.Clone(first)
	add := []string{idp.AMRHardware}
	if uv {
		add = append(add, idp.AMRUser)
	}
	add = append(add, idp.AMRMFA)
	for _, m := range add {
		if !slices.Contains(amr, m) {
			amr = append(amr, m)
		}
	}
	return amr
}

// passkeyMFA checks a passkey as the second factor of the browser's login.
func (h *Handler) passkeyMFA(w http.ResponseWriter, r *http.Request) {
	tx, ok := h.mfaPost(w, r)
	if !ok {
		return
	}
	res, err := h.Cfg.Passkeys.FinishLogin(r.Context(), r.PostFormValue("ceremony"), tx.AccountID, []byte(r.PostFormValue("credential")))
	if err != nil {
		h.Svc.Audit(r.Context(), tx.AccountID, "login.passkey_failed", tx.AccountID, "")
		status, fe := h.Problem(r, err)
		h.renderMFA(w, r, status, tx, fe)
		return
	}
	tx.AMR = passkeyAMR(tx.AMR, res.UserVerified)
	h.finishMFA(w, r, tx, idp.AMRHardware, idp.LevelHigh)
}

// passkeyStart begins a passwordless login: a discoverable-credential
// ceremony, rendered on its own page that starts it at once.
func (h *Handler) passkeyStart(w http.ResponseWriter, r *http.Request) {
	id := r.PostFormValue("authRequestID")
	if err := h.Svc.Allow(r.Context(), []idp.Rule{passkeyLoginRule}, []string{h.ClientIP(r)}); err != nil {
		h.Fail(w, r, err)
		return
	}
	c, err := h.Cfg.Passkeys.BeginDiscoverableLogin(r.Context())
	if err != nil {
		status, fe := h.Problem(r, err)
		h.ErrorPage(w, r, status, fe.Key)
		return
	}
	h.Render(w, r, http.StatusOK, "login_passkey", h.Lang(w, r), &loginPasskeyView{AuthRequestID: id,
		Ceremony: c.ID, Options: string(c.Options), BackURL: loginURL(id)})
}

func loginURL(authRequestID string) string {
	if authRequestID == "" {
		return "/login"
	}
	return "/login?authRequestID=" + url.QueryEscape(authRequestID)
}

// passkeyFinish completes a passwordless login. A passkey with user
// verification is two factors in one (the device, and the PIN or
// biometrics that unlock it) and reaches the high level; without it the
// login counts as one factor.
func (h *Handler) passkeyFinish(w http.ResponseWriter, r *http.Request) {
	id := r.PostFormValue("authRequestID")
	res, err := h.Cfg.Passkeys.FinishDiscoverableLogin(r.Context(), r.PostFormValue("ceremony"), []byte(r.PostFormValue("credential")))
	if err == nil {
		if a, aerr := h.Svc.Account(r.Context(), res.AccountID); aerr != nil || a.Status != idp.StatusActive {
			err = passkey.ErrUnknownCredential
		}
	}
	if err != nil {
		status, fe := h.Problem(r, err)
		h.Render(w, r, status, "login_passkey", h.Lang(w, r), &loginPasskeyView{
			Page: templates.Page{Errors: []templates.FieldError{fe}}, AuthRequestID: id, BackURL: loginURL(id)})
		return
	}
	h.Svc.Audit(r.Context(), res.AccountID, "login.passkey", res.AccountID, "")
	if !res.UserVerified {
		h.afterFirstFactor(w, r, res.AccountID, []string{idp.AMRHardware}, id, "", idp.Session{})
		return
	}
	if id != "" {
		if _, err := h.Prov.AuthRequest(r.Context(), id); err != nil {
			h.RequestExpired(w, r)
			return
		}
	}
	h.openSession(w, r, res.AccountID, passkeyAMR(nil, true), idp.LevelHigh, id, "", "")
}
