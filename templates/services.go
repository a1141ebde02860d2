package templates

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
)

// ServiceFS holds the pages of the bundled relying-party services (status,
// forms, documents): services/layout.html defines "layout", which every page
// file fills by defining "content"; services/messages.json is the shared
// message catalogue; each service may add its own pages, "_"-prefixed
// partials and messages.json in services/{kind}/; services/static/ holds the
// assets served under /static/.
//
//go:embed all:services
var ServiceFS embed.FS

// ServicePageNames lists the shared pages of the services; each one is a file
// services/{name}.html. A service's own pages live in services/{kind}/ and are
// found by ParseServicesFS.
var ServicePageNames = []string{"status", "forms", "documents", "loggedout", "error"}

// ServiceLanguages lists the languages of the service message catalogue, the
// default (German) first.
var ServiceLanguages = []string{"de", "fr", "it", "en"}

// ErrUnknownServicePage is returned by ServicePages.Render for a page name
// that is not in ServicePageNames.
var ErrUnknownServicePage = errors.New("unknown service page")

// ServicePages holds the parsed service pages. It is safe for concurrent use.
type ServicePages struct {
	pages    map[string]*template.Template
	messages map[string]map[string]string
	assets   map[string]string // file name → URL with a content hash
}

// ParseServices parses the embedded service pages (ServiceFS). It fails when
// a page of ServicePageNames is missing, when a message is missing in one of
// ServiceLanguages or when a page uses a message key that does not exist.
func ParseServices() (*ServicePages, error) {
	return ParseServicesFS(ServiceFS)
}

// ParseServicesFS parses service pages laid out as in ServiceFS from fsys.
func ParseServicesFS(fsys fs.FS) (*ServicePages, error) {
	p := &ServicePages{
		pages:  make(map[string]*template.Template),
		assets: make(map[string]string),
	}
	if err := p.readMessages(fsys); err != nil {
		return nil, err
	}
	var errs []error
	if err := serviceCheckMessages(p.messages); err != nil {
		errs = append(errs, err)
	}
	static, err := fs.Sub(fsys, "services/static")
	if err != nil {
		return nil, fmt.Errorf("open service assets: %w", err)
	}
	err = fs.WalkDir(static, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(static, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		p.assets[name] = "/static/" + name + "?v=" + hex.EncodeToString(sum[:6])
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("hash service assets: %w", err)
	}
	funcs := template.FuncMap{"t": p.translate, "asset": p.asset}
	names, err := servicePages(fsys)
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		files := []string{"services/layout.html"}
		if dir, _, ok := strings.Cut(name, "/"); ok {
			// Partials of a service ("_"-prefixed files) are shared by its pages.
			partials, err := fs.Glob(fsys, "services/"+dir+"/_*.html")
			if err != nil {
				return nil, err
			}
			files = append(files, partials...)
		}
		files = append(files, "services/"+name+".html")
		t, err := template.New(path.Base(name)).Option("missingkey=error").Funcs(funcs).
			ParseFS(fsys, files...)
		if err == nil && (t.Lookup("layout") == nil || t.Lookup("content") == nil) {
			err = errors.New(`missing {{define "layout"}} or {{define "content"}}`)
		}
		if err == nil {
			err = p.checkKeys(t)
		}
		if err == nil {
			// The portal's navigation and footer, shared with the IdP's
			// layout (their keys are checked by TestServicePortalKeys).
			t, err = t.ParseFS(pageFS, "layout/portal.html")
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("service page %s: %w", name, err))
			continue
		}
		p.pages[name] = t
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return p, nil
}

// servicePages returns the names of the pages to parse: ServicePageNames
// (which must exist) and every page of a service's own folder,
// services/{kind}/{page}.html, named "{kind}/{page}"; files starting with
// "_" are partials, not pages.
func servicePages(fsys fs.FS) ([]string, error) {
	names := slices.Clone(ServicePageNames)
	files, err := fs.Glob(fsys, "services/*/*.html")
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		rel := strings.TrimSuffix(strings.TrimPrefix(f, "services/"), ".html")
		if strings.HasPrefix(path.Base(rel), "_") || strings.HasPrefix(rel, "static/") {
			continue
		}
		names = append(names, rel)
	}
	return names, nil
}

