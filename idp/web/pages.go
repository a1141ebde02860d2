package web

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/login"
	"github.com/kanton/kundencenter/idp/provider"
	"github.com/kanton/kundencenter/templates"
)

// viewModel is any page view: they all embed templates.Page.
type viewModel interface{ Base() *templates.Page }

// lang picks the page language: ?lang= (remembered in a cookie), the
// cookie, the auth request's ui_locales, then Accept-Language.
func (h *Handler) lang(w http.ResponseWriter, r *http.Request, uiLocales ...string) string {
	if q := r.URL.Query().Get("lang"); q != "" {
		l := templates.MatchLang(q)
		h.setCookie(w, h.cookieName("kc_lang"), l, 365*24*3600)
		return l
	}
	var cands []string
	if c, err := r.Cookie(h.cookieName("kc_lang")); err == nil {
		cands = append(cands, c.Value)
	}
	cands = append(cands, strings.Join(uiLocales, " "), r.Header.Get("Accept-Language"))
	return templates.MatchLang(cands...)
}

func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, page, lang string, v viewModel) {
	p := v.Base()
	p.Lang = lang
	p.RequestID = requestID(r.Context())
	p.CSRFToken = h.csrfToken(w, r)
	u := *r.URL
	if r.Method == http.MethodPost {
		// Keep what the form carried, so switching language keeps the flow.
		q := u.Query()
		for _, k := range []string{"authRequestID", "token", "logoutID"} {
			if v := r.PostFormValue(k); v != "" {
				q.Set(k, v)
			}
		}
		u.RawQuery = q.Encode()
	}
	p.LangLinks = templates.LangLinks(&u, lang)
	h.portalLayout(r, p) // portal.go
	if p.User == "" {
		p.User = h.userName(r) // session.go: once per request
	}
	var buf bytes.Buffer
	if err := h.tpl.Render(&buf, page, lang, v); err != nil {
		h.log.ErrorContext(r.Context(), "render failed", "page", page, "err", err, "request_id", p.RequestID)
		http.Error(w, "internal error, request "+p.RequestID, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func fieldErrors(v *idp.ValidationError, order ...string) []templates.FieldError {
	var out []templates.FieldError
	for _, f := range order {
		for _, k := range v.Fields[f] {
			out = append(out, templates.FieldError{Field: f, Key: k})
		}
	}
	return out
}

// home is the IdP's own start page ("Mein Konto"), for a logged-in user.
func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	s, ok := h.session(r)
	if !ok {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	a, err := h.svc.Account(r.Context(), s.AccountID)
	if err != nil {
		h.errorPage(w, r, http.StatusInternalServerError, "err.unavailable")
		return
	}
	pd, err := h.svc.Personal(a)
	if err != nil {
		h.errorPage(w, r, http.StatusInternalServerError, "err.unavailable")
		return
	}
	v := &accountView{Name: pd.GivenName + " " + pd.FamilyName, Email: pd.Email, KontoID: a.KontoID}
	for _, s := range h.cfg.Services {
		v.Services = append(v.Services, serviceLink{Name: h.serviceName(h.langOf(r), s.ID, s.Name), URL: s.URL})
	}
	h.accountLinks(r, a.ID, v)
	h.render(w, r, http.StatusOK, "account", h.lang(w, r), v)
}

// loginForm shows the login page for an auth request (OIDC Core §3.1.2.3)
// or, without one, for the IdP's own account page.
func (h *Handler) loginForm(w http.ResponseWriter, r *http.Request) {
	v := &loginView{Action: "/login", RegisterURL: "/register", ResetURL: "/reset", Next: localNext(r.URL.Query().Get("next")),
		Passkey: h.cfg.Passkeys != nil && h.cfg.Factors != nil}
	var locales []string
	if id := r.URL.Query().Get("authRequestID"); id != "" {
		a, err := h.prov.AuthRequest(r.Context(), id)
		if err != nil {
			h.requestExpired(w, r)
			return
		}
		v.ResetURL = resetURL(id) // resetreturn.go: back to the service after a reset
		// A session too weak for this service is stepped up with a second
		// factor instead of asking for the password again, unless the
		// service wants a fresh login (prompt=login, max_age) or another user.
		if sess, ok := h.session(r); ok && h.canStepUp(r, a, sess) {
			if idp.LevelAtLeast(sess.ACR, a.RequiredLevel(h.prov.Levels())) {
				h.completeLogin(w, r, id, sess) // strong enough: only the acting choice is left
				return
			}
			h.afterFirstFactor(w, r, sess.AccountID, sess.AMR, id, "", sess)
			return
		}
		v.AuthRequestID = id
		v.ClientName = h.clientName(r, a.ClientID, a.UILocales...)
		v.Email = a.LoginHint
		v.RegisterURL = "/register?authRequestID=" + url.QueryEscape(id)
		locales = a.UILocales
	}
	v.Upstreams = h.upstreams(v.AuthRequestID)
	h.render(w, r, http.StatusOK, "login", h.lang(w, r, locales...), v)
}

func (h *Handler) requestExpired(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusBadRequest, "error", h.lang(w, r), &errorView{MessageKey: "err.session_expired", BackURL: "/"})
}

// requestError is where the provider sends a browser whose authorize
// callback was refused.
func (h *Handler) requestError(w http.ResponseWriter, r *http.Request) { h.requestExpired(w, r) }

// login checks the password, starts a fresh SSO session (new ID, so a
// planted cookie is useless) and completes the auth request.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	lang := h.lang(w, r)
	id := r.PostFormValue("authRequestID")
	v := &loginView{Action: "/login", RegisterURL: "/register", ResetURL: resetURL(id), AuthRequestID: id,
		Email: strings.TrimSpace(r.PostFormValue("email")), Next: localNext(r.PostFormValue("next")),
		Passkey: h.cfg.Passkeys != nil && h.cfg.Factors != nil, Upstreams: h.upstreams(id)}
	if id != "" {
		a, err := h.prov.AuthRequest(r.Context(), id)
		if err != nil {
			h.requestExpired(w, r)
			return
		}
		v.ClientName = h.clientName(r, a.ClientID)
		v.RegisterURL = "/register?authRequestID=" + url.QueryEscape(id)
	}
	if v.Email == "" || r.PostFormValue("password") == "" {
		if v.Email == "" {
			v.Errors = append(v.Errors, templates.FieldError{Field: "email", Key: "err.required"})
		}
		if r.PostFormValue("password") == "" {
			v.Errors = append(v.Errors, templates.FieldError{Field: "password", Key: "err.required"})
		}
		h.render(w, r, http.StatusBadRequest, "login", lang, v)
		return
	}
	device := h.device(r)
	acct, err := h.svc.LoginFrom(r.Context(), idp.LoginAttempt{Email: v.Email, Password: r.PostFormValue("password"),
		IP: h.clientIP(r), Device: device})
	if err != nil {
		status, fe := h.problem(r, err)
		v.Errors = []templates.FieldError{fe}
		h.render(w, r, status, "login", lang, v)
		return
	}
	h.rememberDevice(w, r, acct.ID, device)
	h.afterFirstFactor(w, r, acct.ID, []string{idp.AMRPassword}, id, v.Next, idp.Session{})
}

// localNext returns the page a login without auth request continues to:
// only known local pages, so the parameter cannot be an open redirect.
func localNext(s string) string {
	if _, ok := login.Action(s); ok {
		return s
	}
	return ""
}

// completeLogin is where every login path ends once the browser holds a
// session strong enough for the request: it hands the auth request (if
// any) back to the provider, or goes to the account page.
func (h *Handler) completeLogin(w http.ResponseWriter, r *http.Request, authRequestID string, sess idp.Session) {
	if authRequestID == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	if !h.enablementGate(w, r, authRequestID, sess) { // catalogue.go: not yet enabled for this service
		return
	}
	res, err := h.prov.LoginFlow().Continue(r.Context(), authRequestID, provider.LoginSession(sess))
	h.loginStep(w, r, authRequestID, res, err)
}

// loginStep sends the browser to the step the login flow (idp/login)
// decided: a choice page, or the client once the request is completed.
func (h *Handler) loginStep(w http.ResponseWriter, r *http.Request, authRequestID string, res login.Result, err error) {
	if err != nil {
		h.log.InfoContext(r.Context(), "login step failed", "err", err, "request_id", requestID(r.Context()))
		h.requestExpired(w, r)
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
	h.render(w, r, http.StatusOK, "register", h.lang(w, r), v)
}

func (h *Handler) register(w http.ResponseWriter, r *http.Request) {
	lang := h.lang(w, r)
	v := &registerView{Action: "/register", LoginURL: "/login", AuthRequestID: r.PostFormValue("authRequestID"), GivenName: r.PostFormValue("given_name"),
		FamilyName: r.PostFormValue("family_name"), Email: r.PostFormValue("email")}
	err := h.svc.Register(r.Context(), idp.RegisterInput{GivenName: v.GivenName, FamilyName: v.FamilyName, Email: v.Email,
		Password: r.PostFormValue("password"), PasswordRepeat: r.PostFormValue("password_repeat"), Locale: lang,
		IP: h.clientIP(r), ReturnTo: v.AuthRequestID})
	var ve *idp.ValidationError
	if errors.As(err, &ve) {
		v.Errors = fieldErrors(ve, "given_name", "family_name", "email", "password", "password_repeat")
		h.render(w, r, http.StatusUnprocessableEntity, "register", lang, v)
		return
	}
	if err != nil {
		status, fe := h.problem(r, err)
		v.Errors = []templates.FieldError{fe}
		h.render(w, r, status, "register", lang, v)
		return
	}
	h.render(w, r, http.StatusOK, "register_done", lang, &registerDoneView{Email: strings.TrimSpace(v.Email)})
}

// activateForm is where the e-mailed activation link lands: a button that
// confirms the address. The link itself changes nothing, so a mail scanner
// that follows it cannot activate an account someone else opened with the
// address (e.g. through SwissID with an address that is not theirs).
func (h *Handler) activateForm(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "activate", h.lang(w, r), &activateView{Action: "/activate",
		Token: r.URL.Query().Get("token"), AuthRequestID: r.URL.Query().Get("authRequestID")})
}

// activate consumes the activation token confirmed on activateForm.
func (h *Handler) activate(w http.ResponseWriter, r *http.Request) {
	lang := h.lang(w, r)
	a, err := h.svc.Activate(r.Context(), r.PostFormValue("token"))
	if err != nil && !errors.Is(err, idp.ErrLinkInvalid) {
		h.problem(r, err) // logs it
	}
	if err != nil {
		h.render(w, r, http.StatusBadRequest, "activate_done", lang, &activateDoneView{Failed: true, LoginURL: "/login", RegisterURL: "/register"})
		return
	}
	login := "/login"
	if id := r.PostFormValue("authRequestID"); id != "" {
		if _, err := h.prov.AuthRequest(r.Context(), id); err == nil {
			login += "?authRequestID=" + url.QueryEscape(id)
		}
	}
	h.render(w, r, http.StatusOK, "activate_done", lang, &activateDoneView{KontoID: a.KontoID, LoginURL: login})
}

func (h *Handler) resetRequestForm(w http.ResponseWriter, r *http.Request) {
	h.rememberResetReturn(w, r) // resetreturn.go
	h.render(w, r, http.StatusOK, "reset_request", h.lang(w, r), &resetRequestView{Action: "/reset", LoginURL: "/login"})
}

// resetRequest answers the same whether or not the address has an account.
func (h *Handler) resetRequest(w http.ResponseWriter, r *http.Request) {
	lang := h.lang(w, r)
	v := &resetRequestView{Action: "/reset", LoginURL: "/login", Email: r.PostFormValue("email")}
	err := h.svc.RequestReset(r.Context(), v.Email, lang, h.clientIP(r))
	var ve *idp.ValidationError
	if errors.As(err, &ve) {
		v.Errors = fieldErrors(ve, "email")
		h.render(w, r, http.StatusUnprocessableEntity, "reset_request", lang, v)
		return
	}
	if err != nil {
		status, fe := h.problem(r, err)
		v.Errors = []templates.FieldError{fe}
		h.render(w, r, status, "reset_request", lang, v)
		return
	}
	h.render(w, r, http.StatusOK, "reset_request_done", lang, &resetRequestDoneView{LoginURL: "/login"})
}

func (h *Handler) resetForm(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "reset", h.lang(w, r), &resetView{Action: "/reset/confirm", Token: r.URL.Query().Get("token")})
}

