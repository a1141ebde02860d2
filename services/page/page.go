package page

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"golang.org/x/text/language"

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

// Links holds the base URLs of the three services (e.g.
// "http://localhost:8082"), used for the navigation between them; an empty
// URL leaves the service out of the navigation.
type Links struct {
	Status    string
	Forms     string
	Documents string
}

// Site describes the service a Renderer draws pages for; the zero Site draws
// pages without navigation.
type Site struct {
	Kind  Kind
	Links Links
}

// NavLink is one entry of the navigation between the services.
type NavLink struct {
	Key     string // message key of the label
	URL     string
	Current bool
}

// Layout is the part of every page's view model that the shared layout
// draws; view models embed it.
type Layout struct {
	Lang     string // de, fr, it or en
	TitleKey string // message key of the page title
	User     string // display name of the logged-in person; "" hides the greeting and logout button
	For      string // whom the person acts for at this service ("R für P"); "" for themself
	CSRF     string // token of the logout form
	Nav      []NavLink
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
// language of r and with the navigation of the site; User and CSRF are left
// to the caller.
func (p *Renderer) Layout(r *http.Request, titleKey string) Layout {
	l := Layout{Lang: Lang(r), TitleKey: titleKey}
	for _, e := range []struct {
		kind Kind
		url  string
	}{
		{Status, p.site.Links.Status},
		{Forms, p.site.Links.Forms},
		{Documents, p.site.Links.Documents},
	} {
		if e.url == "" {
			continue
		}
		l.Nav = append(l.Nav, NavLink{
			Key:     "site." + string(e.kind),
			URL:     strings.TrimSuffix(e.url, "/") + "/",
			Current: e.kind == p.site.Kind,
		})
	}
	return l
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
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// Mount registers the static assets (GET /static/…) and the health check
// (GET /healthz) on mux.
func (p *Renderer) Mount(mux *http.ServeMux) {
	mux.Handle("GET /static/", http.StripPrefix("/static/", Static()))
	mux.HandleFunc("GET /healthz", Healthz)
}

// Static serves the service assets (stylesheet). Versioned URLs (with ?v=,
// as the templates write them) may be cached for a year; directory listings
// are refused.
func Static() http.Handler {
	files := http.FileServerFS(templates.ServiceStatic())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
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

// Healthz answers 200 "ok"; a service is only served once its login
// plumbing has found the IdP, so there is nothing more to check.
func Healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// Languages lists the supported languages, the default first.
var Languages = []string{"de", "fr", "it", "en"}

var matcher = language.NewMatcher([]language.Tag{language.German, language.French, language.Italian, language.English})

// Lang returns the language of r from its Accept-Language header: de, fr,
// it or en, German when nothing matches.
func Lang(r *http.Request) string {
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
