package account

import (
	"net/http"
	"strings"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/templates"
)

// pathHistory is the account owner's sign-in history (Mein Konto →
// Sicherheit → Anmeldeverlauf).
const pathHistory = "/security/history"

// historyLimit is how many events the page shows.
const historyLimit = 100

// securityHistoryView is page "security_history".
type securityHistoryView struct {
	templates.Page
	Events []historyItem
}

type historyItem struct {
	At, What, Outcome, Network string
	Bad                        bool // failed or blocked: shown emphasised
}

// historyKeys names the message of each security event on the page.
var historyKeys = map[string]string{
	"session.started":               "history.ev_login",
	idp.EventLoginFailed:            "history.ev_login_failed",
	idp.EventLoginThrottled:         "history.ev_throttled",
	"login.second_factor":           "history.ev_second_factor",
	"login.passkey":                 "history.ev_second_factor",
	"login.sms_failed":              "history.ev_second_factor_failed",
	"login.recovery_failed":         "history.ev_second_factor_failed",
	"login.passkey_failed":          "history.ev_second_factor_failed",
	"login.upstream":                "history.ev_upstream",
	"login.upstream_refused":        "history.ev_upstream_failed",
	"account.reset_requested":       "history.ev_reset_requested",
	"account.password_reset":        "history.ev_password_reset",
	"account.email_changed":         "history.ev_email_changed",
	"account.login_inactive":        "history.ev_inactive",
	"account.password_check_failed": "history.ev_password_check_failed",
	idp.EventAccountDisabled:        "history.ev_disabled",
	idp.EventAccountEnabled:         "history.ev_enabled",
	"passkey.clone_suspected":       "history.ev_passkey_clone",
}

// securityHistory shows the signed-in owner their own security events:
// when, what, the outcome and the network it came from (the audit log
// keeps only /24 or /48).
func (h *Handler) securityHistory(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.Session(r)
	if !ok {
		http.Redirect(w, r, "/login?next=%2Fsecurity%2Fhistory", http.StatusSeeOther)
		return
	}
	events, err := h.Svc.SecurityHistory(r.Context(), sess.AccountID, historyLimit)
	if err != nil {
		h.Fail(w, r, err)
		return
	}
	lang := h.Lang(w, r)
	v := &securityHistoryView{}
	for _, e := range events {
		key, ok := historyKeys[e.Action]
		if !ok && strings.HasPrefix(e.Action, "mfa.") {
			key, ok = "history.ev_mfa_changed", true
		}
		if !ok {
			continue
		}
		item := historyItem{At: h.FmtDate(e.At), What: h.Tpl.T(lang, key),
			Outcome: h.Tpl.T(lang, "history.outcome_"+e.Outcome), Network: e.IP,
			Bad: e.Outcome != idp.OutcomeSuccess}
		if item.Network == "" {
			item.Network = h.Tpl.T(lang, "history.network_unknown")
		}
		v.Events = append(v.Events, item)
	}
	h.Render(w, r, http.StatusOK, "security_history", lang, v)
}
