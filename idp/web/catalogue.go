package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/kanton/kundencenter/catalogue"
	"github.com/kanton/kundencenter/portal"
	"github.com/kanton/kundencenter/templates"

	"github.com/kanton/kundencenter/idp/web/kit"
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
	lang := h.Lang(w, r)
	cat := h.Cfg.Portal.Catalogue
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
	h.Render(w, r, http.StatusOK, "catalogue", lang, v)
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
	lang := h.Lang(w, r)
	s, ok := h.Cfg.Portal.Catalogue.Service(r.PathValue("id"))
	if !ok {
		h.ErrorPage(w, r, http.StatusNotFound, "err.not_found")
		return
	}
	c, _ := h.Cfg.Portal.Catalogue.Category(s.Category)
	l := h.PortalLinks()
	v := &catalogueServiceView{ID: s.ID, Name: s.Title.In(lang), Summary: s.Summary.In(lang), Category: c.Title.In(lang),
		CategoryURL: templates.PathCatalogue + "#" + c.ID, LevelKey: "catalogue.level_" + s.Level, Enablement: s.Enablement,
		Personal: s.Personal, Organisation: s.Organisation, Representative: s.Representative,
		StartURL: s.StartURL(map[string]string{"forms": l.Forms, "status": l.Status, "documents": l.Documents}),
		LoginURL: "/login?next=" + url.QueryEscape(templates.PathCatalogue+"/"+s.ID)}
	v.Notice = notice
	if sess, ok := h.Session(r); ok {
		v.LoggedIn = true
		if s.Enablement && h.Cfg.Portal.Enablements != nil {
			e, err := h.Cfg.Portal.Enablements.Get(r.Context(), sess.AccountID, s.ID)
			if err == nil {
				v.EnablementState = e.Status
			} else if !errors.Is(err, portal.ErrNotFound) {
				h.Log.ErrorContext(r.Context(), "read enablement", "err", err, "request_id", kit.RequestID(r.Context()))
			}
		}
	}
	h.Render(w, r, status, "catalogue_service", lang, v)
}

// enablementRequest records "Freischaltung beantragen" for the logged-in
// person; the operators decide with "kundencenter admin enablements".
func (h *Handler) enablementRequest(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.Session(r)
	if !ok {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(templates.PathCatalogue+"/"+r.PathValue("id")), http.StatusSeeOther)
		return
	}
	s, ok := h.Cfg.Portal.Catalogue.Service(r.PathValue("id"))
	if !ok || !s.Enablement || h.Cfg.Portal.Enablements == nil {
		h.ErrorPage(w, r, http.StatusNotFound, "err.not_found")
		return
	}
	if _, err := h.Cfg.Portal.Enablements.Request(r.Context(), sess.AccountID, s.ID, h.Lang(w, r)); err != nil {
		h.Log.ErrorContext(r.Context(), "request enablement", "err", err, "request_id", kit.RequestID(r.Context()))
		h.ErrorPage(w, r, http.StatusServiceUnavailable, "err.unavailable")
		return
	}
	h.Svc.Audit(r.Context(), sess.AccountID, "enablement.requested", sess.AccountID, s.ID)
	h.renderCatalogueService(w, r, http.StatusOK, "catalogue.enablement_requested_notice")
}
