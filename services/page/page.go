package page

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/text/language"

	"github.com/kanton/kundencenter/health"
	"github.com/kanton/kundencenter/templates"
)

// Kind names one of the bundled services.
type Kind string

// The bundled services.
const (
	Status    Kind = "status"
	Forms     Kind = "forms"
	Documents Kind = "documents"
)

// Links holds the base URLs of the IdP and the three services (e.g.
// "http://localhost:8082"), used for the portal navigation between them; an
// empty service URL leaves the service out of the navigation, an empty IdP
// URL leaves out the IdP's entries.
type Links struct {
	IdP       string
	Status    string
	Forms     string
	Documents string
}

// Site describes the service a Renderer draws pages for; the zero Site draws
// pages without navigation.
type Site struct {
	Kind  Kind
	Links Links
	// Ready are the service's readiness checks (its database), served at
	// GET /readyz by Mount.
	Ready []health.Check
}

// NavLink is one entry of the portal navigation.
type NavLink = templates.NavItem

// FooterLink is one link of the portal footer.
type FooterLink = templates.FooterLink

// Layout is the part of every page's view model that the shared layout
// draws; view models embed it.
type Layout struct {
	Lang      string // de, fr, it or en
	TitleKey  string // message key of the page title
	User      string // display name of the logged-in person; "" hides the greeting, navigation and logout button
	For       string // whom the person acts for at this service ("R für P"); "" for themself
	CSRF      string // token of the logout form
	Nav       []NavLink
	Footer    []FooterLink
	LangLinks []LangLink
	SwitchURL string // where to choose again for whom the person acts (a new login at this service)
}

// LangLink is one entry of the language switcher.
type LangLink struct {
	Lang    string
	URL     string
	Current bool
}

// Renderer renders the service pages of one site. It is safe for concurrent
// use.
type Renderer struct {
	pages *templates.ServicePages
	site  Site
	log   *slog.Logger
}

// New parses the service pages and returns a Renderer for site; log receives
// render failures (nil means slog.Default()).
func New(site Site, log *slog.Logger) (*Renderer, error) {
	pages, err := templates.ParseServices()
	if err != nil {
		return nil, fmt.Errorf("parse service pages: %w", err)
	}
	if log == nil {
		log = slog.Default()
	}
	return &Renderer{pages: pages, site: site, log: log}, nil
}

// Layout returns the layout of a page with the title titleKey, in the
// language of r (see Lang) and with the portal navigation and footer of the
// site; User, For and CSRF are left to the caller.
func (p *Renderer) Layout(r *http.Request, titleKey string) Layout {
	lang, explicit := langOf(r)
	l := Layout{Lang: lang, TitleKey: titleKey}
	carry := "" // the language the cross-origin links carry: only a choice made with the switcher
	if explicit {
		carry = lang
	}
	if p.site.Kind == "" && p.site.Links == (Links{}) {
		return l
	}
	links := templates.PortalLinks{IdP: p.site.Links.IdP, Status: p.site.Links.Status,
		Forms: p.site.Links.Forms, Documents: p.site.Links.Documents}
	from := p.siteURL()
	l.Nav = templates.PortalNav(links, from, navID(p.site.Kind), carry)
	if links.IdP == "" {
		l.Nav = slices.DeleteFunc(l.Nav, func(n NavLink) bool {
			return n.ID != templates.NavCases && n.ID != templates.NavForms && n.ID != templates.NavDocuments
		})
	} else {
		l.Footer = templates.PortalFooter(links, from, carry)
	}
	u := *r.URL
	for _, tl := range templates.LangLinks(&u, lang) {
		l.LangLinks = append(l.LangLinks, LangLink{Lang: tl.Lang, URL: tl.URL, Current: tl.Current})
	}
	l.SwitchURL = "/login?return=" + url.QueryEscape(r.URL.Path)
	return l
}

// siteURL is the base URL of the site's own service.
func (p *Renderer) siteURL() string {
	switch p.site.Kind {
	case Status:
		return p.site.Links.Status
	case Forms:
		return p.site.Links.Forms
	case Documents:
		return p.site.Links.Documents
	}
	return ""
}

