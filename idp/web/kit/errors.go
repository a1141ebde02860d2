package kit

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/kanton/kundencenter/delegation"
	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/mfa"
	"github.com/kanton/kundencenter/mfa/passkey"
	"github.com/kanton/kundencenter/templates"

	"github.com/kanton/kundencenter/webkit"
)

// errorCases are the errors every page answers the same way, checked in
// this order (more specific sentinels before those they may wrap).
var errorCases = []webkit.Case{
	{Err: mfa.ErrCodeWrong, Status: http.StatusUnprocessableEntity, Field: "code", Key: "err.code_format"},
	{Err: mfa.ErrAccountLocked, Status: http.StatusTooManyRequests, Key: "err.code_account_locked"},
	{Err: mfa.ErrLocked, Status: http.StatusUnprocessableEntity, Key: "err.code_locked"},
	{Err: mfa.ErrCodeExpired, Status: http.StatusUnprocessableEntity, Key: "err.code_expired"},
	{Err: mfa.ErrResendTooSoon, Status: http.StatusTooManyRequests, Key: "err.resend_too_soon"},
	{Err: mfa.ErrBudget, Status: http.StatusTooManyRequests, Key: "err.sms_budget"},
	{Err: mfa.ErrPhoneInvalid, Status: http.StatusUnprocessableEntity, Field: "phone", Key: "err.phone_invalid"},
	{Err: mfa.ErrPhoneCountry, Status: http.StatusUnprocessableEntity, Field: "phone", Key: "err.phone_country"},
	{Err: mfa.ErrPhoneNotMobile, Status: http.StatusUnprocessableEntity, Field: "phone", Key: "err.phone_not_mobile"},
	webkit.Case{Err: mfa.ErrSend, Status: http.StatusBadGateway, Key: "err.sms_send"}.LogAt(slog.LevelWarn),
	webkit.Case{Err: mfa.ErrUnavailable, Status: http.StatusServiceUnavailable, Key: "err.sms_unavailable"}.LogAt(slog.LevelError),
	{Err: passkey.ErrCeremonyExpired, Status: http.StatusUnprocessableEntity, Key: "err.passkey_expired"},
	{Err: passkey.ErrInvalidName, Status: http.StatusUnprocessableEntity, Field: "passkey_name", Key: "err.passkey_name"},
	{Err: passkey.ErrTooManyCredentials, Status: http.StatusUnprocessableEntity, Key: "err.passkey_too_many"},
	{Err: passkey.ErrCredentialExists, Status: http.StatusConflict, Key: "err.passkey_exists"},
	webkit.Case{Err: passkey.ErrUnavailable, Status: http.StatusServiceUnavailable, Key: "err.unavailable"}.LogAt(slog.LevelError),
	webkit.Case{Err: passkey.ErrVerification, Status: http.StatusUnprocessableEntity, Key: "err.passkey_failed"}.LogAt(slog.LevelWarn),
	webkit.Case{Err: passkey.ErrOrigin, Status: http.StatusUnprocessableEntity, Key: "err.passkey_failed"}.LogAt(slog.LevelWarn),
	webkit.Case{Err: passkey.ErrRPID, Status: http.StatusUnprocessableEntity, Key: "err.passkey_failed"}.LogAt(slog.LevelWarn),
	webkit.Case{Err: passkey.ErrUserVerification, Status: http.StatusUnprocessableEntity, Key: "err.passkey_failed"}.LogAt(slog.LevelWarn),
	webkit.Case{Err: passkey.ErrUnknownCredential, Status: http.StatusUnprocessableEntity, Key: "err.passkey_failed"}.LogAt(slog.LevelWarn),
	webkit.Case{Err: passkey.ErrNoCredentials, Status: http.StatusUnprocessableEntity, Key: "err.passkey_failed"}.LogAt(slog.LevelWarn),
	webkit.Case{Err: passkey.ErrInvalidRequest, Status: http.StatusUnprocessableEntity, Key: "err.passkey_failed"}.LogAt(slog.LevelWarn),
	{Err: delegation.ErrCodeInvalid, Status: http.StatusUnprocessableEntity, Field: "code", Key: "err.rep_code_invalid"},
	{Err: delegation.ErrOwnCode, Status: http.StatusUnprocessableEntity, Field: "code", Key: "err.rep_own_code"},
	{Err: idp.ErrRateLimited, Status: http.StatusTooManyRequests, Key: "err.rate_limited"},
	{Err: idp.ErrLoginFailed, Status: http.StatusUnauthorized, Key: "err.login_failed"},
	{Err: idp.ErrAccountDisabled, Status: http.StatusForbidden, Key: "err.account_disabled"},
	{Err: idp.ErrLinkInvalid, Status: http.StatusBadRequest, Key: "err.link_invalid"},
	webkit.Case{Err: idp.ErrUnavailable, Status: http.StatusServiceUnavailable, Key: "err.unavailable"}.LogAt(slog.LevelError),
}

// Problem is the one mapping of an error to a page's answer: the status
// and the message (with its field, if any) in the user's language. The
// cases of the caller's area are checked first, then errorCases; anything
// else is a 500, logged with the request ID (the page shows only the ID).
func (h *Kit) Problem(r *http.Request, err error, area ...webkit.Case) (int, templates.FieldError) {
	ctx := r.Context()
	var wrong *mfa.WrongCodeError
	if errors.As(err, &wrong) {
		return http.StatusUnprocessableEntity, templates.FieldError{Field: "code", Key: "err.code_wrong", Args: []any{wrong.Left}}
	}
	var clone *passkey.CloneError
	if errors.As(err, &clone) {
		h.Svc.Audit(ctx, clone.AccountID, "passkey.clone_suspected", clone.AccountID, "credential="+passkey.EncodeID(clone.CredentialID))
		return http.StatusForbidden, templates.FieldError{Key: "err.passkey_clone"}
	}
	c := webkit.Match(ctx, h.Log, err, "err.unavailable", area, errorCases)
	return c.Status, templates.FieldError{Field: c.Field, Key: c.Key}
}

// fail answers a request that err ended with the error page (see problem).
func (h *Kit) Fail(w http.ResponseWriter, r *http.Request, err error, area ...webkit.Case) {
	status, fe := h.Problem(r, err, area...)
	h.ErrorPage(w, r, status, fe.Key)
}

// errorPage renders page "error" with the message key.
func (h *Kit) ErrorPage(w http.ResponseWriter, r *http.Request, status int, key string) {
	h.Render(w, r, status, "error", h.Lang(w, r), &ErrorView{MessageKey: key, BackURL: "/"})
}

// ErrorView is page "error": a fixed, friendly message in the user's
// language plus Page.RequestID; the details belong in the log.
type ErrorView struct {
	templates.Page
	MessageKey string // e.g. "err.link_invalid"; "" means err.internal
	BackURL    string // "" links to the start page
}
