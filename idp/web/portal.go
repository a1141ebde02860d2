package web

import (
	"context"
	"net/http"
	"strings"

	"github.com/kanton/kundencenter/catalogue"
	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/portal"
	"github.com/kanton/kundencenter/templates"
)

// Portal configures the pages that make the IdP and the services one
// portal: the main navigation and footer on every page, and the portal's
// own pages (overview, catalogue, contact, enablement).
type Portal struct {
	// Links are the public base URLs of the IdP and the bundled services;
	// an empty IdP URL means Config.Issuer.
	Links templates.PortalLinks
	// Catalogue is the service catalogue; nil hides "Dienstleistungen".
	Catalogue *catalogue.Catalogue
	// Enablements stores enablement requests; nil: no service can be
	// requested and logins are not held back for enablement.
	Enablements *portal.Enablements
	// Summaries fills the overview's service boxes; nil shows none.
	Summaries *portal.Summaries
	// ContactTo is the support address contact requests are mailed to
	// (KC_CONTACT_TO); "" hides the contact form.
	ContactTo string
	// Mail enqueues an e-mail in the outbox (notify.SealMail +
	// EnqueueOutgoing); nil drops portal mails.
	Mail func(ctx context.Context, m idp.Mail) error
}

// portalLinks returns the portal's links with the IdP's URL filled in.
func (h *Handler) portalLinks() templates.PortalLinks {
	l := h.cfg.Portal.Links
	if l.IdP == "" {
		l.IdP = h.cfg.Issuer
	}
	return l
}

// portalLayout fills the navigation and the footer of a page.
func (h *Handler) portalLayout(r *http.Request, p *templates.Page) {
	l := h.portalLinks()
	carry := "" // links to the services carry a language chosen with the switcher
	if _, err := r.Cookie(h.cookieName("kc_lang")); err == nil || r.URL.Query().Has("lang") {
		carry = p.Lang
	}
	p.Nav = templates.PortalNav(l, l.IdP, navCurrent(r.URL.Path), carry)
	p.Footer = templates.PortalFooter(l, l.IdP, carry)
}

// navCurrent returns the navigation entry a path of the IdP belongs to.
func navCurrent(path string) string {
	switch {
	case path == templates.PathOverview:
		return templates.NavOverview
	case path == templates.PathCatalogue || strings.HasPrefix(path, templates.PathCatalogue+"/"):
		return templates.NavServices
	case strings.HasPrefix(path, "/orgs"):
		return templates.NavOrgs
	case strings.HasPrefix(path, "/representations"):
		return templates.NavReps
	case path == "/" || strings.HasPrefix(path, "/account") || strings.HasPrefix(path, "/security"):
		return templates.NavAccount
	}
	return ""
}

// portalRoutes registers the portal's pages.
func (h *Handler) portalRoutes(ui func(string, http.HandlerFunc)) {
	if h.cfg.Portal.Catalogue != nil && h.cfg.Portal.Enablements != nil {
		h.prov.SetSSOHold(h.enablementPending) // catalogue.go
	}
	for _, p := range []string{templates.PathAccessibility, templates.PathPrivacy, templates.PathImprint} {
		ui("GET "+p, h.legal)
	}
	ui("GET "+templates.PathIntegration, h.guide) // portal_guide.go
	ui("GET "+templates.PathContact, h.contactForm)
	ui("POST "+templates.PathContact, h.contact)
	if h.cfg.Portal.Catalogue != nil {
		ui("GET "+templates.PathCatalogue, h.catalogue)
		ui("GET "+templates.PathCatalogue+"/{id}", h.catalogueService)
		ui("POST "+templates.PathCatalogue+"/{id}/enablement", h.enablementRequest)
	}
	ui("GET "+templates.PathOverview, h.overview)
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
	h.render(w, r, http.StatusOK, "legal", h.lang(w, r), v)
}
