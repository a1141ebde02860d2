package web

import (
	"net/http"
	"strings"

	"github.com/kanton/kundencenter/templates"
)

// portalRoutes registers the portal's pages.
func (h *Handler) portalRoutes() {
	for _, p := range []string{templates.PathAccessibility, templates.PathPrivacy, templates.PathImprint} {
		h.Page("GET "+p, h.legal)
	}
	h.Page("GET "+templates.PathIntegration, h.guide) // portal_guide.go
	h.Page("GET "+templates.PathContact, h.contactForm)
	h.Page("POST "+templates.PathContact, h.contact)
	if h.Cfg.Portal.Catalogue != nil {
		h.Page("GET "+templates.PathCatalogue, h.catalogue)
		h.Page("GET "+templates.PathCatalogue+"/{id}", h.catalogueService)
		h.Page("POST "+templates.PathCatalogue+"/{id}/enablement", h.enablementRequest)
	}
	h.Page("GET "+templates.PathOverview, h.overview)
}

// legalView is page "legal": the accessibility statement, the data
// protection notice or the imprint (Kind: accessibility, privacy, imprint).
type legalView struct {
	templates.Page
	Kind string
}

func (h *Handler) legal(w http.ResponseWriter, r *http.Request) {
	kind := strings.TrimPrefix(r.URL.Path, "/")
	v := &legalView{Kind: kind}
	v.Title = "legal." + kind + ".title"
	h.Render(w, r, http.StatusOK, "legal", h.Lang(w, r), v)
}
