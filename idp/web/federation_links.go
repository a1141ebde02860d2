package web

// The account page's linked upstream logins and their removal.

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/templates"
)

// proofingKeys name the identity-proofing levels on the account page.
var proofingKeys = map[string]string{
	idp.ProofingSelfDeclared:   "fed.proofing_self",
	idp.ProofingVerified:       "fed.proofing_verified",
	idp.ProofingVerifiedStrong: "fed.proofing_strong",
}

// accountLinks fills the account page's linked logins and the outcome of
// an unlink (?links=removed or ?links=last).
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
	switch r.URL.Query().Get("links") {
	case "removed":
		v.Notice = "fed.notice_unlinked"
	case "last":
		v.Errors = []templates.FieldError{{Key: "fed.err_last_login"}}
	}
}

// fedUnlink removes one of the account's linked logins, unless it is the
// last way to log in (no password of its own, see idp.Account.HasPassword,
// and no other link). Concurrent unlinks of one account are serialised by
// a short lock in the ephemeral store, so two of them cannot both pass the
// check and leave the account without a way in.
func (h *Handler) fedUnlink(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.session(r)
	if !ok {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	ctx := r.Context()
	lock := "unlink:" + sess.AccountID
	got, err := h.svc.Ephemeral().SetNX(ctx, lock, []byte("1"), 30*time.Second)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !got {
		h.errorPage(w, r, http.StatusConflict, "err.rate_limited")
		return
	}
	defer h.svc.Ephemeral().Delete(context.WithoutCancel(ctx), lock)
	acct, err := h.svc.Account(ctx, sess.AccountID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	links, err := h.svc.Store().ListLinks(ctx, acct.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	conn, iss, sub := r.PostFormValue("connector"), r.PostFormValue("issuer"), r.PostFormValue("subject")
	if !slices.ContainsFunc(links, func(l idp.ExternalLink) bool { return l.Connector == conn && l.Issuer == iss && l.Subject == sub }) {
		h.errorPage(w, r, http.StatusNotFound, "err.not_found")
		return
	}
	if !acct.HasPassword() && len(links) <= 1 {
		http.Redirect(w, r, "/?links=last", http.StatusSeeOther)
		return
	}
	var out []idp.Outgoing
	if h.cfg.Factors != nil {
		if out, err = h.cfg.Factors.Notice(ctx, acct.ID, "login_unlinked"); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	if err := h.svc.Store().DeleteLink(ctx, acct.ID, conn, iss, sub, out...); err != nil {
		h.fail(w, r, err)
		return
	}
	h.svc.Audit(ctx, acct.ID, "link.removed", acct.ID, "connector="+conn)
	http.Redirect(w, r, "/?links=removed", http.StatusSeeOther)
}
