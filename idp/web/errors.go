package web

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/kanton/kundencenter/delegation"
	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/mfa"
	"github.com/kanton/kundencenter/mfa/passkey"
	"github.com/kanton/kundencenter/templates"
)

// errorCase maps an error (errors.Is) to the answer a page gives: status,
// message key and, for a form, the field it belongs to. log, when set, is
// the level the error is logged at (with the request ID).
type errorCase struct {
	err    error
	status int
	field  string
	key    string
	log    slog.Level
	logged bool
}

// logAt marks a case as logged at level l.
func (c errorCase) logAt(l slog.Level) errorCase { c.log, c.logged = l, true; return c }

// errorCases are the errors every page answers the same way, checked in
// this order (more specific sentinels before those they may wrap).
var errorCases = []errorCase{
	{err: mfa.ErrCodeWrong, status: http.StatusUnprocessableEntity, field: "code", key: "err.code_format"},
	{err: mfa.ErrAccountLocked, status: http.StatusTooManyRequests, key: "err.code_account_locked"},
	{err: mfa.ErrLocked, status: http.StatusUnprocessableEntity, key: "err.code_locked"},
	{err: mfa.ErrCodeExpired, status: http.StatusUnprocessableEntity, key: "err.code_expired"},
	{err: mfa.ErrResendTooSoon, status: http.StatusTooManyRequests, key: "err.resend_too_soon"},
	{err: mfa.ErrBudget, status: http.StatusTooManyRequests, key: "err.sms_budget"},
	{err: mfa.ErrPhoneInvalid, status: http.StatusUnprocessableEntity, field: "phone", key: "err.phone_invalid"},
	{err: mfa.ErrPhoneCountry, status: http.StatusUnprocessableEntity, field: "phone", key: "err.phone_country"},
	{err: mfa.ErrPhoneNotMobile, status: http.StatusUnprocessableEntity, field: "phone", key: "err.phone_not_mobile"},
	errorCase{err: mfa.ErrSend, status: http.StatusBadGateway, key: "err.sms_send"}.logAt(slog.LevelWarn),
	errorCase{err: mfa.ErrUnavailable, status: http.StatusServiceUnavailable, key: "err.sms_unavailable"}.logAt(slog.LevelError),
	{err: passkey.ErrCeremonyExpired, status: http.StatusUnprocessableEntity, key: "err.passkey_expired"},
	{err: passkey.ErrInvalidName, status: http.StatusUnprocessableEntity, field: "passkey_name", key: "err.passkey_name"},
	{err: passkey.ErrTooManyCredentials, status: http.StatusUnprocessableEntity, key: "err.passkey_too_many"},
	{err: passkey.ErrCredentialExists, status: http.StatusConflict, key: "err.passkey_exists"},
	errorCase{err: passkey.ErrUnavailable, status: http.StatusServiceUnavailable, key: "err.unavailable"}.logAt(slog.LevelError),
	errorCase{err: passkey.ErrVerification, status: http.StatusUnprocessableEntity, key: "err.passkey_failed"}.logAt(slog.LevelWarn),
	errorCase{err: passkey.ErrOrigin, status: http.StatusUnprocessableEntity, key: "err.passkey_failed"}.logAt(slog.LevelWarn),
	errorCase{err: passkey.ErrRPID, status: http.StatusUnprocessableEntity, key: "err.passkey_failed"}.logAt(slog.LevelWarn),
	errorCase{err: passkey.ErrUserVerification, status: http.StatusUnprocessableEntity, key: "err.passkey_failed"}.logAt(slog.LevelWarn),
	errorCase{err: passkey.ErrUnknownCredential, status: http.StatusUnprocessableEntity, key: "err.passkey_failed"}.logAt(slog.LevelWarn),
	errorCase{err: passkey.ErrNoCredentials, status: http.StatusUnprocessableEntity, key: "err.passkey_failed"}.logAt(slog.LevelWarn),
	errorCase{err: passkey.ErrInvalidRequest, status: http.StatusUnprocessableEntity, key: "err.passkey_failed"}.logAt(slog.LevelWarn),
	{err: delegation.ErrCodeInvalid, status: http.StatusUnprocessableEntity, field: "code", key: "err.rep_code_invalid"},
	{err: delegation.ErrOwnCode, status: http.StatusUnprocessableEntity, field: "code", key: "err.rep_own_code"},
	{err: idp.ErrRateLimited, status: http.StatusTooManyRequests, key: "err.rate_limited"},
	{err: idp.ErrLoginFailed, status: http.StatusUnauthorized, key: "err.login_failed"},
	{err: idp.ErrAccountDisabled, status: http.StatusForbidden, key: "err.account_disabled"},
	{err: idp.ErrLinkInvalid, status: http.StatusBadRequest, key: "err.link_invalid"},
	errorCase{err: idp.ErrUnavailable, status: http.StatusServiceUnavailable, key: "err.unavailable"}.logAt(slog.LevelError),
}

