package account

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/login"
	"github.com/kanton/kundencenter/mfa"
	"github.com/kanton/kundencenter/mfa/passkey"
	"github.com/kanton/kundencenter/templates"

	"github.com/kanton/kundencenter/idp/web/kit"
)

// freshFor is how recent the login must be for a change of the second
// factors or the account (idp/login's rule table).
const freshFor = login.FreshFor

// securityNotices are the banners /security may show after a redirect.
var securityNotices = map[string]string{
	"phone_added":     "security.notice_phone_added",
	"phone_removed":   "security.notice_phone_removed",
	"passkey_added":   "security.notice_passkey_added",
	"passkey_removed": "security.notice_passkey_removed",
	"mfa_on":          "security.notice_mfa_on",
	"mfa_off":         "security.notice_mfa_off",
}

// fresh reports whether the session may change second factors: the login
// is recent and, when the account has a factor, was made with one.
func (h *Handler) fresh(sess idp.Session, m kit.Methods) bool {
	rule, _ := login.Action("/security")
	have := login.Low // an unknown level reaches nothing
	if i := idp.LevelRank(sess.ACR); i >= 0 {
		have = login.Level(i)
	}
	return rule.Allows(h.Svc.Now(), sess.AuthTime, have, m.Factors())
}

// securitySession returns the session of a security-page request, or
// sends the browser to log in and returns false.
func (h *Handler) securitySession(w http.ResponseWriter, r *http.Request) (idp.Session, bool) {
	sess, ok := h.Session(r)
	if !ok {
		http.Redirect(w, r, "/login?next=%2Fsecurity", http.StatusSeeOther)
		return idp.Session{}, false
	}
	return sess, true
}

// securityView assembles the page.
func (h *Handler) securityView(r *http.Request, sess idp.Session) (*securityView, kit.Methods, error) {
	m, err := h.Methods(r.Context(), sess.AccountID)
	if err != nil {
		return nil, m, err
	}
	v := &securityView{Phone: m.Phone.Masked(), HasPhone: !m.Phone.IsZero(), Required: m.Required, CanRequire: m.Any(),
		RecoveryLeft: m.Recovery, Fresh: h.fresh(sess, m), ReauthURL: "/login?next=%2Fsecurity",
		Enrol: r.URL.Query().Get("enrol") != "", Recovered: r.URL.Query().Get("recovered") != ""}
	if m.Phone.IsZero() {
		v.Phone = ""
	}
	creds, err := h.Cfg.Factors.Credentials(r.Context(), sess.AccountID)
	if err != nil {
		return nil, m, err
	}
	for _, c := range creds {
		v.Passkeys = append(v.Passkeys, passkeyRow{ID: encodeCredID(c.ID), Name: c.Name, Created: c.CreatedAt, LastUsed: c.LastUsedAt})
	}
	if v.Fresh && h.Cfg.Passkeys != nil {
		if err := h.beginRegistration(r, sess, v); err != nil {
			h.Log.WarnContext(r.Context(), "passkey registration not started", "err", err, "request_id", kit.RequestID(r.Context()))
		}
	}
	if id := r.URL.Query().Get("authRequestID"); id != "" {
		if a, err := h.Prov.AuthRequest(r.Context(), id); err == nil {
			v.ContinueURL = "/login/continue?authRequestID=" + url.QueryEscape(id)
			v.ContinueName = h.ClientName(r, a.ClientID)
			v.AuthRequestID = id
			v.ContinueReady = idp.LevelAtLeast(sess.ACR, a.RequiredLevel(h.Prov.Levels()))
		}
	}
	return v, m, nil
}

func (h *Handler) renderSecurity(w http.ResponseWriter, r *http.Request, status int, sess idp.Session, phoneInput string, errs ...templates.FieldError) {
	v, _, err := h.securityView(r, sess)
	if err != nil {
		h.Fail(w, r, err)
		return
	}
	v.PhoneInput = phoneInput
	v.Errors = errs
	if status == http.StatusOK {
		v.Notice = securityNotices[r.URL.Query().Get("done")]
	}
	h.Render(w, r, status, "security", h.Lang(w, r), v)
}

// security shows the second factors ("Sicherheit").
func (h *Handler) security(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.securitySession(w, r)
	if !ok {
		return
	}
	h.renderSecurity(w, r, http.StatusOK, sess, "")
}

