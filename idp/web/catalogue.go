package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/kanton/kundencenter/catalogue"
	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/portal"
	"github.com/kanton/kundencenter/templates"
)

// catalogueView is page "catalogue": the services grouped by situation of
// need, or the results of a search.
type catalogueView struct {
	templates.Page
	Query      string
	Searched   bool // a query was given: show Results instead of Categories
	Results    []serviceRow
	Categories []categoryRow
}

type categoryRow struct {
	ID, Title string
	Services  []serviceRow
}

type serviceRow struct {
	Title, Summary, URL string
}

// catalogue shows "Dienstleistungen": every category with its services,
// or the search results for ?q=.
func (h *Handler) catalogue(w http.ResponseWriter, r *http.Request) {
	lang := h.lang(w, r)
	cat := h.cfg.Portal.Catalogue
	v := &catalogueView{Query: strings.TrimSpace(r.URL.Query().Get("q"))}
	row := func(s catalogue.Service) serviceRow {
		return serviceRow{Title: s.Title.In(lang), Summary: s.Summary.In(lang), URL: templates.PathCatalogue + "/" + url.PathEscape(s.ID)}
	}
	if v.Query != "" {
		v.Searched = true
		if len(v.Query) > 200 {
			v.Query = v.Query[:200]
		}
		for _, res := range cat.Search(v.Query, lang) {
			v.Results = append(v.Results, row(res.Service))
		}
	} else {
		for _, c := range cat.Categories {
			cr := categoryRow{ID: c.ID, Title: c.Title.In(lang)}
			for _, s := range cat.InCategory(c.ID) {
				cr.Services = append(cr.Services, row(s))
			}
			v.Categories = append(v.Categories, cr)
		}
	}
	h.render(w, r, http.StatusOK, "catalogue", lang, v)
}

// catalogueServiceView is page "catalogue_service": one service.
type catalogueServiceView struct {
	templates.Page
	ID, Name, Summary, Category, CategoryURL string
	LevelKey                                 string // message key of the level
	Enablement                               bool
	Personal, Organisation, Representative   bool
	StartURL                                 string
	// Enablement state for a logged-in person: "" (none or not logged
	// in), requested, approved, refused.
	EnablementState string
	LoggedIn        bool
	LoginURL        string
}

func (h *Handler) catalogueService(w http.ResponseWriter, r *http.Request) {
	h.renderCatalogueService(w, r, http.StatusOK, "")
}

func (h *Handler) renderCatalogueService(w http.ResponseWriter, r *http.Request, status int, notice string) {
	lang := h.lang(w, r)
	s, ok := h.cfg.Portal.Catalogue.Service(r.PathValue("id"))
	if !ok {
		h.errorPage(w, r, http.StatusNotFound, "err.not_found")
		return
	}
	c, _ := h.cfg.Portal.Catalogue.Category(s.Category)
	l := h.portalLinks()
	v := &catalogueServiceView{ID: s.ID, Name: s.Title.In(lang), Summary: s.Summary.In(lang), Category: c.Title.In(lang),
		CategoryURL: templates.PathCatalogue + "#" + c.ID, LevelKey: "catalogue.level_" + s.Level, Enablement: s.Enablement,
		Personal: s.Personal, Organisation: s.Organisation, Representative: s.Representative,
		StartURL: s.StartURL(map[string]string{"forms": l.Forms, "status": l.Status, "documents": l.Documents}),
		LoginURL: "/login?next=" + url.QueryEscape(templates.PathCatalogue+"/"+s.ID)}
	v.Notice = notice
	if sess, ok := h.session(r); ok {
		v.LoggedIn = true
		if s.Enablement && h.cfg.Portal.Enablements != nil {
			e, err := h.cfg.Portal.Enablements.Get(r.Context(), sess.AccountID, s.ID)
			if err == nil {
				v.EnablementState = e.Status
			} else if !errors.Is(err, portal.ErrNotFound) {
				h.log.ErrorContext(r.Context(), "read enablement", "err", err, "request_id", requestID(r.Context()))
			}
		}
	}
	h.render(w, r, status, "catalogue_service", lang, v)
}

// enablementRequest records "Freischaltung beantragen" for the logged-in
// person; the operators decide with "kundencenter admin enablements".
func (h *Handler) enablementRequest(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.session(r)
	if !ok {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(templates.PathCatalogue+"/"+r.PathValue("id")), http.StatusSeeOther)
		return
	}
	s, ok := h.cfg.Portal.Catalogue.Service(r.PathValue("id"))
	if !ok || !s.Enablement || h.cfg.Portal.Enablements == nil {
		h.errorPage(w, r, http.StatusNotFound, "err.not_found")
		return
	}
	if _, err := h.cfg.Portal.Enablements.Request(r.Context(), sess.AccountID, s.ID, h.lang(w, r)); err != nil {
		h.log.ErrorContext(r.Context(), "request enablement", "err", err, "request_id", requestID(r.Context()))
		h.errorPage(w, r, http.StatusServiceUnavailable, "err.unavailable")
		return
	}
	h.svc.Audit(r.Context(), sess.AccountID, "enablement.requested", sess.AccountID, s.ID)
	h.renderCatalogueService(w, r, http.StatusOK, "catalogue.enablement_requested_notice")
}

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
	p := h.cfg.Portal
	if p.Catalogue == nil || p.Enablements == nil {
		return true
	}
	a, err := h.prov.AuthRequest(r.Context(), authRequestID)
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
		h.log.ErrorContext(r.Context(), "read enablement", "err", err, "request_id", requestID(r.Context()))
		h.errorPage(w, r, http.StatusServiceUnavailable, "err.unavailable")
		return false
	}
	lang := h.lang(w, r)
	v := &enablementRequiredView{ServiceName: s.Title.In(lang), ServiceURL: templates.PathCatalogue + "/" + url.PathEscape(s.ID), State: e.Status}
	h.render(w, r, http.StatusForbidden, "enablement_required", lang, v)
	return false
}

// enablementPending reports whether a login of accountID to clientID must
// wait for enablement (then an SSO login goes to the login UI, which shows
// the friendly page). Errors count as pending: the UI reports them.
func (h *Handler) enablementPending(ctx context.Context, accountID, clientID string) bool {
	s, needed := h.cfg.Portal.Catalogue.NeedsEnablement(clientID)
	if !needed {
		return false
	}
	ok, err := h.cfg.Portal.Enablements.Approved(ctx, accountID, s.ID)
	return err != nil || !ok
}
