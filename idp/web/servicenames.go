package web

import (
	"net/http"
	"strings"

	"github.com/kanton/kundencenter/templates"
)

// serviceName is the name of the service (OIDC client) id shown in lang:
// the catalogues' message "client.<id>" where they have one (the bundled
// services: "Formulare" is "Formulaires" in French), else the name the
// client was registered with, which is in one language only.
func (h *Handler) serviceName(lang, id, registered string) string {
	if key := "client." + id; id != "" && h.tpl.Has(key) {
		return h.tpl.T(lang, key)
	}
	return registered
}

// clientName is serviceName for the client of an auth request, in the
// language the page is rendered in.
func (h *Handler) clientName(r *http.Request, id string, uiLocales ...string) string {
	return h.serviceName(h.langOf(r, uiLocales...), id, h.prov.ClientName(r.Context(), id))
}

// langOf is the language h.lang chooses for r, without remembering a
// ?lang= choice in the cookie (h.lang does that when the page renders).
func (h *Handler) langOf(r *http.Request, uiLocales ...string) string {
	if q := r.URL.Query().Get("lang"); q != "" {
		return templates.MatchLang(q)
	}
	var cands []string
	if c, err := r.Cookie(h.cookieName("kc_lang")); err == nil {
		cands = append(cands, c.Value)
	}
	cands = append(cands, strings.Join(uiLocales, " "), r.Header.Get("Accept-Language"))
	return templates.MatchLang(cands...)
}
