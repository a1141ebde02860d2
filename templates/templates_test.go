package templates

import (
	"bytes"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// embeddedCopy returns the embedded page files as a MapFS that a test case
// can change.
func embeddedCopy(t *testing.T) fstest.MapFS {
	t.Helper()
	m := fstest.MapFS{}
	err := fs.WalkDir(pageFS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := pageFS.ReadFile(p)
		if err != nil {
			return err
		}
		m[p] = &fstest.MapFile{Data: data}
		return nil
	})
	if err != nil {
		t.Fatalf("copy embedded files: %v", err)
	}
	return m
}

func TestParse(t *testing.T) {
	r, err := Parse()
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	for _, name := range requiredPages {
		if !slices.Contains(r.Pages(), name) {
			t.Errorf("page %q not parsed", name)
		}
	}
}

func TestParseFSRefusesBrokenFiles(t *testing.T) {
	tests := []struct {
		name   string
		change func(m fstest.MapFS)
		want   string
	}{
		{
			name:   "missing page",
			change: func(m fstest.MapFS) { delete(m, "pages/login.html") },
			want:   `page "login": missing pages/login.html`,
		},
		{
			name: "missing layout",
			change: func(m fstest.MapFS) {
				delete(m, "layout/layout.html")
				delete(m, "layout/partials.html")
				delete(m, "layout/portal.html")
			},
			want: "parse layout",
		},
		{
			name:   "missing catalogue",
			change: func(m fstest.MapFS) { delete(m, "i18n/it.json") },
			want:   "open catalogue",
		},
		{
			name: "key missing in one language",
			change: func(m fstest.MapFS) {
				m["i18n/fr.json"].Data = []byte(strings.Replace(string(m["i18n/fr.json"].Data), `"login.forgot"`, `"login.forgotten"`, 1))
			},
			want: `i18n/fr.json: "login.forgot" missing`,
		},
		{
			name: "duplicate key",
			change: func(m fstest.MapFS) {
				m["i18n/en.json"].Data = []byte(strings.Replace(string(m["i18n/en.json"].Data), "{", `{"login.title": "Sign in",`, 1))
			},
			want: `duplicate key "login.title"`,
		},
		{
			name: "empty text",
			change: func(m fstest.MapFS) {
				m["i18n/de.json"].Data = []byte(strings.Replace(string(m["i18n/de.json"].Data), `"Passwort vergessen?"`, `" "`, 1))
			},
			want: `"login.forgot" is empty`,
		},
		{
			name: "verbs differ between languages",
			change: func(m fstest.MapFS) {
				m["i18n/it.json"].Data = []byte(strings.Replace(string(m["i18n/it.json"].Data), `"Accedi con %s"`, `"Accedi"`, 1))
			},
			want: `"login.with" has verbs`,
		},
		{
			name: "template uses an unknown key",
			change: func(m fstest.MapFS) {
				m["pages/reset_done.html"].Data = append(m["pages/reset_done.html"].Data, []byte(`{{define "extra"}}{{t .Lang "reset_done.nope"}}{{end}}`)...)
			},
			want: `message key "reset_done.nope" missing in i18n/de.json`,
		},
		{
			name: "template uses an unknown asset",
			change: func(m fstest.MapFS) {
				m["pages/reset_done.html"].Data = append(m["pages/reset_done.html"].Data, []byte(`{{define "extra"}}{{asset "nope.js"}}{{end}}`)...)
			},
			want: `asset "nope.js" missing`,
		},
		{
			name: "page without content",
			change: func(m fstest.MapFS) {
				m["pages/extra.html"] = &fstest.MapFile{Data: []byte(`{{define "title"}}x{{end}}`)}
			},
			want: `page "extra": no {{define "content"}}`,
		},
		{
			name: "template syntax error",
			change: func(m fstest.MapFS) {
				m["pages/error.html"].Data = append(m["pages/error.html"].Data, []byte(`{{if}}`)...)
			},
			want: `parse page "error"`,
		},
		{
			name: "ambiguous html context",
			change: func(m fstest.MapFS) {
				m["pages/error.html"].Data = bytes.Replace(m["pages/error.html"].Data, []byte(`<h1>`), []byte(`<h1 {{if .BackURL}}title="{{end}}">`), 1)
			},
			want: `escape page "error"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := embeddedCopy(t)
			tt.change(m)
			_, err := ParseFS(m)
			if err == nil {
				t.Fatalf("ParseFS succeeded, want error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseFS error = %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestT(t *testing.T) {
	r, err := Parse()
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	tests := []struct {
		name string
		lang string
		key  string
		args []any
		want string
	}{
		{name: "german", lang: "de", key: "login.title", want: "Anmelden"},
		{name: "french", lang: "fr", key: "login.title", want: "Connexion"},
		{name: "italian", lang: "it", key: "login.title", want: "Accesso"},
		{name: "english", lang: "en", key: "login.title", want: "Log in"},
		{name: "unknown lang falls back to german", lang: "rm", key: "login.title", want: "Anmelden"},
		{name: "unknown key is returned", lang: "fr", key: "no.such.key", want: "no.such.key"},
		{name: "args", lang: "de", key: "login.with", args: []any{"SwissID"}, want: "Anmelden mit SwissID"},
		{name: "args on a message without verbs are ignored", lang: "de", key: "login.title", args: []any{"x"}, want: "Anmelden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.T(tt.lang, tt.key, tt.args...); got != tt.want {
				t.Errorf("T(%q, %q) = %q, want %q", tt.lang, tt.key, got, tt.want)
			}
		})
	}
}

func TestCatalogueSpelling(t *testing.T) {
	cat, err := loadCatalogues(pageFS)
	if err != nil {
		t.Fatalf("load catalogues: %v", err)
	}
	for key, text := range cat["de"] {
		if strings.Contains(text, "ß") {
			t.Errorf("de %q uses ß; Swiss German writes ss: %q", key, text)
		}
	}
	// The handlers rely on these keys (see idp/web).
	for _, key := range []string{
		"err.required", "err.email_invalid", "err.pw_too_short", "err.pw_no_upper", "err.pw_no_lower",
		"err.pw_no_digit", "err.pw_common", "err.pw_context", "err.pw_too_long", "err.pw_mismatch",
		"err.name_too_long", "err.rate_limited", "err.csrf", "err.login_failed", "err.link_invalid",
		"err.unavailable", "err.internal", "err.not_found", "err.bad_request", "err.forbidden",
		"err.session_expired",
	} {
		if _, ok := cat["de"][key]; !ok {
			t.Errorf("catalogue lacks %q", key)
		}
	}
}

// TestNoInlineCode makes sure the pages keep to the CSP (script-src 'self';
// style-src 'self'): no inline scripts, styles or event handlers; a script
// element only loads a file of our own (src="{{asset …}}").
func TestNoInlineCode(t *testing.T) {
	inline := regexp.MustCompile(`(?i)<script(?:[^>]*[^>a-z])?>|<style|\sstyle=|\son[a-z]+=|javascript:`)
	external := regexp.MustCompile(`^<script src="\{\{asset "[a-z.]+"\}\}" defer></script>$`)
	for _, tag := range []string{`<script>alert(1)</script>`, `<script type="text/javascript">`} {
		if !inline.MatchString(tag) {
			t.Fatalf("the inline-code check misses %s", tag)
		}
	}
	err := fs.WalkDir(pageFS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".html") {
			return err
		}
		data, err := pageFS.ReadFile(p)
		if err != nil {
			return err
		}
		if m := inline.Find(data); m != nil {
			t.Errorf("%s: inline code %q", p, m)
		}
		for _, m := range regexp.MustCompile(`<script[^>]*>(?:</script>)?`).FindAll(data, -1) {
			if !external.Match(m) {
				t.Errorf("%s: script element %q is not an external file of our own", p, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestMatchLang(t *testing.T) {
	tests := []struct {
		name       string
		candidates []string
		want       string
	}{
		{name: "nothing", want: "de"},
		{name: "empty candidates", candidates: []string{"", " "}, want: "de"},
		{name: "ui_locales first supported", candidates: []string{"rm fr-CH it"}, want: "fr"},
		{name: "ui_locales wins over header", candidates: []string{"it", "", "fr;q=1"}, want: "it"},
		{name: "cookie", candidates: []string{"", "en"}, want: "en"},
		{name: "unsupported cookie falls through", candidates: []string{"", "xx", "fr-CH, fr;q=0.9"}, want: "fr"},
		{name: "accept-language order", candidates: []string{"de-CH,de;q=0.9,en;q=0.8"}, want: "de"},
		{name: "accept-language q-values", candidates: []string{"en;q=0.5, it;q=0.9, fr;q=0.7"}, want: "it"},
		{name: "q=0 is refused", candidates: []string{"fr;q=0, en;q=0.1"}, want: "en"},
		{name: "malformed q is refused", candidates: []string{"fr;q=x, it;q=0.2"}, want: "it"},
		{name: "case and underscore", candidates: []string{"EN_gb"}, want: "en"},
		{name: "swiss german", candidates: []string{"gsw-CH, en;q=0.5"}, want: "de"},
		{name: "wildcard only", candidates: []string{"*"}, want: "de"},
		{name: "none supported", candidates: []string{"es, pt;q=0.8"}, want: "de"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MatchLang(tt.candidates...); got != tt.want {
				t.Errorf("MatchLang(%q) = %q, want %q", tt.candidates, got, tt.want)
			}
		})
	}
}

func TestLangLinks(t *testing.T) {
	u, err := url.Parse("/login?authRequestID=abc&lang=de")
	if err != nil {
		t.Fatal(err)
	}
	got := LangLinks(u, "fr")
	want := []LangLink{
		{Lang: "de", URL: "/login?authRequestID=abc&lang=de"},
		{Lang: "fr", URL: "/login?authRequestID=abc&lang=fr", Current: true},
		{Lang: "it", URL: "/login?authRequestID=abc&lang=it"},
		{Lang: "en", URL: "/login?authRequestID=abc&lang=en"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("LangLinks = %+v\nwant %+v", got, want)
	}
	if got := Langs(); !slices.Equal(got, []string{"de", "fr", "it", "en"}) {
		t.Errorf("Langs() = %v", got)
	}
}

type testView struct {
	Page
}

func TestRender(t *testing.T) {
	r, err := Parse()
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	tests := []struct {
		name string
		page string
		data any
		want string
	}{
		{name: "unknown page", page: "nope", data: &testView{}, want: "no such page"},
		{name: "not a pointer", page: "reset_done", data: testView{}, want: "not a non-nil pointer"},
		{name: "nil pointer", page: "reset_done", data: (*testView)(nil), want: "not a non-nil pointer"},
		{name: "field missing in view model", page: "login", data: &testView{}, want: "can't evaluate field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := r.Render(&buf, tt.page, "de", tt.data)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Render error = %v, want it to contain %q", err, tt.want)
			}
			if buf.Len() != 0 {
				t.Errorf("Render wrote %d bytes despite the error", buf.Len())
			}
		})
	}

	t.Run("sets lang", func(t *testing.T) {
		d := &doneView{Page: Page{CSRFToken: `a"b`}}
		var buf bytes.Buffer
		if err := r.Render(&buf, "reset_done", "xx", d); err != nil {
			t.Fatalf("Render: %v", err)
		}
		if d.Lang != "de" {
			t.Errorf("Lang = %q, want de for an unsupported language", d.Lang)
		}
		if !strings.Contains(buf.String(), `<html lang="de">`) {
			t.Errorf("output lacks <html lang=\"de\">:\n%s", buf.String())
		}
	})
}

