package templates

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"path"
	"reflect"
	"slices"
	"strings"
	"text/template/parse"
	"time"
	_ "time/tzdata" // Swiss dates also where the system has no zone database
)

// pageFS holds the layout, the pages and the message catalogues.
//
//go:embed layout pages i18n
var pageFS embed.FS

// requiredPages are the pages Parse insists on; a missing file is a start-up
// error, not a 500 on the first request.
var requiredPages = []string{
	"login", "register", "register_done", "activate_done",
	"reset_request", "reset_request_done", "reset", "reset_done",
	"logout_confirm", "logged_out", "account", "error",
	"login_mfa", "mfa_unmet", "security", "security_phone", "recovery_codes", "login_passkey",
	"login_context", "activate",
}

// Page is the base every page view model embeds. Handlers fill it; the
// layout renders it around the page's own content.
type Page struct {
	Lang      string       // de, fr, it or en; set by Render, sets <html lang>
	Title     string       // message key overriding the page's default title; "" keeps the default
	CSRFToken string       // rendered by {{csrf $}} as a hidden input named "csrf"; "" renders nothing
	Errors    []FieldError // error summary at the top of the page plus per-field messages
	Notice    string       // message key of an informational banner, optional
	RequestID string       // shown on error pages so support can find the log entry
	User      string       // display name when logged in ("" = anonymous); the header then shows a logout button
	LangLinks []LangLink   // language switcher; build it with LangLinks
	Nav       []NavItem    // the portal's main navigation (PortalNav); shown when logged in
	Footer    []FooterLink // the portal's footer links (PortalFooter)
}

// FieldError is one validation or form-level error shown to the user.
type FieldError struct {
	Field string // id (and name) of the input the error belongs to; "" for a form-level error
	Key   string // message key, e.g. "err.required"
	Args  []any  // fmt-style arguments of the message, usually none
}

// LangLink is one entry of the language switcher.
type LangLink struct {
	Lang    string // de, fr, it or en
	URL     string // the current path and query with lang set to Lang
	Current bool   // true for the language the page is shown in
}

// Base returns the page itself, so that Render and handlers can reach the
// embedded Page of any view model generically.
func (p *Page) Base() *Page { return p }

// viewModel is what Render accepts: a pointer to a struct embedding Page.
type viewModel interface{ Base() *Page }

// Renderer renders the parsed pages. It is safe for concurrent use.
type Renderer struct {
	pages map[string]*template.Template
	cat   catalogues
}

// Parse parses every page of the embedded files once. It fails on a missing
// page, on a template that uses a message key or asset that does not exist,
// and on message catalogues that are not complete in all four languages.
func Parse() (*Renderer, error) {
	return ParseFS(pageFS)
}

