package signin

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/login"
	"github.com/kanton/kundencenter/idp/provider"
	"github.com/kanton/kundencenter/templates"

	"github.com/kanton/kundencenter/idp/web/kit"
)

// loginForm shows the login page for an auth request (OIDC Core §3.1.2.3)
// or, without one, for the IdP's own account page.
func (h *Handler) loginForm(w http.ResponseWriter, r *http.Request) {
	v := &loginView{Action: "/login", RegisterURL: "/register", ResetURL: "/reset", Next: kit.LocalNext(r.URL.Query().Get("next")),
		Passkey: h.Cfg.Passkeys != nil && h.Cfg.Factors != nil}
	var locales []string
	if id := r.URL.Query().Get("authRequestID"); id != "" {
		a, err := h.Prov.AuthRequest(r.Context(), id)
		if err != nil {
			h.RequestExpired(w, r)
			return
		}
		v.ResetURL = resetURL(id) // resetreturn.go: back to the service after a reset
		// A session too weak for this service is stepped up with a second
		// factor instead of asking for the password again, unless the
		// service wants a fresh login (prompt=login, max_age) or another user.
		if sess, ok := h.Session(r); ok && h.canStepUp(r, a, sess) {
			if idp.LevelAtLeast(sess.ACR, a.RequiredLevel(h.Prov.Levels())) {
				h.completeLogin(w, r, id, sess) // strong enough: only the acting choice is left
				return
			}
			h.afterFirstFactor(w, r, sess.AccountID, sess.AMR, id, "", sess)
			return
		}
		v.AuthRequestID = id
		v.ClientName = h.ClientName(r, a.ClientID, a.UILocales...)
		v.Email = a.LoginHint
		v.RegisterURL = "/register?authRequestID=" + url.QueryEscape(id)
		locales = a.UILocales
	}
	v.Upstreams = h.upstreams(v.AuthRequestID)
	h.Render(w, r, http.StatusOK, "login", h.Lang(w, r, locales...), v)
}

// requestError is where the provider sends a browser whose authorize
// callback was refused.
func (h *Handler) requestError(w http.ResponseWriter, r *http.Request) { h.RequestExpired(w, r) }

// login checks the password, starts a fresh SSO session (new ID, so a
// planted cookie is useless) and completes the auth request.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	lang := h.Lang(w, r)
	id := r.PostFormValue("authRequestID")
	v := &loginView{Action: "/login", RegisterURL: "/register", ResetURL: resetURL(id), AuthRequestID: id,
		Email: strings.TrimSpace(r.PostFormValue("email")), Next: kit.LocalNext(r.PostFormValue("next")),
		Passkey: h.Cfg.Passkeys != nil && h.Cfg.Factors != nil, Upstreams: h.upstreams(id)}
	if id != "" {
		a, err := h.Prov.AuthRequest(r.Context(), id)
		if err != nil {
			h.RequestExpired(w, r)
			return
		}
		v.ClientName = h.ClientName(r, a.ClientID)
		v.RegisterURL = "/register?authRequestID=" + url.QueryEscape(id)
	}
	if v.Email == "" || r.PostFormValue("password") == "" {
		if v.Email == "" {
			v.Errors = append(v.Errors, templates.FieldError{Field: "email", Key: "err.required"})
		}
		if r.PostFormValue("password") == "" {
			v.Errors = append(v.Errors, templates.FieldError{Field: "password", Key: "err.required"})
		}
		h.Render(w, r, http.StatusBadRequest, "login", lang, v)
		return
	}
	device := h.device(r)
	acct, err := h.Svc.LoginFrom(r.Context(), idp.LoginAttempt{Email: v.Email, Password: r.PostFormValue("password"),
		IP: h.ClientIP(r), Device: device})
	if err != nil {
		status, fe := h.Problem(r, err)
		v.Errors = []templates.FieldError{fe}
		h.Render(w, r, status, "login", lang, v)
		return
	}
	h.rememberDevice(w, r, acct.ID, device)
	h.afterFirstFactor(w, r, acct.ID, []string{idp.AMRPassword}, id, v.Next, idp.Session{})
}

// completeLogin is where every login path ends once the browser holds a
// session strong enough for the request: it hands the auth request (if
// any) back to the provider, or goes to the account page.
func (h *Handler) completeLogin(w http.ResponseWriter, r *http.Request, authRequestID string, sess idp.Session) {
	if authRequestID == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	if !h.enablementGate(w, r, authRequestID, sess) { // enablement.go: not yet enabled for this service
		return
	}
	res, err := h.Prov.LoginFlow().Continue(r.Context(), authRequestID, provider.LoginSession(sess))
	h.loginStep(w, r, authRequestID, res, err)
}