// navID is the navigation entry of a service.
func navID(k Kind) string {
	switch k {
	case Status:
		return templates.NavCases
	case Forms:
		return templates.NavForms
	case Documents:
		return templates.NavDocuments
	}
	return ""
}

// Message returns the message key in lang, formatted with args.
func (p *Renderer) Message(lang, key string, args ...any) string {
	return p.pages.Message(lang, key, args...)
}

// Render writes the page name with the view model data and the HTTP status.
// The page is rendered into a buffer first; a failed render is logged and
// answered with a plain 500.
func (p *Renderer) Render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var buf bytes.Buffer
	if err := p.pages.Render(&buf, name, data); err != nil {
		p.log.ErrorContext(r.Context(), "render page", "page", name, "error", err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	RememberLang(w, r)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// Mount registers the static assets (GET /static/…), liveness (GET /livez,
// alias /healthz) and readiness (GET /readyz over Site.Ready) on mux.
func (p *Renderer) Mount(mux *http.ServeMux) {
	mux.Handle("GET /static/", http.StripPrefix("/static/", Static()))
	health.Mount(mux, p.log, p.site.Ready...)
}

// Static serves the service assets (stylesheet). Versioned URLs (with ?v=,
// as the templates write them) may be cached for a year; directory listings
// are refused.
func Static() http.Handler {
	files := http.FileServerFS(templates.ServiceStatic())
	shared := templates.Static()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		if _, err := fs.Stat(templates.ServiceStatic(), r.URL.Path); err != nil {
			// The portal's shared assets (app.css), with content-hashed names.
			r2 := r.Clone(r.Context())
			r2.URL.Path = "/static/" + r.URL.Path
			shared.ServeHTTP(w, r2)
			return
		}
		if r.URL.Query().Has("v") {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		files.ServeHTTP(w, r)
	})
}

// Languages lists the supported languages, the default first.
var Languages = []string{"de", "fr", "it", "en"}

var matcher = language.NewMatcher([]language.Tag{language.German, language.French, language.Italian, language.English})

// LangCookie is the cookie in which a service remembers the language
// chosen with ?lang= (per origin; the portal's cross-origin links carry
// lang, so the choice holds across the four origins).
const LangCookie = "kc_lang"

type langKey struct{}

// WithLang returns ctx carrying the logged-in person's language (the
// session's, from the IdP's locale claim); Lang uses it when neither the
// query nor the cookie names one.
func WithLang(ctx context.Context, lang string) context.Context {
	return context.WithValue(ctx, langKey{}, lang)
}

// Lang returns the language of r: ?lang=, the language cookie, the
// session's language (WithLang), then the Accept-Language header: de, fr,
// it or en, German when nothing matches.
func Lang(r *http.Request) string {
	l, _ := langOf(r)
	return l
}

// langOf is Lang; explicit reports a choice made with the language
// switcher (the query or the cookie), which the links to the portal's other
// origins carry on.
func langOf(r *http.Request) (lang string, explicit bool) {
	if l := supported(r.URL.Query().Get("lang")); l != "" {
		return l, true
	}
	if c, err := r.Cookie(LangCookie); err == nil {
		if l := supported(c.Value); l != "" {
			return l, true
		}
	}
	if l, _ := r.Context().Value(langKey{}).(string); supported(l) != "" {
		return l, false
	}
	return acceptLang(r), false
}

// acceptLang matches the Accept-Language header.
func acceptLang(r *http.Request) string {
	accept := r.Header.Get("Accept-Language")
	if accept == "" {
		return Languages[0]
	}
	tags, _, err := language.ParseAcceptLanguage(accept)
	if err != nil || len(tags) == 0 {
		return Languages[0]
	}
	_, i, conf := matcher.Match(tags...)
	if conf == language.No {
		return Languages[0]
	}
	return Languages[i]
}

// RememberLang sets the language cookie when r chooses a language with
// ?lang=.
func RememberLang(w http.ResponseWriter, r *http.Request) {
	l := supported(r.URL.Query().Get("lang"))
	if l == "" {
		return
	}
	http.SetCookie(w, &http.Cookie{Name: LangCookie, Value: l, Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
}

// supported returns lang if it is one of Languages, else "".
func supported(lang string) string {
	if slices.Contains(Languages, lang) {
		return lang
	}
	return ""
}