// doneView is the view model of page reset_done.
type doneView struct {
	Page
	LoginURL string
}

type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestRenderWriteError(t *testing.T) {
	r, err := Parse()
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if err := r.Render(errWriter{}, "reset_done", "de", &doneView{}); err == nil {
		t.Error("Render to a failing writer returned nil")
	}
}

func TestStatic(t *testing.T) {
	cssURL := AssetURL("app.css")
	if !regexp.MustCompile(`^/static/app\.[0-9a-f]{16}\.css$`).MatchString(cssURL) {
		t.Fatalf("AssetURL(app.css) = %q", cssURL)
	}
	if got := AssetURL("nope.css"); got != "/static/nope.css" {
		t.Errorf("AssetURL(nope.css) = %q", got)
	}
	css, err := staticFS.ReadFile("static/app.css")
	if err != nil {
		t.Fatal(err)
	}
	// One stylesheet serves all four origins of the portal.
	if len(css) > 14*1024 {
		t.Errorf("app.css is %d bytes, keep it under 14 KiB", len(css))
	}
	h := Static()
	tests := []struct {
		name        string
		method      string
		path        string
		header      http.Header
		wantStatus  int
		wantCache   string
		wantType    string
		wantBodyLen int
	}{
		{name: "hashed", method: "GET", path: cssURL, wantStatus: 200, wantCache: "public, max-age=31536000, immutable", wantType: "text/css; charset=utf-8", wantBodyLen: len(css)},
		{name: "plain name", method: "GET", path: "/static/app.css", wantStatus: 200, wantCache: "no-cache", wantType: "text/css; charset=utf-8", wantBodyLen: len(css)},
		{name: "outdated hash", method: "GET", path: "/static/app.0000000000000000.css", wantStatus: 200, wantCache: "no-cache", wantType: "text/css; charset=utf-8", wantBodyLen: len(css)},
		{name: "svg", method: "GET", path: AssetURL("favicon.svg"), wantStatus: 200, wantCache: "public, max-age=31536000, immutable", wantType: "image/svg+xml"},
		{name: "head", method: "HEAD", path: cssURL, wantStatus: 200, wantCache: "public, max-age=31536000, immutable", wantType: "text/css; charset=utf-8"},
		{name: "not modified", method: "GET", path: cssURL, header: http.Header{"If-None-Match": {etagOf(t, h, cssURL)}}, wantStatus: 304, wantCache: "public, max-age=31536000, immutable"},
		{name: "unknown", method: "GET", path: "/static/nope.js", wantStatus: 404},
		{name: "directory escape", method: "GET", path: "/static/../templates.go", wantStatus: 404},
		{name: "post", method: "POST", path: cssURL, wantStatus: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequestWithContext(t.Context(), tt.method, tt.path, nil)
			for k, v := range tt.header {
				req.Header[k] = v
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			if got := rec.Header().Get("Cache-Control"); got != tt.wantCache {
				t.Errorf("Cache-Control = %q, want %q", got, tt.wantCache)
			}
			if tt.wantType != "" {
				if got := rec.Header().Get("Content-Type"); got != tt.wantType {
					t.Errorf("Content-Type = %q, want %q", got, tt.wantType)
				}
			}
			if tt.wantBodyLen > 0 && rec.Body.Len() != tt.wantBodyLen {
				t.Errorf("body length = %d, want %d", rec.Body.Len(), tt.wantBodyLen)
			}
		})
	}
}

func etagOf(t *testing.T, h http.Handler, path string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), "GET", path, nil))
	etag := rec.Header().Get("ETag")
	if etag == "" {
		t.Fatalf("no ETag for %s", path)
	}
	return etag
}

// TestRenderConcurrent renders from many goroutines; run it with -race.
func TestRenderConcurrent(t *testing.T) {
	r, err := Parse()
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			var buf bytes.Buffer
			errs <- r.Render(&buf, "reset_done", Langs()[i%4], &doneView{LoginURL: "/login"})
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