// loginStep sends the browser to the step the login flow (idp/login)
// decided: a choice page, or the client once the request is completed.
func (h *Handler) loginStep(w http.ResponseWriter, r *http.Request, authRequestID string, res login.Result, err error) {
	if err != nil {
		h.Log.InfoContext(r.Context(), "login step failed", "err", err, "request_id", kit.RequestID(r.Context()))
		h.RequestExpired(w, r)
		return
	}
	next := res.URL
	switch res.Step {
	case login.ChooseActing:
		next = "/login/context?authRequestID=" + url.QueryEscape(authRequestID)
	case login.ChooseProfile:
		next = pathLoginProfile + "?authRequestID=" + url.QueryEscape(authRequestID)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (h *Handler) registerForm(w http.ResponseWriter, r *http.Request) {
	v := &registerView{Action: "/register", LoginURL: "/login", AuthRequestID: r.URL.Query().Get("authRequestID")}
	h.Render(w, r, http.StatusOK, "register", h.Lang(w, r), v)
}

func (h *Handler) register(w http.ResponseWriter, r *http.Request) {
	lang := h.Lang(w, r)
	v := &registerView{Action: "/register", LoginURL: "/login", AuthRequestID: r.PostFormValue("authRequestID"), GivenName: r.PostFormValue("given_name"),
		FamilyName: r.PostFormValue("family_name"), Email: r.PostFormValue("email")}
	err := h.Svc.Register(r.Context(), idp.RegisterInput{GivenName: v.GivenName, FamilyName: v.FamilyName, Email: v.Email,
		Password: r.PostFormValue("password"), PasswordRepeat: r.PostFormValue("password_repeat"), Locale: lang,
		IP: h.ClientIP(r), ReturnTo: v.AuthRequestID})
	var ve *idp.ValidationError
	if errors.As(err, &ve) {
		v.Errors = kit.FieldErrors(ve, "given_name", "family_name", "email", "password", "password_repeat")
		h.Render(w, r, http.StatusUnprocessableEntity, "register", lang, v)
		return
	}
	if err != nil {
		status, fe := h.Problem(r, err)
		v.Errors = []templates.FieldError{fe}
		h.Render(w, r, status, "register", lang, v)
		return
	}
	h.Render(w, r, http.StatusOK, "register_done", lang, &registerDoneView{Email: strings.TrimSpace(v.Email)})
}

// activateForm is where the e-mailed activation link lands: a button that
// confirms the address. The link itself changes nothing, so a mail scanner
// that follows it cannot activate an account someone else opened with the
// address (e.g. through SwissID with an address that is not theirs).
func (h *Handler) activateForm(w http.ResponseWriter, r *http.Request) {
	h.Render(w, r, http.StatusOK, "activate", h.Lang(w, r), &activateView{Action: "/activate",
		Token: r.URL.Query().Get("token"), AuthRequestID: r.URL.Query().Get("authRequestID")})
}

// activate consumes the activation token confirmed on activateForm.
func (h *Handler) activate(w http.ResponseWriter, r *http.Request) {
	lang := h.Lang(w, r)
	a, err := h.Svc.Activate(r.Context(), r.PostFormValue("token"))
	if err != nil && !errors.Is(err, idp.ErrLinkInvalid) {
		h.Problem(r, err) // logs it
	}
	if err != nil {
		h.Render(w, r, http.StatusBadRequest, "activate_done", lang, &activateDoneView{Failed: true, LoginURL: "/login", RegisterURL: "/register"})
		return
	}
	login := "/login"
	if id := r.PostFormValue("authRequestID"); id != "" {
		if _, err := h.Prov.AuthRequest(r.Context(), id); err == nil {
			login += "?authRequestID=" + url.QueryEscape(id)
		}
	}
	h.Render(w, r, http.StatusOK, "activate_done", lang, &activateDoneView{KontoID: a.KontoID, LoginURL: login})
}

func (h *Handler) resetRequestForm(w http.ResponseWriter, r *http.Request) {
	h.rememberResetReturn(w, r) // resetreturn.go
	h.Render(w, r, http.StatusOK, "reset_request", h.Lang(w, r), &resetRequestView{Action: "/reset", LoginURL: "/login"})
}

// resetRequest answers the same whether or not the address has an account.
func (h *Handler) resetRequest(w http.ResponseWriter, r *http.Request) {
	lang := h.Lang(w, r)
	v := &resetRequestView{Action: "/reset", LoginURL: "/login", Email: r.PostFormValue("email")}
	err := h.Svc.RequestReset(r.Context(), v.Email, lang, h.ClientIP(r))
	var ve *idp.ValidationError
	if errors.As(err, &ve) {
		v.Errors = kit.FieldErrors(ve, "email")
		h.Render(w, r, http.StatusUnprocessableEntity, "reset_request", lang, v)
		return
	}
	if err != nil {
		status, fe := h.Problem(r, err)
		v.Errors = []templates.FieldError{fe}
		h.Render(w, r, status, "reset_request", lang, v)
		return
	}
	h.Render(w, r, http.StatusOK, "reset_request_done", lang, &resetRequestDoneView{LoginURL: "/login"})
}

func (h *Handler) resetForm(w http.ResponseWriter, r *http.Request) {
	h.Render(w, r, http.StatusOK, "reset", h.Lang(w, r), &resetView{Action: "/reset/confirm", Token: r.URL.Query().Get("token")})
}

// reset sets the new password; it ends every session of the account.
func (h *Handler) reset(w http.ResponseWriter, r *http.Request) {
	lang := h.Lang(w, r)
	v := &resetView{Action: "/reset/confirm", Token: r.PostFormValue("token")}
	_, err := h.Svc.Reset(r.Context(), v.Token, r.PostFormValue("password"), r.PostFormValue("password_repeat"))
	var ve *idp.ValidationError
	if errors.As(err, &ve) {
		v.Errors = kit.FieldErrors(ve, "password", "password_repeat")
		h.Render(w, r, http.StatusUnprocessableEntity, "reset", lang, v)
		return
	}
	if err != nil {
		status, fe := h.Problem(r, err)
		v.Errors = []templates.FieldError{fe}
		h.Render(w, r, status, "reset", lang, v)
		return
	}
	h.SetCookie(w, kit.SessionCookieName(h.Cfg.Secure), "", -1)
	h.Render(w, r, http.StatusOK, "reset_done", lang, &resetDoneView{LoginURL: h.resetReturnLogin(w, r)})
}

// logoutForm is where end_session (RP-Initiated Logout 1.0 §2) lands. If
// the id_token_hint named the account of this browser's session, the
// session ends at once; otherwise the user confirms (end_session is a GET
// that any site could trigger).
func (h *Handler) logoutForm(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("logoutID")
	sess, hasSession := h.Session(r)
	if id != "" {
		l, err := h.Prov.PeekLogout(r.Context(), id)
		if err != nil {
			h.RequestExpired(w, r)
			return
		}
		if !hasSession || (l.AccountID != "" && l.AccountID == sess.AccountID) {
			h.finishLogout(w, r, id, sess, hasSession)
			return
		}
	} else if !hasSession {
		h.Render(w, r, http.StatusOK, "logged_out", h.Lang(w, r), &loggedOutView{LoginURL: "/login"})
		return
	}
	h.Render(w, r, http.StatusOK, "logout_confirm", h.Lang(w, r), &logoutConfirmView{Action: "/logout", LogoutID: id, CancelURL: "/"})
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.Session(r)
	h.finishLogout(w, r, r.PostFormValue("logoutID"), sess, ok)
}

func (h *Handler) finishLogout(w http.ResponseWriter, r *http.Request, logoutID string, sess idp.Session, hasSession bool) {
	if hasSession {
		if err := h.Svc.EndSession(r.Context(), sess.ID); err != nil {
			h.Problem(r, err) // logs it
		}
		h.ForgetSession(r)
	}
	h.SetCookie(w, kit.SessionCookieName(h.Cfg.Secure), "", -1)
	if logoutID != "" {
		if l, err := h.Prov.TakeLogout(r.Context(), logoutID); err == nil && l.RedirectURI != "" {
			http.Redirect(w, r, l.RedirectURI, http.StatusSeeOther)
			return
		}
	}
	h.Render(w, r, http.StatusOK, "logged_out", h.Lang(w, r), &loggedOutView{LoginURL: "/login"})
}

// deviceCookie names the cookie that lets an account recognise a browser it
// logged in from before (idp.Service.LoginFrom): failures typed elsewhere
// for the same address then never lock this browser out.
const deviceCookie = "kc_device"

// device returns the browser's device ID, "" without one.
func (h *Handler) device(r *http.Request) string {
	c, err := r.Cookie(h.CookieName(deviceCookie))
	if err != nil || len(c.Value) > 64 {
		return ""
	}
	return c.Value
}

// rememberDevice gives the browser a device ID (keeping an existing one) and
// records it for the account after a correct password.
func (h *Handler) rememberDevice(w http.ResponseWriter, r *http.Request, accountID, device string) {
	if device == "" {
		device = idp.NewDeviceID()
	}
	if err := h.Svc.RememberDevice(r.Context(), accountID, device); err != nil {
		h.Log.WarnContext(r.Context(), "remember device", "err", err)
		return
	}
	h.SetCookie(w, h.CookieName(deviceCookie), device, int((180 * 24 * time.Hour).Seconds()))
}