// readMessages reads services/messages.json and every service's own
// services/{kind}/messages.json into one catalogue; a key defined twice is
// an error.
func (p *ServicePages) readMessages(fsys fs.FS) error {
	files, err := fs.Glob(fsys, "services/*/messages.json")
	if err != nil {
		return err
	}
	p.messages = map[string]map[string]string{}
	for _, f := range append([]string{"services/messages.json"}, files...) {
		raw, err := fs.ReadFile(fsys, f)
		if err != nil {
			return fmt.Errorf("read service messages: %w", err)
		}
		var m map[string]map[string]string
		if err := json.Unmarshal(raw, &m); err != nil {
			return fmt.Errorf("decode service messages %s: %w", f, err)
		}
		for lang, msgs := range m {
			if p.messages[lang] == nil {
				p.messages[lang] = map[string]string{}
			}
			for k, v := range msgs {
				if _, dup := p.messages[lang][k]; dup {
					return fmt.Errorf("service messages %s: key %q (%s) defined twice", f, k, lang)
				}
				p.messages[lang][k] = v
			}
		}
	}
	return nil
}

// serviceCheckMessages reports every key that is missing in a language, and
// every language that is missing, compared with the default language.
func serviceCheckMessages(m map[string]map[string]string) error {
	def := m[ServiceLanguages[0]]
	if len(def) == 0 {
		return fmt.Errorf("service messages: no messages for %q", ServiceLanguages[0])
	}
	var errs []error
	for _, lang := range ServiceLanguages[1:] {
		for _, k := range slices.Sorted(maps.Keys(def)) {
			if m[lang][k] == "" {
				errs = append(errs, fmt.Errorf("service messages: %q missing in %q", k, lang))
			}
		}
	}
	return errors.Join(errs...)
}

// checkKeys finds literal message keys in t (the second argument of every
// call of "t" with a string constant) and reports the unknown ones, so a typo
// fails at start and not on the first request.
func (p *ServicePages) checkKeys(t *template.Template) error {
	var errs []error
	for _, tt := range t.Templates() {
		if tt.Tree == nil {
			continue
		}
		for _, k := range serviceLiteralKeys(tt.Tree.Root.String()) {
			if _, ok := p.messages[ServiceLanguages[0]][k]; !ok {
				errs = append(errs, fmt.Errorf("unknown message key %q in %s", k, tt.Name()))
			}
		}
	}
	return errors.Join(errs...)
}

// serviceLiteralKeys returns the string constants passed as message keys in
// the printed template source, i.e. X in {{t <lang> "X" …}}.
func serviceLiteralKeys(src string) []string {
	var keys []string
	for rest := src; ; {
		i := strings.Index(rest, "{{t ")
		if i < 0 {
			return keys
		}
		rest = rest[i+len("{{t "):]
		end := strings.Index(rest, "}}")
		if end < 0 {
			return keys
		}
		fields := strings.Fields(rest[:end])
		if len(fields) >= 2 && strings.HasPrefix(fields[1], `"`) {
			keys = append(keys, strings.Trim(fields[1], `"`))
		}
		rest = rest[end:]
	}
}

// translate is the template function "t": the message key in lang, with
// args filled in through fmt.Sprintf. A missing key is an error, so the page
// fails to render instead of showing a key.
func (p *ServicePages) translate(lang, key string, args ...any) (string, error) {
	msg, ok := p.messages[lang][key]
	if !ok {
		msg, ok = p.messages[ServiceLanguages[0]][key]
	}
	if !ok {
		return "", fmt.Errorf("unknown message key %q", key)
	}
	if len(args) == 0 {
		return msg, nil
	}
	return fmt.Sprintf(msg, args...), nil
}

// asset is the template function "asset": the URL of a static file with a
// content hash, so it can be cached for a long time.
func (p *ServicePages) asset(name string) (string, error) {
	u, ok := p.assets[name]
	if !ok {
		// The portal's shared assets (app.css) come from the IdP's static
		// files; page.Static serves them on the services' origins too.
		if assetExists(name) {
			return AssetURL(name), nil
		}
		return "", fmt.Errorf("unknown asset %q", name)
	}
	return u, nil
}

// Message returns the message key in lang (falling back to the default
// language), formatted with args; it is the template function "t" for Go code.
func (p *ServicePages) Message(lang, key string, args ...any) string {
	s, err := p.translate(lang, key, args...)
	if err != nil {
		return key
	}
	return s
}

// Render executes the page name with the view model data into w. It
// renders into a buffer first, so an error never leaves half a page in w.
func (p *ServicePages) Render(w io.Writer, name string, data any) error {
	t, ok := p.pages[name]
	if !ok {
		return fmt.Errorf("render %q: %w", name, ErrUnknownServicePage)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		return fmt.Errorf("render service page %s: %w", name, err)
	}
	if _, err := buf.WriteTo(w); err != nil {
		return fmt.Errorf("write service page %s: %w", name, err)
	}
	return nil
}

// ServiceStatic returns the static assets of the services (stylesheet), to
// be served under /static/.
func ServiceStatic() fs.FS {
	sub, err := fs.Sub(ServiceFS, "services/static")
	if err != nil {
		panic(fmt.Sprintf("templates: embedded services/static: %v", err)) // cannot happen with a valid embed
	}
	return sub
}
