package account

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/mfa/passkey"
	"github.com/kanton/kundencenter/templates"
)

// passkeyAdd registers a passkey for the logged-in account.
func (h *Handler) passkeyAdd(w http.ResponseWriter, r *http.Request) {
	sess, _, ok := h.securityPost(w, r)
	if !ok {
		return
	}
	name := r.PostFormValue("passkey_name")
	out, err := h.Cfg.Factors.Notice(r.Context(), sess.AccountID, "passkey_added")
	if err == nil {
		_, err = h.Cfg.Passkeys.FinishRegistration(r.Context(), r.PostFormValue("ceremony"), sess.AccountID, name,
			[]byte(r.PostFormValue("credential")), out...)
	}
	if err != nil {
		status, fe := h.Problem(r, err)
		h.renderSecurityPasskey(w, r, status, sess, name, fe)
		return
	}
	h.Svc.Audit(r.Context(), sess.AccountID, "mfa.passkey_added", sess.AccountID, "")
	http.Redirect(w, r, keepQuery(r, url.Values{"done": {"passkey_added"}}), http.StatusSeeOther)
}

// renderSecurityPasskey shows the security page again after a refused
// registration, keeping the typed name.
func (h *Handler) renderSecurityPasskey(w http.ResponseWriter, r *http.Request, status int, sess idp.Session, name string, fe templates.FieldError) {
	v, _, err := h.securityView(r, sess)
	if err != nil {
		h.Fail(w, r, err)
		return
	}
	v.PasskeyName = name
	v.Errors = []templates.FieldError{fe}
	h.Render(w, r, status, "security", h.Lang(w, r), v)
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
		if out, err = h.Cfg.Factors.Notice(r.Context(), sess.AccountID, "passkey_removed"); err == nil {
			err = h.Cfg.Passkeys.Remove(r.Context(), sess.AccountID, id, out...)
		}
	}
	if err != nil {
		status, fe := h.Problem(r, err)
		if errors.Is(err, idp.ErrNotFound) {
			status, fe = http.StatusNotFound, templates.FieldError{Key: "err.passkey_unknown"}
		}
		h.renderSecurity(w, r, status, sess, "", fe)
		return
	}
	h.Svc.Audit(r.Context(), sess.AccountID, "mfa.passkey_removed", sess.AccountID, "")
	if m.Passkeys == 1 && m.Phone.IsZero() && m.Required {
		if err := h.Cfg.Factors.SetRequired(r.Context(), sess.AccountID, false, false); err != nil {
			h.Problem(r, err) // logs it
		}
	}
	http.Redirect(w, r, keepQuery(r, url.Values{"done": {"passkey_removed"}}), http.StatusSeeOther)
}