// reset sets the new password; it ends every session of the account.
func (h *Handler) reset(w http.ResponseWriter, r *http.Request) {
	lang := h.lang(w, r)
	v := &resetView{Action: "/reset/confirm", Token: r.PostFormValue("token")}
	_, err := h.svc.Reset(r.Context(), v.Token, r.PostFormValue("password"), r.PostFormValue("password_repeat"))
	var ve *idp.ValidationError
	if errors.As(err, &ve) {
		v.Errors = fieldErrors(ve, "password", "password_repeat")
		h.render(w, r, http.StatusUnprocessableEntity, "reset", lang, v)
		return
	}
	if err != nil {
		status, fe := h.problem(r, err)
		v.Errors = []templates.FieldError{fe}
		h.render(w, r, status, "reset", lang, v)
		return
	}
	h.setCookie(w, SessionCookieName(h.cfg.Secure), "", -1)
	h.render(w, r, http.StatusOK, "reset_done", lang, &resetDoneView{LoginURL: h.resetReturnLogin(w, r)})
}

// logoutForm is where end_session (RP-Initiated Logout 1.0 §2) lands. If
// the id_token_hint named the account of this browser's session, the
// session ends at once; otherwise the user confirms (end_session is a GET
// that any site could trigger).
func (h *Handler) logoutForm(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("logoutID")
	sess, hasSession := h.session(r)
	if id != "" {
		l, err := h.prov.PeekLogout(r.Context(), id)
		if err != nil {
			h.requestExpired(w, r)
			return
		}
		if !hasSession || (l.AccountID != "" && l.AccountID == sess.AccountID) {
			h.finishLogout(w, r, id, sess, hasSession)
			return
		}
	} else if !hasSession {
		h.render(w, r, http.StatusOK, "logged_out", h.lang(w, r), &loggedOutView{LoginURL: "/login"})
		return
	}
	h.render(w, r, http.StatusOK, "logout_confirm", h.lang(w, r), &logoutConfirmView{Action: "/logout", LogoutID: id, CancelURL: "/"})
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.session(r)
	h.finishLogout(w, r, r.PostFormValue("logoutID"), sess, ok)
}

