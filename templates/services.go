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
	"slices"
	"strings"
)

// ServiceFS holds the pages of the bundled relying-party services (status,
// forms, documents): services/layout.html defines "layout", which every page
// file fills by defining "content"; services/messages.json is the message
// catalogue; services/static/ holds the assets served under /static/.
//
//go:embed services
var ServiceFS embed.FS

// ServicePageNames lists every page of the services; each one is a file
// services/{name}.html.
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
	raw, err := fs.ReadFile(fsys, "services/messages.json")
	if err != nil {
		return nil, fmt.Errorf("read service messages: %w", err)
	}
	if err := json.Unmarshal(raw, &p.messages); err != nil {
		return nil, fmt.Errorf("decode service messages: %w", err)
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
	for _, name := range ServicePageNames {
		t, err := template.New(name).Option("missingkey=error").Funcs(funcs).
			ParseFS(fsys, "services/layout.html", "services/"+name+".html")
		if err == nil && (t.Lookup("layout") == nil || t.Lookup("content") == nil) {
			err = errors.New(`missing {{define "layout"}} or {{define "content"}}`)
		}
		if err == nil {
			err = p.checkKeys(t)
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
