package templates

import (
	"net/url"
	"strings"
)

// PortalLinks are the public base URLs of the four origins of the portal:
// the IdP and the three bundled services. An empty service URL leaves that
// service out of the navigation.
type PortalLinks struct {
	IdP, Status, Forms, Documents string
}

// NavItem is one entry of the portal's main navigation. Key is the message
// key of its label; it exists in the IdP's catalogue and in the services'.
type NavItem struct {
	ID      string // overview, services, cases, documents, forms, orgs, reps, account
	Key     string
	URL     string
	Current bool
}

// Portal navigation IDs, also the "current" argument of PortalNav.
const (
	NavOverview  = "overview"
	NavServices  = "services"
	NavCases     = "cases"
	NavDocuments = "documents"
	NavForms     = "forms"
	NavOrgs      = "orgs"
	NavReps      = "reps"
	NavAccount   = "account"
)

// IdP paths of the portal pages linked from the navigation and the footer.
const (
	PathOverview      = "/overview"
	PathCatalogue     = "/services"
	PathContact       = "/contact"
	PathAccessibility = "/accessibility"
	PathPrivacy       = "/privacy"
	PathImprint       = "/imprint"
	PathIntegration   = "/integration" // the integration guide for service teams
)

// PortalNav returns the main navigation of every page of the portal, the
// same on all four origins: Übersicht, Dienstleistungen, Meine Vorgänge,
// Meine Dokumente, Formulare, Organisationen, Vertretungen, Mein Konto.
// from is the origin the page is served by ("" or l.IdP for the IdP, else
// the service's base URL): links to the same origin are relative, links to
// another origin are absolute and carry lang, so that the language chosen
// holds across the origins.
func PortalNav(l PortalLinks, from, current, lang string) []NavItem {
	items := []NavItem{
		{ID: NavOverview, Key: "portal.nav.overview", URL: PortalURL(l.IdP, from, PathOverview, lang)},
		{ID: NavServices, Key: "portal.nav.services", URL: PortalURL(l.IdP, from, PathCatalogue, lang)},
	}
	for _, s := range []struct{ id, key, base string }{
		{NavCases, "portal.nav.cases", l.Status},
		{NavDocuments, "portal.nav.documents", l.Documents},
		{NavForms, "portal.nav.forms", l.Forms},
	} {
		if s.base != "" {
			items = append(items, NavItem{ID: s.id, Key: s.key, URL: PortalURL(s.base, from, "/", lang)})
		}
	}
	items = append(items,
		NavItem{ID: NavOrgs, Key: "portal.nav.orgs", URL: PortalURL(l.IdP, from, "/orgs", lang)},
		NavItem{ID: NavReps, Key: "portal.nav.reps", URL: PortalURL(l.IdP, from, "/representations", lang)},
		NavItem{ID: NavAccount, Key: "portal.nav.account", URL: PortalURL(l.IdP, from, "/", lang)},
	)
	for i := range items {
		items[i].Current = items[i].ID == current
	}
	return items
}

// FooterLink is one link of the portal's footer.
type FooterLink struct {
	Key string // message key of the label
	URL string
}

// PortalFooter returns the footer links (contact, accessibility statement,
// data protection, imprint, the integration guide), all pages of the IdP.
func PortalFooter(l PortalLinks, from, lang string) []FooterLink {
	return []FooterLink{
		{Key: "portal.footer.contact", URL: PortalURL(l.IdP, from, PathContact, lang)},
		{Key: "portal.footer.accessibility", URL: PortalURL(l.IdP, from, PathAccessibility, lang)},
		{Key: "portal.footer.privacy", URL: PortalURL(l.IdP, from, PathPrivacy, lang)},
		{Key: "portal.footer.imprint", URL: PortalURL(l.IdP, from, PathImprint, lang)},
		{Key: "portal.footer.integration", URL: PortalURL(l.IdP, from, PathIntegration, lang)},
	}
}

// PortalURL returns the link to path at origin base as seen from the origin
// from: relative when both are the same origin (or base is ""), absolute
// with ?lang= otherwise.
func PortalURL(base, from, path, lang string) string {
	base = strings.TrimSuffix(base, "/")
	if base == "" || base == strings.TrimSuffix(from, "/") {
		return path
	}
	u := base + path
	if lang != "" {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		u += sep + "lang=" + url.QueryEscape(lang)
	}
	return u
}
