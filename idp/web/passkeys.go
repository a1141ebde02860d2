package web

import (
	"errors"
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
	res, err := h.cfg.Passkeys.FinishLogin(r.Context(), r.PostFormValue("ceremony"), tx.AccountID, []byte(r.PostFormValue("credential")))
	if err != nil {
		h.svc.Audit(r.Context(), tx.AccountID, "login.passkey_failed", tx.AccountID, "")
		status, fe := h.problem(r, err)
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
	if err := h.svc.Allow(r.Context(), []idp.Rule{passkeyLoginRule}, []string{h.clientIP(r)}); err != nil {
		h.fail(w, r, err)
		return
	}
	c, err := h.cfg.Passkeys.BeginDiscoverableLogin(r.Context())
	if err != nil {
		status, fe := h.problem(r, err)
		h.errorPage(w, r, status, fe.Key)
		return
	}
	h.render(w, r, http.StatusOK, "login_passkey", h.lang(w, r), &loginPasskeyView{AuthRequestID: id,
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
	res, err := h.cfg.Passkeys.FinishDiscoverableLogin(r.Context(), r.PostFormValue("ceremony"), []byte(r.PostFormValue("credential")))
	if err == nil {
		if a, aerr := h.svc.Account(r.Context(), res.AccountID); aerr != nil || a.Status != idp.StatusActive {
			err = passkey.ErrUnknownCredential
		}
	}
	if err != nil {
		status, fe := h.problem(r, err)
		h.render(w, r, status, "login_passkey", h.lang(w, r), &loginPasskeyView{
			Page: templates.Page{Errors: []templates.FieldError{fe}}, AuthRequestID: id, BackURL: loginURL(id)})
		return
	}
	h.svc.Audit(r.Context(), res.AccountID, "login.passkey", res.AccountID, "")
	if !res.UserVerified {
		h.afterFirstFactor(w, r, res.AccountID, []string{idp.AMRHardware}, id, "", idp.Session{})
		return
	}
	if id != "" {
		if _, err := h.prov.AuthRequest(r.Context(), id); err != nil {
			h.requestExpired(w, r)
			return
		}
	}
	h.openSession(w, r, res.AccountID, passkeyAMR(nil, true), idp.LevelHigh, id, "", "")
}

// passkeyAdd registers a passkey for the logged-in account.
func (h *Handler) passkeyAdd(w http.ResponseWriter, r *http.Request) {
	sess, _, ok := h.securityPost(w, r)
	if !ok {
		return
	}
	name := r.PostFormValue("passkey_name")
	out, err := h.cfg.Factors.Notice(r.Context(), sess.AccountID, "passkey_added")
	if err == nil {
		_, err = h.cfg.Passkeys.FinishRegistration(r.Context(), r.PostFormValue("ceremony"), sess.AccountID, name,
			[]byte(r.PostFormValue("credential")), out...)
	}
	if err != nil {
		status, fe := h.problem(r, err)
		h.renderSecurityPasskey(w, r, status, sess, name, fe)
		return
	}
	h.svc.Audit(r.Context(), sess.AccountID, "mfa.passkey_added", sess.AccountID, "")
	http.Redirect(w, r, keepQuery(r, url.Values{"done": {"passkey_added"}}), http.StatusSeeOther)
}

// renderSecurityPasskey shows the security page again after a refused
// registration, keeping the typed name.
func (h *Handler) renderSecurityPasskey(w http.ResponseWriter, r *http.Request, status int, sess idp.Session, name string, fe templates.FieldError) {
	v, _, err := h.securityView(r, sess)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v.PasskeyName = name
	v.Errors = []templates.FieldError{fe}
	h.render(w, r, status, "security", h.lang(w, r), v)
}

// passkeyRemove removes a passkey. Without another factor, two-factor
// login is switched off with it.
func (h *Handler) passkeyRemove(w http.ResponseWriter, r *http.Request) {
	sess, m, ok := h.securityPost(w, r)
	if !ok {
		return
	}
	id, err := passkey.DecodeID(r.PostFormValue("id"))
	if err == nil {
		var out []idp.Outgoing
		if out, err = h.cfg.Factors.Notice(r.Context(), sess.AccountID, "passkey_removed"); err == nil {
			err = h.cfg.Passkeys.Remove(r.Context(), sess.AccountID, id, out...)
		}
	}
	if err != nil {
		status, fe := h.problem(r, err)
		if errors.Is(err, idp.ErrNotFound) {
			status, fe = http.StatusNotFound, templates.FieldError{Key: "err.passkey_unknown"}
		}
		h.renderSecurity(w, r, status, sess, "", fe)
		return
	}
	h.svc.Audit(r.Context(), sess.AccountID, "mfa.passkey_removed", sess.AccountID, "")
	if m.Passkeys == 1 && m.Phone.IsZero() && m.Required {
		if err := h.cfg.Factors.SetRequired(r.Context(), sess.AccountID, false, false); err != nil {
			h.problem(r, err) // logs it
		}
	}
	http.Redirect(w, r, keepQuery(r, url.Values{"done": {"passkey_removed"}}), http.StatusSeeOther)
}
