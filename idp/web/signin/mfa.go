package signin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/login"
	"github.com/kanton/kundencenter/idp/provider"
	"github.com/kanton/kundencenter/mfa"
	"github.com/kanton/kundencenter/templates"

	"github.com/kanton/kundencenter/idp/web/kit"
)

// A login transaction is the state between the first factor and the
// session: which account passed which factor, for which auth request, and
// the pending SMS challenge. It lives in the ephemeral store under a
// 128-bit ID that only this browser's cookie carries, for loginTxTTL.
type loginTx struct {
	ID            string    `json:"id"`
	AccountID     string    `json:"acct"`
	AuthRequestID string    `json:"ar,omitempty"`
	AMR           []string  `json:"amr"`
	Need          string    `json:"need"`           // level the login must reach
	Next          string    `json:"next,omitempty"` // local page after a login without auth request
	FromSession   string    `json:"from,omitempty"` // the session being stepped up, ended on success
	Challenge     string    `json:"ch,omitempty"`   // pending SMS challenge
	Masked        string    `json:"masked,omitempty"`
	Created       time.Time `json:"created"`
	// FirstAuth is when the first factor was entered: now for a password
	// just typed, the old session's auth_time for a step-up, the
	// provider's auth_time for an upstream login. The session keeps it.
	FirstAuth time.Time `json:"first_auth,omitzero"`
}

const loginTxTTL = 10 * time.Minute

func loginTxKey(id string) string { return "ltx:" + id }

func (h *Handler) saveTx(ctx context.Context, tx loginTx) error {
	raw, err := json.Marshal(tx)
	if err != nil {
		return err
	}
	ttl := tx.Created.Add(loginTxTTL).Sub(h.Svc.Now())
	if ttl <= 0 {
		return idp.ErrNotFound
	}
	return h.Svc.Ephemeral().Set(ctx, loginTxKey(tx.ID), raw, ttl)
}

// loadTx returns the browser's login transaction; ok is false when there
// is none (expired, lost, or another browser's).
func (h *Handler) loadTx(r *http.Request) (loginTx, bool) {
	c, err := r.Cookie(h.CookieName("kc_ltx"))
	if err != nil || c.Value == "" {
		return loginTx{}, false
	}
	raw, err := h.Svc.Ephemeral().Get(r.Context(), loginTxKey(c.Value))
	if err != nil {
		if !errors.Is(err, idp.ErrNotFound) {
			h.Log.ErrorContext(r.Context(), "login transaction lookup failed", "err", err, "request_id", kit.RequestID(r.Context()))
		}
		return loginTx{}, false
	}
	var tx loginTx
	if json.Unmarshal(raw, &tx) != nil || tx.ID != c.Value {
		return loginTx{}, false
	}
	return tx, true
}

func (h *Handler) dropTx(w http.ResponseWriter, r *http.Request, tx loginTx) {
	_ = h.Svc.Ephemeral().Delete(r.Context(), loginTxKey(tx.ID))
	h.SetCookie(w, h.CookieName("kc_ltx"), "", -1)
}

// requiredLevel is the level a login of this account must reach: the auth
// request's (client minimum and acr_values), raised by login.Need for the
// account's two-factor setting and the action's rule.
func (h *Handler) requiredLevel(ctx context.Context, authRequestID string, m kit.Methods, rule login.Rule) (string, error) {
	requested := idp.LevelLow
	if authRequestID != "" {
		a, err := h.Prov.AuthRequest(ctx, authRequestID)
		if err != nil {
			return "", err
		}
		requested = a.RequiredLevel(h.Prov.Levels())
	}
	if need := login.Need(kit.LevelOf(requested), m.Factors(), rule); need > kit.LevelOf(requested) {
		return idp.Levels[need], nil
	}
	return requested, nil
}

