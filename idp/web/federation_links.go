package web

// The account page's linked upstream logins and their removal.

import (
	"cmp"
	"net/http"

	"github.com/kanton/kundencenter/idp"
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
	if h.cfg.Federation == nil || h.cfg.Federation.Flow == nil {
		return
	}
	v.Federation = true
	links, err := h.svc.Store().ListLinks(r.Context(), accountID)
	if err != nil {
		h.log.ErrorContext(r.Context(), "list links failed", "err", err, "request_id", requestID(r.Context()))
	}
	for _, l := range links {
		v.Links = append(v.Links, linkRow{Name: h.connectorName(l.Connector), Connector: l.Connector, Issuer: l.Issuer,
			Subject: l.Subject, Since: l.CreatedAt, LastUsed: l.LastUsedAt,
			ProofingKey: cmp.Or(proofingKeys[l.ProofingLevel], "fed.proofing_unknown")})
	}
	if r.URL.Query().Get("links") == "removed" {
		v.Notice = "fed.notice_unlinked"
	}
}

// linkCases: an unknown link is "not found"; the last way in is refused.
var linkCases = []errorCase{
	{err: idp.ErrNotFound, status: http.StatusNotFound, key: "err.not_found"},
	{err: idp.ErrLastLogin, status: http.StatusConflict, key: "fed.err_last_login"},
}

// fedUnlink removes one of the account's linked logins (idp.Service.Unlink
// refuses the last way to log in).
func (h *Handler) fedUnlink(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.session(r)
	if !ok {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	ctx := r.Context()
	var (
		out []idp.Outgoing
		err error
	)
	if h.cfg.Factors != nil {
		if out, err = h.cfg.Factors.Notice(ctx, sess.AccountID, "login_unlinked"); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	if err := h.svc.Unlink(ctx, sess.AccountID, r.PostFormValue("connector"), r.PostFormValue("issuer"),
		r.PostFormValue("subject"), out...); err != nil {
		h.fail(w, r, err, linkCases...)
		return
	}
	http.Redirect(w, r, "/?links=removed", http.StatusSeeOther)
}