// ParseFS is Parse on another file system laid out like the embedded one:
// layout/*.html, pages/NAME.html and i18n/LANG.json.
func ParseFS(fsys fs.FS) (*Renderer, error) {
	cat, err := loadCatalogues(fsys)
	if err != nil {
		return nil, err
	}
	r := &Renderer{pages: map[string]*template.Template{}, cat: cat}
	base, err := template.New("layout").Funcs(r.funcs()).ParseFS(fsys, "layout/*.html")
	if err != nil {
		return nil, fmt.Errorf("parse layout: %w", err)
	}
	files, err := fs.Glob(fsys, "pages/*.html")
	if err != nil {
		return nil, fmt.Errorf("list pages: %w", err)
	}
	var errs []error
	for _, file := range files {
		name := strings.TrimSuffix(path.Base(file), ".html")
		t, err := base.Clone()
		if err != nil {
			return nil, fmt.Errorf("clone layout for %q: %w", name, err)
		}
		if _, err := t.ParseFS(fsys, file); err != nil {
			errs = append(errs, fmt.Errorf("parse page %q: %w", name, err))
			continue
		}
		for _, block := range []string{"title", "content"} {
			if t.Lookup(block) == nil {
				errs = append(errs, fmt.Errorf("page %q: no {{define %q}}", name, block))
			}
		}
		errs = append(errs, r.checkRefs(name, t)...)
		r.pages[name] = t
	}
	for _, name := range requiredPages {
		if _, ok := r.pages[name]; !ok {
			errs = append(errs, fmt.Errorf("page %q: missing pages/%s.html", name, name))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// html/template escapes lazily on the first execution; do it now so
	// that an ambiguous context fails at start-up too. Execution errors on
	// the empty view model are expected and ignored.
	for name, t := range r.pages {
		var escErr *template.Error
		if err := t.ExecuteTemplate(io.Discard, "layout", &Page{}); errors.As(err, &escErr) {
			errs = append(errs, fmt.Errorf("escape page %q: %w", name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return r, nil
}

// Pages returns the names of the parsed pages, sorted.
func (r *Renderer) Pages() []string {
	names := make([]string, 0, len(r.pages))
	for name := range r.pages {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Render executes page with data, a pointer to a view model embedding Page,
// in lang (an unsupported lang becomes de and is stored in data's Page). It
// renders into a buffer first, so w receives nothing when rendering fails
// and the caller can still answer with a clean 500.
func (r *Renderer) Render(w io.Writer, page, lang string, data any) error {
	t, ok := r.pages[page]
	if !ok {
		return fmt.Errorf("render %q: no such page", page)
	}
	v, ok := data.(viewModel)
	if !ok || isNilPointer(data) {
		return fmt.Errorf("render %q: view model %T is not a non-nil pointer to a struct embedding templates.Page", page, data)
	}
	v.Base().Lang = supportedLang(lang)
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		return fmt.Errorf("render %q: %w", page, err)
	}
	if _, err := buf.WriteTo(w); err != nil {
		return fmt.Errorf("write %q: %w", page, err)
	}
	return nil
}

// T translates key into lang, formatting args into the message fmt-style.
// An unsupported lang falls back to German; an unknown key is returned as
// is (and the tests make sure no template uses one).
func (r *Renderer) T(lang, key string, args ...any) string {
	msgs, ok := r.cat[lang]
	if !ok {
		msgs = r.cat[defaultLang]
	}
	msg, ok := msgs[key]
	if !ok {
		return key
	}
	if len(args) == 0 || !strings.Contains(msg, "%") {
		return msg
	}
	return fmt.Sprintf(msg, args...)
}

// Has reports whether the catalogues have a message key (they all have
// the same keys).
func (r *Renderer) Has(key string) bool {
	_, ok := r.cat[defaultLang][key]
	return ok
}

// funcs is the template FuncMap. It is small on purpose: translation,
// field-error lookup, the CSRF field and asset URLs.
func (r *Renderer) funcs() template.FuncMap {
	return template.FuncMap{
		// t translates: {{t $.Lang "login.title"}}, {{t $.Lang .Key .Args}}.
		// A single []any argument is spread, so FieldError.Args works.
		"t": func(lang, key string, args ...any) string {
			if len(args) == 1 {
				if spread, ok := args[0].([]any); ok {
					args = spread
				}
			}
			return r.T(lang, key, args...)
		},
		// label returns the translated label of a field id, "" if it has none.
		"label": func(lang, field string) string {
			key := "field." + field
			if _, ok := r.cat[defaultLang][key]; !ok {
				return ""
			}
			return r.T(lang, key)
		},
		// fieldError returns the translated messages for a field id, "" if none.
		"fieldError": func(data any, field string) (string, error) {
			p, err := pageOf(data)
			if err != nil {
				return "", err
			}
			var msgs []string
			for _, e := range p.Errors {
				if e.Field == field {
					msgs = append(msgs, r.T(p.Lang, e.Key, e.Args...))
				}
			}
			return strings.Join(msgs, " "), nil
		},
		// hasError reports whether a field id has an error.
		"hasError": func(data any, field string) (bool, error) {
			p, err := pageOf(data)
			if err != nil {
				return false, err
			}
			return slices.ContainsFunc(p.Errors, func(e FieldError) bool { return e.Field == field }), nil
		},
		// csrf renders the hidden CSRF field of the view model.
		"csrf": func(data any) (template.HTML, error) {
			p, err := pageOf(data)
			if err != nil || p.CSRFToken == "" {
				return "", err
			}
			// The token is escaped here; nothing else reaches the markup.
			return template.HTML(`<input type="hidden" name="csrf" value="` + template.HTMLEscapeString(p.CSRFToken) + `">`), nil //nolint:gosec // escaped above
		},
		"asset": AssetURL,
		// date formats a time as a Swiss date (31.12.2026) in Swiss time;
		// the zero time gives "".
		"date": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.In(zurich).Format("02.01.2006")
		},
	}
}

// zurich is the time zone dates are shown in (UTC if the zone database is missing).
var zurich = func() *time.Location {
	if l, err := time.LoadLocation("Europe/Zurich"); err == nil {
		return l
	}
	return time.UTC
}()

// pageOf returns the embedded Page of a view model.
func pageOf(data any) (*Page, error) {
	v, ok := data.(viewModel)
	if !ok || isNilPointer(data) {
		return nil, fmt.Errorf("view model %T does not embed templates.Page", data)
	}
	return v.Base(), nil
}

func isNilPointer(data any) bool {
	rv := reflect.ValueOf(data)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}

// checkRefs reports every constant message key a page's templates pass to
// t that some catalogue lacks, and every constant asset name that does not
// exist. Keys chosen at run time (Title, Errors, Notice) are covered by the
// tests that render every page in every language.
func (r *Renderer) checkRefs(page string, t *template.Template) []error {
	var errs []error
	for _, tt := range t.Templates() {
		if tt.Tree == nil {
			continue
		}
		walkCalls(tt.Tree.Root, func(fn string, args []parse.Node) {
			switch fn {
			case "t":
				if len(args) < 2 {
					return
				}
				key, ok := args[1].(*parse.StringNode)
				if !ok {
					return
				}
				for _, lang := range Langs() {
					if _, ok := r.cat[lang][key.Text]; !ok {
						errs = append(errs, fmt.Errorf("page %q, template %q: message key %q missing in i18n/%s.json", page, tt.Name(), key.Text, lang))
					}
				}
			case "asset":
				if len(args) < 1 {
					return
				}
				if name, ok := args[0].(*parse.StringNode); ok && !assetExists(name.Text) {
					errs = append(errs, fmt.Errorf("page %q, template %q: asset %q missing in static/", page, tt.Name(), name.Text))
				}
			}
		})
	}
	return errs
}

// walkCalls calls visit for every function call in the tree with the
// function's name and its arguments.
func walkCalls(node parse.Node, visit func(fn string, args []parse.Node)) {
	switch n := node.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			walkCalls(c, visit)
		}
	case *parse.ActionNode:
		walkCalls(n.Pipe, visit)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, cmd := range n.Cmds {
			walkCalls(cmd, visit)
		}
	case *parse.CommandNode:
		if len(n.Args) > 0 {
			if id, ok := n.Args[0].(*parse.IdentifierNode); ok {
				visit(id.Ident, n.Args[1:])
			}
		}
		for _, a := range n.Args {
			walkCalls(a, visit)
		}
	case *parse.IfNode:
		walkBranch(&n.BranchNode, visit)
	case *parse.RangeNode:
		walkBranch(&n.BranchNode, visit)
	case *parse.WithNode:
		walkBranch(&n.BranchNode, visit)
	case *parse.TemplateNode:
		walkCalls(n.Pipe, visit)
	}
}

func walkBranch(b *parse.BranchNode, visit func(fn string, args []parse.Node)) {
	walkCalls(b.Pipe, visit)
	walkCalls(b.List, visit)
	walkCalls(b.ElseList, visit)
}