// Area-specific meanings, passed to problem and fail before errorCases:
// on the organisation and representation pages a forbidden or unknown
// object is "not found" (its existence is not revealed).
var (
	orgCases = []errorCase{
		{err: delegation.ErrForbidden, status: http.StatusNotFound, key: "err.org_not_found"},
		{err: idp.ErrNotFound, status: http.StatusNotFound, key: "err.org_not_found"},
		{err: delegation.ErrInvitationInvalid, status: http.StatusBadRequest, key: "err.invitation_invalid"},
	}
	repCases = []errorCase{
		{err: delegation.ErrForbidden, status: http.StatusNotFound, key: "err.rep_not_found"},
		{err: idp.ErrNotFound, status: http.StatusNotFound, key: "err.rep_not_found"},
		{err: delegation.ErrRepState, status: http.StatusConflict, key: "err.rep_state"},
	}
)

// problem is the one mapping of an error to a page's answer: the status
// and the message (with its field, if any) in the user's language. The
// cases of the caller's area are checked first, then errorCases; anything
// else is a 500, logged with the request ID (the page shows only the ID).
func (h *Handler) problem(r *http.Request, err error, area ...errorCase) (int, templates.FieldError) {
	ctx := r.Context()
	var wrong *mfa.WrongCodeError
	if errors.As(err, &wrong) {
		return http.StatusUnprocessableEntity, templates.FieldError{Field: "code", Key: "err.code_wrong", Args: []any{wrong.Left}}
	}
	var clone *passkey.CloneError
	if errors.As(err, &clone) {
		h.svc.Audit(ctx, clone.AccountID, "passkey.clone_suspected", clone.AccountID, "credential="+passkey.EncodeID(clone.CredentialID))
		return http.StatusForbidden, templates.FieldError{Key: "err.passkey_clone"}
	}
	for _, cases := range [][]errorCase{area, errorCases} {
		for _, c := range cases {
			if !errors.Is(err, c.err) {
				continue
			}
			if c.logged {
				h.log.Log(ctx, c.log, "request refused", "err", err, "request_id", requestID(ctx))
			}
			return c.status, templates.FieldError{Field: c.field, Key: c.key}
		}
	}
	h.log.ErrorContext(ctx, "request failed", "err", err, "request_id", requestID(ctx))
	return http.StatusInternalServerError, templates.FieldError{Key: "err.unavailable"}
}

// fail answers a request that err ended with the error page (see problem).
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error, area ...errorCase) {
	status, fe := h.problem(r, err, area...)
	h.errorPage(w, r, status, fe.Key)
}

// errorPage renders page "error" with the message key.
func (h *Handler) errorPage(w http.ResponseWriter, r *http.Request, status int, key string) {
	h.render(w, r, status, "error", h.lang(w, r), &errorView{MessageKey: key, BackURL: "/"})
}