func (h *Handler) finishLogout(w http.ResponseWriter, r *http.Request, logoutID string, sess idp.Session, hasSession bool) {
	if hasSession {
		if err := h.svc.EndSession(r.Context(), sess.ID); err != nil {
			h.problem(r, err) // logs it
		}
		h.forgetSession(r)
	}
	h.setCookie(w, SessionCookieName(h.cfg.Secure), "", -1)
	if logoutID != "" {
		if l, err := h.prov.TakeLogout(r.Context(), logoutID); err == nil && l.RedirectURI != "" {
			http.Redirect(w, r, l.RedirectURI, http.StatusSeeOther)
			return
		}
	}
	h.render(w, r, http.StatusOK, "logged_out", h.lang(w, r), &loggedOutView{LoginURL: "/login"})
}

// deviceCookie names the cookie that lets an account recognise a browser it
// logged in from before (idp.Service.LoginFrom): failures typed elsewhere
// for the same address then never lock this browser out.
const deviceCookie = "kc_device"

// device returns the browser's device ID, "" without one.
func (h *Handler) device(r *http.Request) string {
	c, err := r.Cookie(h.cookieName(deviceCookie))
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
	if err := h.svc.RememberDevice(r.Context(), accountID, device); err != nil {
		h.log.WarnContext(r.Context(), "remember device", "err", err)
		return
	}
	h.setCookie(w, h.cookieName(deviceCookie), device, int((180 * 24 * time.Hour).Seconds()))
}
