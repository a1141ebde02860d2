package signin

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/portal"
	"github.com/kanton/kundencenter/templates"

	"github.com/kanton/kundencenter/idp/web/kit"
)

// enablementRequiredView is page "enablement_required": the friendly
// refusal of a login to a service the account is not enabled for yet.
type enablementRequiredView struct {
	templates.Page
	ServiceName, ServiceURL string
	State                   string // "", requested, refused
}

// enablementGate holds back the login to a client whose catalogue service
// needs enablement until the operators approved it for the account: it
// answers with the friendly page and returns false. It is called where
// every login completes (completeLogin).
func (h *Handler) enablementGate(w http.ResponseWriter, r *http.Request, authRequestID string, sess idp.Session) bool {
	p := h.Cfg.Portal
	if p.Catalogue == nil || p.Enablements == nil {
		return true
	}
	a, err := h.Prov.AuthRequest(r.Context(), authRequestID)
	if err != nil {
		return true // completeLogin reports the expired request
	}
	s, needed := p.Catalogue.NeedsEnablement(a.ClientID)
	if !needed {
		return true
	}
	e, err := p.Enablements.Get(r.Context(), sess.AccountID, s.ID)
	switch {
	case err == nil && e.Status == portal.StatusApproved:
		return true
	case err != nil && !errors.Is(err, portal.ErrNotFound):
		h.Log.ErrorContext(r.Context(), "read enablement", "err", err, "request_id", kit.RequestID(r.Context()))
		h.ErrorPage(w, r, http.StatusServiceUnavailable, "err.unavailable")
		return false
	}
	lang := h.Lang(w, r)
	v := &enablementRequiredView{ServiceName: s.Title.In(lang), ServiceURL: templates.PathCatalogue + "/" + url.PathEscape(s.ID), State: e.Status}
	h.Render(w, r, http.StatusForbidden, "enablement_required", lang, v)
	return false
}

// enablementPending reports whether a login of accountID to clientID must
// wait for enablement (then an SSO login goes to the login UI, which shows
// the friendly page). Errors count as pending: the UI reports them.
func (h *Handler) enablementPending(ctx context.Context, accountID, clientID string) bool {
	s, needed := h.Cfg.Portal.Catalogue.NeedsEnablement(clientID)
	if !needed {
		return false
	}
	ok, err := h.Cfg.Portal.Enablements.Approved(ctx, accountID, s.ID)
	return err != nil || !ok
}
