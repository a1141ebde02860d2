package account

import (
	"cmp"
	"net/http"

	"github.com/kanton/kundencenter/idp"

	"time"

	"github.com/kanton/kundencenter/idp/web/kit"
	"github.com/kanton/kundencenter/webkit"
)

// proofingKeys name the identity-proofing levels on the account page.
var proofingKeys = map[string]string{
	idp.ProofingSelfDeclared:   "fed.proofing_self",
	idp.ProofingVerified:       "fed.proofing_verified",
	idp.ProofingVerifiedStrong: "fed.proofing_strong",
}

// accountLinks fills the account page's linked logins and the outcome of
// an unlink (?links=removed).
func (h *Handler) accountLinks(r *http.Request, accountID string, v *accountView) {
	if h.Cfg.Federation == nil || h.Cfg.Federation.Flow == nil {
		return
	}
	v.Federation = true
	links, err := h.Svc.Store().ListLinks(r.Context(), accountID)
	if err != nil {
		h.Log.ErrorContext(r.Context(), "list links failed", "err", err, "request_id", kit.RequestID(r.Context()))
	}
	for _, l := range links {
		v.Links = append(v.Links, linkRow{Name: h.ConnectorName(l.Connector), Connector: l.Connector, Issuer: l.Issuer,
			Subject: l.Subject, Since: l.CreatedAt, LastUsed: l.LastUsedAt,
			ProofingKey: cmp.Or(proofingKeys[l.ProofingLevel], "fed.proofing_unknown")})
	}
	if r.URL.Query().Get("links") == "removed" {
		v.Notice = "fed.notice_unlinked"
	}
}

// linkCases: an unknown link is "not found"; the last way in is refused.
var linkCases = []webkit.Case{
	{Err: idp.ErrNotFound, Status: http.StatusNotFound, Key: "err.not_found"},
	{Err: idp.ErrLastLogin, Status: http.StatusConflict, Key: "fed.err_last_login"},
}

// fedUnlink removes one of the account's linked logins (idp.Service.Unlink
// refuses the last way to log in).
func (h *Handler) fedUnlink(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.Session(r)
	if !ok {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	ctx := r.Context()
	var (
		out []idp.Outgoing
		err error
	)
	if h.Cfg.Factors != nil {
		if out, err = h.Cfg.Factors.Notice(ctx, sess.AccountID, "login_unlinked"); err != nil {
			h.Fail(w, r, err)
			return
		}
	}
	if err := h.Svc.Unlink(ctx, sess.AccountID, r.PostFormValue("connector"), r.PostFormValue("issuer"),
		r.PostFormValue("subject"), out...); err != nil {
		h.Fail(w, r, err, linkCases...)
		return
	}
	http.Redirect(w, r, "/?links=removed", http.StatusSeeOther)
}

// linkRow is one linked login on the account page.
type linkRow struct {
	Name                       string
	Connector, Issuer, Subject string // posted back to unlink
	Since, LastUsed            time.Time
	ProofingKey                string // fed.proofing_*
}