// securityPost checks session and freshness for a change; without a
// fresh login the user is sent to log in again (password and, if enrolled,
// a second factor).
func (h *Handler) securityPost(w http.ResponseWriter, r *http.Request) (idp.Session, kit.Methods, bool) {
	sess, ok := h.securitySession(w, r)
	if !ok {
		return idp.Session{}, kit.Methods{}, false
	}
	m, err := h.Methods(r.Context(), sess.AccountID)
	if err != nil {
		h.Fail(w, r, err)
		return idp.Session{}, kit.Methods{}, false
	}
	if !h.fresh(sess, m) {
		http.Redirect(w, r, "/login?next=%2Fsecurity", http.StatusSeeOther)
		return idp.Session{}, kit.Methods{}, false
	}
	return sess, m, true
}

// keepQuery returns /security with the continuation of a pending auth request.
func keepQuery(r *http.Request, extra url.Values) string {
	q := url.Values{}
	if id := r.PostFormValue("authRequestID"); id != "" {
		q.Set("authRequestID", id)
	}
	for k, v := range extra {
		q[k] = v
	}
	if len(q) == 0 {
		return "/security"
	}
	return "/security?" + q.Encode()
}

// phoneStart sends a code to the number to be bound.
func (h *Handler) phoneStart(w http.ResponseWriter, r *http.Request) {
	sess, _, ok := h.securityPost(w, r)
	if !ok {
		return
	}
	raw := r.PostFormValue("phone")
	if raw == "" {
		h.renderSecurity(w, r, http.StatusUnprocessableEntity, sess, raw, templates.FieldError{Field: "phone", Key: "err.required"})
		return
	}
	ch, err := h.Cfg.Factors.StartEnrol(r.Context(), sess.AccountID, raw, h.ClientIP(r), h.Lang(w, r))
	if err != nil {
		status, fe := h.Problem(r, err)
		h.renderSecurity(w, r, status, sess, raw, fe)
		return
	}
	h.Render(w, r, http.StatusOK, "security_phone", h.Lang(w, r), &phoneCodeView{
		Challenge: ch.ID, MaskedPhone: ch.MaskedPhone, AuthRequestID: r.PostFormValue("authRequestID")})
}

// phoneConfirm binds the number once its code is right. A session that
// enrolled its first factor this way has now shown two factors (password
// and the phone), so it is raised to the SMS level.
func (h *Handler) phoneConfirm(w http.ResponseWriter, r *http.Request) {
	sess, m, ok := h.securityPost(w, r)
	if !ok {
		return
	}
	v := &phoneCodeView{Challenge: r.PostFormValue("challenge"), MaskedPhone: r.PostFormValue("masked"),
		AuthRequestID: r.PostFormValue("authRequestID")}
	if r.PostFormValue("resend") != "" {
		ch, err := h.Cfg.Factors.SMS().Resend(r.Context(), v.Challenge, h.ClientIP(r))
		if err != nil {
			status, fe := h.Problem(r, err)
			v.Errors = []templates.FieldError{fe}
			h.Render(w, r, status, "security_phone", h.Lang(w, r), v)
			return
		}
		v.Challenge, v.MaskedPhone, v.Notice = ch.ID, ch.MaskedPhone, "mfa.code_sent"
		h.Render(w, r, http.StatusOK, "security_phone", h.Lang(w, r), v)
		return
	}
	code := r.PostFormValue("code")
	if code == "" {
		v.Errors = []templates.FieldError{{Field: "code", Key: "err.required"}}
		h.Render(w, r, http.StatusUnprocessableEntity, "security_phone", h.Lang(w, r), v)
		return
	}
	_, err := h.Cfg.Factors.ConfirmEnrol(r.Context(), sess.AccountID, v.Challenge, code, h.ClientIP(r), h.Lang(w, r))
	if err != nil {
		status, fe := h.Problem(r, err)
		v.Errors = []templates.FieldError{fe}
		if errors.Is(err, mfa.ErrLocked) || errors.Is(err, mfa.ErrCodeExpired) {
			v.Expired = true
		}
		h.Render(w, r, status, "security_phone", h.Lang(w, r), v)
		return
	}
	if !m.Any() && !idp.LevelAtLeast(sess.ACR, idp.LevelSubstantial) {
		amr := slices.Clone(sess.AMR)
		for _, x := range []string{idp.AMRSMS, idp.AMRMFA} {
			if !slices.Contains(amr, x) {
				amr = append(amr, x)
			}
		}
		h.ForgetSession(r)
		up, err := h.Svc.ReplaceSession(r.Context(), sess.ID, sess.AccountID, amr, idp.LevelSubstantial, sess.AuthTime)
		if err != nil {
			h.Fail(w, r, err)
			return
		}
		h.SetCookie(w, kit.SessionCookieName(h.Cfg.Secure), up.ID, 0)
	}
	http.Redirect(w, r, keepQuery(r, url.Values{"done": {"phone_added"}}), http.StatusSeeOther)
}

