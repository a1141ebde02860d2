// Package viewtest renders the IdP's page views in tests: every area
// checks its views against golden files (testdata/NAME.golden, rewritten
// with -update) and in every language, the same way.
package viewtest

import (
	"bytes"
	"flag"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kanton/kundencenter/idp/web/kit"
	"github.com/kanton/kundencenter/templates"
)

// update rewrites testdata/*.golden: go test ./idp/web/... -update
var update = flag.Bool("update", false, "update golden files")

// Case is one page rendered with a sample view model.
type Case struct {
	Name string
	Page string
	View func() any // a fresh view model per call (Render sets its Lang)
}

// SamplePage is the Page sample views share: a CSRF token and the
// language switcher of the given path.
func SamplePage(path string) templates.Page {
	u, err := url.Parse(path)
	if err != nil {
		panic(err)
	}
	return templates.Page{CSRFToken: "csrf-token-123", LangLinks: templates.LangLinks(u, "de")}
}

// Renderer parses the templates.
func Renderer(t *testing.T) *templates.Renderer {
	t.Helper()
	r, err := templates.Parse()
	if err != nil {
		t.Fatalf("parse templates: %v", err)
	}
	return r
}

// Render renders c in lang.
func Render(t *testing.T, r *templates.Renderer, c Case, lang string) string {
	t.Helper()
	var buf bytes.Buffer
	if err := r.Render(&buf, c.Page, lang, c.View()); err != nil {
		t.Fatalf("render %s in %s: %v", c.Name, lang, err)
	}
	return buf.String()
}

// Suite runs Golden and AllLanguages (with KeyLike) on cases.
func Suite(t *testing.T, cases []Case) {
	t.Run("golden", func(t *testing.T) { Golden(t, cases) })
	t.Run("languages", func(t *testing.T) { AllLanguages(t, cases, KeyLike, nil) })
}

// Golden renders every case in German and compares it with
// testdata/NAME.golden; -update rewrites the files.
func Golden(t *testing.T, cases []Case) {
	r := Renderer(t)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			got := Render(t, r, c, "de")
			path := filepath.Join("testdata", c.Name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatalf("write golden file: %v", err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read golden file (run go test with -update to create it): %v", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from %s (run go test with -update if the change is intended)\n%s", c.Name, path, firstDiff(string(want), got))
			}
		})
	}
}

// firstDiff shows the first differing line of want and got.
func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(wl), len(gl)) {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + strconv.Itoa(i+1) + ":\nwant: " + w + "\ngot:  " + g
		}
	}
	return ""
}

// KeyLike matches text that looks like a message key of the pages
// (section.name), the trace of a translation that fell back to its key.
var KeyLike = regexp.MustCompile(`\b(?:app|lang|layout|errors?|err|field|common|pw|login|register(?:_done)?|activate|reset(?:_request)?(?:_done)?|logout_confirm|logged_out|account)\.[a-z_]+\b`)

var (
	scriptRE    = regexp.MustCompile(`<script[^>]*>[^<]*(?:</script>)?`)
	ownScriptRE = regexp.MustCompile(`^<script src="/static/[a-z]+\.[0-9a-f]+\.js" defer></script>$`)
	// TagRE strips markup so that only text remains (asset URLs such as
	// /static/app.HASH.css would otherwise look like keys).
	TagRE = regexp.MustCompile(`<[^>]*>`)
)

// AllLanguages renders every case in every language and checks that no
// text matches keyLike (the trace of a translation that fell back to its
// key), that the dynamic keys the sample views use exist, that the CSP's
// rules hold (no inline style or script, only our own script files) and
// that no message's verbs mismatch its arguments. check, when set, adds
// checks of the area.
func AllLanguages(t *testing.T, cases []Case, keyLike *regexp.Regexp, check func(t *testing.T, c Case, out string)) {
	r := Renderer(t)
	for _, c := range cases {
		for _, lang := range templates.Langs() {
			t.Run(c.Name+"/"+lang, func(t *testing.T) {
				out := Render(t, r, c, lang)
				if !strings.Contains(out, `<html lang="`+lang+`">`) {
					t.Errorf("missing <html lang=%q>", lang)
				}
				if m := keyLike.FindAllString(TagRE.ReplaceAllString(out, " "), -1); len(m) > 0 {
					t.Errorf("untranslated keys in output: %q", m)
				}
				for _, key := range DynamicKeys(c.View()) {
					if r.T(lang, key) == key {
						t.Errorf("view uses unknown message key %q", key)
					}
				}
				for _, bad := range []string{"<style", " style=", "javascript:"} {
					if strings.Contains(out, bad) {
						t.Errorf("output contains %q, which the CSP forbids", bad)
					}
				}
				for _, tag := range scriptRE.FindAllString(out, -1) {
					if !ownScriptRE.MatchString(tag) {
						t.Errorf("output contains %s: only our own script files are allowed (CSP script-src 'self')", tag)
					}
				}
				if strings.Contains(out, "%!") {
					t.Errorf("output contains a fmt error (%%!): a message's verbs do not match its arguments")
				}
				if check != nil {
					check(t, c, out)
				}
			})
		}
	}
}

// FieldsWired checks that every field error of the view is linked from
// the summary, marked on its input and described by its message; label
// also wants a <label for=…> unless the field is in noLabel.
func FieldsWired(t *testing.T, c Case, out string, noLabel ...string) {
	t.Helper()
	for _, e := range c.View().(kit.View).Base().Errors {
		if e.Field == "" {
			continue
		}
		for _, want := range []string{`href="#` + e.Field + `"`, `id="` + e.Field + `"`, `id="` + e.Field + `-error"`} {
			if !strings.Contains(out, want) {
				t.Errorf("error of %s: page lacks %s", e.Field, want)
			}
		}
		if !slices.Contains(noLabel, e.Field) && !strings.Contains(out, `for="`+e.Field+`"`) {
			t.Errorf("error of %s: no label", e.Field)
		}
	}
}

// DynamicKeys returns the message keys a view model carries (the keys
// written in the templates are checked when they are parsed).
func DynamicKeys(v any) []string {
	p := v.(kit.View).Base()
	var keys []string
	if p.Title != "" {
		keys = append(keys, p.Title)
	}
	if p.Notice != "" {
		keys = append(keys, p.Notice)
	}
	for _, e := range p.Errors {
		keys = append(keys, e.Key)
	}
	if e, ok := v.(*kit.ErrorView); ok && e.MessageKey != "" {
		keys = append(keys, e.MessageKey)
	}
	return keys
}
