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

// passkeyError maps a passkey error to a form-level message.
func (h *Handler) passkeyError(r *http.Request, accountID string, err error) (int, templates.FieldError) {
	var clone *passkey.CloneError
	switch {
	case errors.As(err, &clone):
		h.svc.Audit(r.Context(), accountID, "passkey.clone_suspected", clone.AccountID, "credential="+passkey.EncodeID(clone.CredentialID))
		return http.StatusForbidden, templates.FieldError{Key: "err.passkey_clone"}
	case errors.Is(err, passkey.ErrCeremonyExpired):
		return http.StatusUnprocessableEntity, templates.FieldError{Key: "err.passkey_expired"}
	case errors.Is(err, passkey.ErrInvalidName):
		return http.StatusUnprocessableEntity, templates.FieldError{Field: "passkey_name", Key: "err.passkey_name"}
	case errors.Is(err, passkey.ErrTooManyCredentials):
		return http.StatusUnprocessableEntity, templates.FieldError{Key: "err.passkey_too_many"}
	case errors.Is(err, passkey.ErrCredentialExists):
		return http.StatusConflict, templates.FieldError{Key: "err.passkey_exists"}
	case errors.Is(err, passkey.ErrUnavailable):
		h.log.ErrorContext(r.Context(), "passkeys unavailable", "err", err, "request_id", requestID(r.Context()))
		return http.StatusServiceUnavailable, templates.FieldError{Key: "err.unavailable"}
	case errors.Is(err, passkey.ErrVerification), errors.Is(err, passkey.ErrOrigin), errors.Is(err, passkey.ErrRPID),
		errors.Is(err, passkey.ErrUserVerification), errors.Is(err, passkey.ErrUnknownCredential),
		errors.Is(err, passkey.ErrNoCredentials), errors.Is(err, passkey.ErrInvalidRequest):
		h.log.WarnContext(r.Context(), "passkey refused", "err", err, "request_id", requestID(r.Context()))
		return http.StatusUnprocessableEntity, templates.FieldError{Key: "err.passkey_failed"}
	}
	status, key := h.serviceError(r, err)
	return status, templates.FieldError{Key: key}
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
		status, fe := h.passkeyError(r, tx.AccountID, err)
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
		status, key := h.serviceError(r, err)
		h.errorPage(w, r, status, key)
		return
	}
	c, err := h.cfg.Passkeys.BeginDiscoverableLogin(r.Context())
	if err != nil {
		status, fe := h.passkeyError(r, "", err)
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
		status, fe := h.passkeyError(r, res.AccountID, err)
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
		status, fe := h.passkeyError(r, sess.AccountID, err)
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
		status, key := h.serviceError(r, err)
		h.errorPage(w, r, status, key)
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
		status, fe := h.passkeyError(r, sess.AccountID, err)
		if errors.Is(err, idp.ErrNotFound) {
			status, fe = http.StatusNotFound, templates.FieldError{Key: "err.passkey_unknown"}
		}
		h.renderSecurity(w, r, status, sess, "", fe)
		return
	}
	h.svc.Audit(r.Context(), sess.AccountID, "mfa.passkey_removed", sess.AccountID, "")
	if m.Passkeys == 1 && m.Phone.IsZero() && m.Required {
		if err := h.cfg.Factors.SetRequired(r.Context(), sess.AccountID, false, false); err != nil {
			h.serviceError(r, err)
		}
	}
	http.Redirect(w, r, keepQuery(r, url.Values{"done": {"passkey_removed"}}), http.StatusSeeOther)
}