// phoneRemove unbinds the number.
func (h *Handler) phoneRemove(w http.ResponseWriter, r *http.Request) {
	sess, m, ok := h.securityPost(w, r)
	if !ok {
		return
	}
	err := h.Cfg.Factors.RemovePhone(r.Context(), sess.AccountID, m.Passkeys > 0, h.ClientIP(r), h.Lang(w, r))
	if err != nil && !errors.Is(err, mfa.ErrNoPhone) {
		status, fe := h.Problem(r, err)
		h.renderSecurity(w, r, status, sess, "", fe)
		return
	}
	http.Redirect(w, r, keepQuery(r, url.Values{"done": {"phone_removed"}}), http.StatusSeeOther)
}

// mfaSwitch switches two-factor login on or off.
func (h *Handler) mfaSwitch(w http.ResponseWriter, r *http.Request) {
	sess, m, ok := h.securityPost(w, r)
	if !ok {
		return
	}
	on := r.PostFormValue("required") == "on"
	if err := h.Cfg.Factors.SetRequired(r.Context(), sess.AccountID, on, m.Any()); err != nil {
		if errors.Is(err, mfa.ErrNoFactor) {
			h.renderSecurity(w, r, http.StatusUnprocessableEntity, sess, "", templates.FieldError{Key: "err.no_factor"})
			return
		}
		status, fe := h.Problem(r, err)
		h.renderSecurity(w, r, status, sess, "", fe)
		return
	}
	done := "mfa_off"
	if on {
		done = "mfa_on"
		// Turning it on without recovery codes: offer them right away, so
		// that a lost phone does not lock the account (issue 14).
		if m.Recovery == 0 {
			codes, err := h.Cfg.Factors.NewRecoveryCodes(r.Context(), sess.AccountID)
			if err == nil {
				h.Render(w, r, http.StatusOK, "recovery_codes", h.Lang(w, r), &recoveryCodesView{Codes: codes,
					BackURL: keepQuery(r, url.Values{"done": {done}})})
				return
			}
			h.Log.ErrorContext(r.Context(), "recovery codes after turning on two-factor login", "err", err, "request_id", kit.RequestID(r.Context()))
		}
	}
	http.Redirect(w, r, keepQuery(r, url.Values{"done": {done}}), http.StatusSeeOther)
}

// recoveryNew replaces the recovery codes and shows the new ones, once.
func (h *Handler) recoveryNew(w http.ResponseWriter, r *http.Request) {
	sess, m, ok := h.securityPost(w, r)
	if !ok {
		return
	}
	if !m.Any() {
		h.renderSecurity(w, r, http.StatusUnprocessableEntity, sess, "", templates.FieldError{Key: "err.no_factor"})
		return
	}
	codes, err := h.Cfg.Factors.NewRecoveryCodes(r.Context(), sess.AccountID)
	if err != nil {
		status, fe := h.Problem(r, err)
		h.renderSecurity(w, r, status, sess, "", fe)
		return
	}
	h.Render(w, r, http.StatusOK, "recovery_codes", h.Lang(w, r), &recoveryCodesView{Codes: codes, BackURL: keepQuery(r, nil)})
}

func encodeCredID(id []byte) string { return base64.RawURLEncoding.EncodeToString(id) }

// beginRegistration starts a passkey registration for the security page's form.
func (h *Handler) beginRegistration(r *http.Request, sess idp.Session, v *securityView) error {
	a, err := h.Svc.Account(r.Context(), sess.AccountID)
	if err != nil {
		return err
	}
	p, err := h.Svc.Personal(a)
	if err != nil {
		return err
	}
	creds, err := h.Cfg.Factors.Credentials(r.Context(), sess.AccountID)
	if err != nil {
		return err
	}
	c, err := h.Cfg.Passkeys.BeginRegistration(r.Context(), passkey.User{AccountID: a.ID, Name: a.KontoID,
		DisplayName: p.GivenName + " " + p.FamilyName}, creds)
	if err != nil {
		return err
	}
	v.PasskeyCeremony, v.PasskeyOptions = c.ID, string(c.Options)
	return nil
}