// oneFactorEnough reports, cheaply, that the auth request asks no more than
// the low level and the account has not switched two-factor login on (which
// it can only do with a factor); false also when that cannot be told, so the
// caller takes the full path.
func (h *Handler) oneFactorEnough(ctx context.Context, authRequestID, accountID string) bool {
	if authRequestID != "" {
		a, err := h.Prov.AuthRequest(ctx, authRequestID)
		if err != nil || !idp.LevelAtLeast(idp.LevelLow, a.RequiredLevel(h.Prov.Levels())) {
			return false
		}
	}
	st, err := h.Cfg.Factors.Settings(ctx, accountID)
	return err == nil && !st.Required
}

// afterFirstFactor continues a login whose first factor (amr) passed: it
// either opens the session at once, or asks for a second factor, or guides
// a user without one to enrol. from is the session being stepped up ("" for
// a fresh login).
func (h *Handler) afterFirstFactor(w http.ResponseWriter, r *http.Request, accountID string, amr []string, authRequestID, next string, from idp.Session) {
	ctx := r.Context()
	rule, _ := login.Action(next) // what the page after the login demands (idp/login)
	var firstAuth time.Time
	if from.ID != "" {
		firstAuth = from.AuthTime // a step-up: the first factor was entered then
	}
	// The common case, one factor is enough (no service demand, two-factor
	// login off, no re-authentication): one read of the settings, without
	// loading passkeys and recovery codes.
	if !rule.Reauth && h.Cfg.Factors != nil && h.oneFactorEnough(ctx, authRequestID, accountID) {
		h.openSessionSince(w, r, accountID, amr, idp.LevelLow, authRequestID, next, from.ID, firstAuth)
		return
	}
	m, err := h.Methods(ctx, accountID)
	if err != nil {
		h.Fail(w, r, err)
		return
	}
	need, err := h.requiredLevel(ctx, authRequestID, m, rule)
	if err != nil {
		h.RequestExpired(w, r)
		return
	}
	switch login.AfterFirstFactor(kit.LevelOf(need), m.Factors()) {
	case login.OpenSession:
		h.openSessionSince(w, r, accountID, amr, idp.LevelLow, authRequestID, next, from.ID, firstAuth)
		return
	case login.Enrol:
		// The service needs two factors and the account has none: open a
		// one-factor session and guide the user to enrol one; the security
		// page offers to continue to the service afterwards.
		if _, ok := h.newSession(w, r, accountID, amr, idp.LevelLow, from.ID, firstAuth); !ok {
			return
		}
		target := "/security?enrol=1"
		if authRequestID != "" {
			target += "&authRequestID=" + url.QueryEscape(authRequestID)
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
		return
	case login.Unmet:
		h.Render(w, r, http.StatusForbidden, "mfa_unmet", h.Lang(w, r), &mfaUnmetView{
			AuthRequestID: authRequestID, CancelAction: "/login/mfa/cancel", SecurityURL: "/security"})
		return
	}
	tx := loginTx{ID: idp.NewID(), AccountID: accountID, AuthRequestID: authRequestID, AMR: amr, Need: need,
		Next: next, FromSession: from.ID, Created: h.Svc.Now(), FirstAuth: firstAuth}
	if err := h.saveTx(ctx, tx); err != nil {
		h.Fail(w, r, err)
		return
	}
	h.SetCookie(w, h.CookieName("kc_ltx"), tx.ID, 0)
	http.Redirect(w, r, "/login/mfa", http.StatusSeeOther)
}

// newSession starts a fresh session (a new ID: no fixation), ending the
// one it replaces, and sets its cookie; on failure it answers with an
// error page and returns false.
func (h *Handler) newSession(w http.ResponseWriter, r *http.Request, accountID string, amr []string, acr, replaces string, authTime time.Time) (idp.Session, bool) {
	ctx := r.Context()
	if replaces == "" {
		// The browser's session, if it still has one: ReplaceSession
		// ends it only when it is live.
		replaces = h.SessionCookie(r)
	}
	h.ForgetSession(r)
	sess, err := h.Svc.ReplaceSession(ctx, replaces, accountID, amr, acr, authTime)
	if err != nil {
		h.Fail(w, r, err)
		return idp.Session{}, false
	}
	// A password login records itself (idp.Service.Login); a passkey or
	// SwissID login without password must too, or the inactivity rules
	// would count the account as unused.
	if !slices.Contains(amr, idp.AMRPassword) {
		if err := h.Svc.RecordLogin(ctx, accountID); err != nil {
			h.Log.ErrorContext(ctx, "last login not recorded", "err", err, "request_id", kit.RequestID(ctx))
		}
	}
	h.SetCookie(w, kit.SessionCookieName(h.Cfg.Secure), sess.ID, 0)
	return sess, true
}

// openSession starts a fresh session and completes the login.
func (h *Handler) openSession(w http.ResponseWriter, r *http.Request, accountID string, amr []string, acr, authRequestID, next, replaces string) {
	h.openSessionSince(w, r, accountID, amr, acr, authRequestID, next, replaces, time.Time{})
}

// openSessionSince is openSession for an authentication at authTime (zero: now).
func (h *Handler) openSessionSince(w http.ResponseWriter, r *http.Request, accountID string, amr []string, acr, authRequestID, next, replaces string, authTime time.Time) {
	sess, ok := h.newSession(w, r, accountID, amr, acr, replaces, authTime)
	if !ok {
		return
	}
	if authRequestID == "" && next != "" {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	h.completeLogin(w, r, authRequestID, sess)
}

// mfaView builds the second-factor page for a transaction.
func (h *Handler) mfaView(r *http.Request, tx loginTx) (*loginMFAView, error) {
	m, err := h.Methods(r.Context(), tx.AccountID)
	if err != nil {
		return nil, err
	}
	v := &loginMFAView{AuthRequestID: tx.AuthRequestID, CodeSent: tx.Challenge != "", MaskedPhone: tx.Masked,
		Recovery: m.Recovery > 0 && idp.LevelAtLeast(idp.LevelSubstantial, tx.Need)}
	v.SMS = !m.Phone.IsZero() && idp.LevelAtLeast(idp.LevelSubstantial, tx.Need)
	if v.SMS && v.MaskedPhone == "" {
		v.MaskedPhone = m.Phone.Masked()
	}
	if m.Passkeys > 0 && h.Cfg.Passkeys != nil {
		c, err := h.Cfg.Passkeys.BeginLogin(r.Context(), tx.AccountID)
		if err != nil {
			h.Log.WarnContext(r.Context(), "passkey ceremony not started", "err", err, "request_id", kit.RequestID(r.Context()))
		} else {
			v.Passkey, v.PasskeyCeremony, v.PasskeyOptions = true, c.ID, string(c.Options)
		}
	}
	v.HighNeeded = !idp.LevelAtLeast(idp.LevelSubstantial, tx.Need)
	if tx.AuthRequestID != "" {
		if a, err := h.Prov.AuthRequest(r.Context(), tx.AuthRequestID); err == nil {
			v.ClientName = h.ClientName(r, a.ClientID)
		}
	}
	return v, nil
}

func (h *Handler) renderMFA(w http.ResponseWriter, r *http.Request, status int, tx loginTx, errs ...templates.FieldError) {
	v, err := h.mfaView(r, tx)
	if err != nil {
		h.Fail(w, r, err)
		return
	}
	v.Errors = errs
	h.Render(w, r, status, "login_mfa", h.Lang(w, r), v)
}

// mfaForm shows the second-factor choices of the browser's transaction.
func (h *Handler) mfaForm(w http.ResponseWriter, r *http.Request) {
	tx, ok := h.loadTx(r)
	if !ok {
		h.RequestExpired(w, r)
		return
	}
	h.renderMFA(w, r, http.StatusOK, tx)
}

// mfaPost loads the transaction of a second-factor POST.
func (h *Handler) mfaPost(w http.ResponseWriter, r *http.Request) (loginTx, bool) {
	tx, ok := h.loadTx(r)
	if !ok {
		h.RequestExpired(w, r)
		return loginTx{}, false
	}
	return tx, true
}

// mfaSMSSend sends (or resends) the login code.
func (h *Handler) mfaSMSSend(w http.ResponseWriter, r *http.Request) {
	tx, ok := h.mfaPost(w, r)
	if !ok {
		return
	}
	if !idp.LevelAtLeast(idp.LevelSubstantial, tx.Need) {
		h.renderMFA(w, r, http.StatusForbidden, tx, templates.FieldError{Key: "err.method_too_weak"})
		return
	}
	var (
		ch  mfa.Challenge
		err error
	)
	if tx.Challenge != "" && r.PostFormValue("resend") != "" {
		ch, err = h.Cfg.Factors.SMS().Resend(r.Context(), tx.Challenge, h.ClientIP(r))
	} else {
		ch, err = h.Cfg.Factors.StartLogin(r.Context(), tx.AccountID, h.ClientIP(r), h.Lang(w, r))
	}
	if err != nil {
		status, fe := h.Problem(r, err)
		if errors.Is(err, mfa.ErrCodeExpired) {
			tx.Challenge = ""
			_ = h.saveTx(r.Context(), tx)
		}
		h.renderMFA(w, r, status, tx, fe)
		return
	}
	tx.Challenge, tx.Masked = ch.ID, ch.MaskedPhone
	if err := h.saveTx(r.Context(), tx); err != nil {
		h.RequestExpired(w, r)
		return
	}
	v, err := h.mfaView(r, tx)
	if err != nil {
		h.Fail(w, r, err)
		return
	}
	v.Notice = "mfa.code_sent"
	h.Render(w, r, http.StatusOK, "login_mfa", h.Lang(w, r), v)
}

// mfaSMSVerify checks the login code.
func (h *Handler) mfaSMSVerify(w http.ResponseWriter, r *http.Request) {
	tx, ok := h.mfaPost(w, r)
	if !ok {
		return
	}
	code := strings.TrimSpace(r.PostFormValue("code"))
	if code == "" {
		h.renderMFA(w, r, http.StatusUnprocessableEntity, tx, templates.FieldError{Field: "code", Key: "err.required"})
		return
	}
	if tx.Challenge == "" {
		h.renderMFA(w, r, http.StatusUnprocessableEntity, tx, templates.FieldError{Key: "err.code_expired"})
		return
	}
	if err := h.Cfg.Factors.VerifyLogin(r.Context(), tx.AccountID, tx.Challenge, code); err != nil {
		status, fe := h.Problem(r, err)
		if errors.Is(err, mfa.ErrLocked) || errors.Is(err, mfa.ErrCodeExpired) {
			tx.Challenge = ""
			_ = h.saveTx(r.Context(), tx)
		}
		h.Svc.Audit(r.Context(), tx.AccountID, "login.sms_failed", tx.AccountID, "")
		h.renderMFA(w, r, status, tx, fe)
		return
	}
	h.finishMFA(w, r, tx, idp.AMRSMS, idp.LevelSubstantial)
}

// mfaRecovery accepts a saved recovery code as the second factor.
func (h *Handler) mfaRecovery(w http.ResponseWriter, r *http.Request) {
	tx, ok := h.mfaPost(w, r)
	if !ok {
		return
	}
	if !idp.LevelAtLeast(idp.LevelSubstantial, tx.Need) {
		h.renderMFA(w, r, http.StatusForbidden, tx, templates.FieldError{Key: "err.method_too_weak"})
		return
	}
	typed := r.PostFormValue("recovery_code")
	if typed == "" {
		h.renderMFA(w, r, http.StatusUnprocessableEntity, tx, templates.FieldError{Field: "recovery_code", Key: "err.required"})
		return
	}
	err := h.Cfg.Factors.UseRecoveryCode(r.Context(), tx.AccountID, typed)
	switch {
	case errors.Is(err, mfa.ErrRecoveryWrong):
		h.Svc.Audit(r.Context(), tx.AccountID, "login.recovery_failed", tx.AccountID, "")
		h.renderMFA(w, r, http.StatusUnprocessableEntity, tx, templates.FieldError{Field: "recovery_code", Key: "err.recovery_wrong"})
		return
	case err != nil:
		status, fe := h.Problem(r, err)
		h.renderMFA(w, r, status, tx, fe)
		return
	}
	// After a recovery code the user should bind a new factor: without an
	// auth request, go to the security page.
	if tx.AuthRequestID == "" && tx.Next == "" {
		tx.Next = "/security?recovered=1"
	}
	h.finishMFA(w, r, tx, idp.AMROTP, idp.LevelSubstantial)
}

// mfaCancel ends the transaction; an auth request goes back to its client
// with access_denied (or unmet_authentication_requirements when the account
// cannot reach the level).
func (h *Handler) mfaCancel(w http.ResponseWriter, r *http.Request) {
	id := r.PostFormValue("authRequestID")
	if tx, ok := h.loadTx(r); ok {
		id = tx.AuthRequestID
		h.dropTx(w, r, tx)
	}
	if id == "" {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	e := oidc.ErrAccessDenied().WithDescription("the user cancelled the second factor")
	if r.PostFormValue("reason") == "unmet" {
		e = &oidc.Error{ErrorType: "unmet_authentication_requirements",
			Description: "the account has no second factor that reaches the required level"}
	}
	next, err := h.Prov.ErrorRedirect(r.Context(), id, e)
	if err != nil {
		h.RequestExpired(w, r)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// finishMFA opens the session at the level the second factor reached.
func (h *Handler) finishMFA(w http.ResponseWriter, r *http.Request, tx loginTx, method, level string) {
	if !idp.LevelAtLeast(level, tx.Need) {
		h.renderMFA(w, r, http.StatusForbidden, tx, templates.FieldError{Key: "err.method_too_weak"})
		return
	}
	h.dropTx(w, r, tx)
	if !h.linkAfterSecondFactor(w, r, tx) { // a pending SwissID/AGOV link (federation_choice.go)
		return
	}
	amr := slices.Clone(tx.AMR)
	for _, m := range []string{method, idp.AMRMFA} {
		if !slices.Contains(amr, m) {
			amr = append(amr, m)
		}
	}
	h.Svc.Audit(r.Context(), tx.AccountID, "login.second_factor", tx.AccountID, "method="+method)
	h.openSessionSince(w, r, tx.AccountID, amr, level, tx.AuthRequestID, tx.Next, tx.FromSession, tx.FirstAuth)
}

// continueLogin hands an auth request to the provider once the browser's
// session reaches its level (after enrolling a factor on the security page).
func (h *Handler) continueLogin(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("authRequestID")
	sess, ok := h.Session(r)
	if !ok || id == "" {
		http.Redirect(w, r, "/login?authRequestID="+url.QueryEscape(id), http.StatusSeeOther)
		return
	}
	a, err := h.Prov.AuthRequest(r.Context(), id)
	if err != nil {
		h.RequestExpired(w, r)
		return
	}
	// The same rules as the login page: prompt=login, max_age, another
	// account's id_token_hint or an inactive account need the password.
	if !h.canStepUp(r, a, sess) {
		http.Redirect(w, r, "/login?authRequestID="+url.QueryEscape(id), http.StatusSeeOther)
		return
	}
	if !idp.LevelAtLeast(sess.ACR, a.RequiredLevel(h.Prov.Levels())) {
		h.afterFirstFactor(w, r, sess.AccountID, sess.AMR, id, "", sess)
		return
	}
	h.completeLogin(w, r, id, sess)
}

// canStepUp reports whether the browser's session may skip the password
// for this auth request and go straight to the second factor.
func (h *Handler) canStepUp(r *http.Request, a *provider.AuthRequest, sess idp.Session) bool {
	if a.HintSubject != "" && a.HintSubject != sess.AccountID {
		return false
	}
	// prompt=login and max_age: a session started after the request (e.g.
	// the password just typed before enrolling a factor) is fresh enough.
	if !h.Prov.FreshFor(a, sess.AuthTime, slices.Contains(sess.AMR, idp.AMRFed)) {
		return false
	}
	if !slices.Contains(sess.AMR, idp.AMRPassword) && !slices.Contains(sess.AMR, idp.AMRFed) {
		return false
	}
	acct, err := h.Svc.Account(r.Context(), sess.AccountID)
	return err == nil && acct.Status == idp.StatusActive
}
