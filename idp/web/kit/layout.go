package kit

import (
	"net/http"
	"strings"

	"github.com/kanton/kundencenter/templates"
)

// portalLinks returns the portal's links with the IdP's URL filled in.
func (h *Kit) PortalLinks() templates.PortalLinks {
	l := h.Cfg.Portal.Links
	if l.IdP == "" {
		l.IdP = h.Cfg.Issuer
	}
	return l
}

// portalLayout fills the navigation and the footer of a page.
func (h *Kit) portalLayout(r *http.Request, p *templates.Page) {
	l := h.PortalLinks()
	carry := "" // links to the services carry a language chosen with the switcher
	if _, err := r.Cookie(h.CookieName("kc_lang")); err == nil || r.URL.Query().Has("lang") {
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
