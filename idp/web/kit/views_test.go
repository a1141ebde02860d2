package kit_test

import (
	"strings"
	"testing"

	"github.com/kanton/kundencenter/idp/web/kit"
	"github.com/kanton/kundencenter/idp/web/kit/viewtest"
	"github.com/kanton/kundencenter/templates"
)

// viewCases are the area's pages with sample view models.
func viewCases() []viewtest.Case {
	return []viewtest.Case{
		{Name: "error", Page: "error", View: func() any {
			p := viewtest.SamplePage("/activate")
			p.RequestID = "req-7f3a"
			return &kit.ErrorView{Page: p, MessageKey: "err.link_invalid", BackURL: "/login"}
		}},
		{Name: "error_default", Page: "error", View: func() any {
			return &kit.ErrorView{Page: templates.Page{}}
		}},
	}
}

// TestViews renders every page in German against testdata/NAME.golden
// (go test ./idp/web/kit/ -update rewrites the files) and in every
// language: no message key left untranslated, the dynamic keys known, the
// CSP's rules kept.
func TestViews(t *testing.T) {
	t.Parallel()
	viewtest.Suite(t, viewCases())
}

// TestErrorKeys renders the error page with every error key the handlers
// use, in every language.
func TestErrorKeys(t *testing.T) {
	t.Parallel()
	r := viewtest.Renderer(t)
	keys := []string{
		"err.required", "err.email_invalid", "err.pw_too_short", "err.pw_no_upper", "err.pw_no_lower",
		"err.pw_no_digit", "err.pw_common", "err.pw_context", "err.pw_too_long", "err.pw_mismatch",
		"err.name_too_long", "err.rate_limited", "err.csrf", "err.login_failed", "err.link_invalid",
		"err.unavailable", "err.internal", "err.not_found", "err.bad_request", "err.forbidden",
		"err.session_expired",
	}
	for _, key := range keys {
		for _, lang := range templates.Langs() {
			t.Run(key+"/"+lang, func(t *testing.T) {
				want := r.T(lang, key)
				if want == key {
					t.Fatalf("no %s text for %q", lang, key)
				}
				out := viewtest.Render(t, r, viewtest.Case{Page: "error", View: func() any {
					return &kit.ErrorView{Page: templates.Page{RequestID: "req-1"}, MessageKey: key}
				}}, lang)
				if !strings.Contains(out, templateEscape(want)) {
					t.Errorf("error page lacks %q", want)
				}
			})
		}
	}
}

// templateEscape escapes text as html/template does in element content.
func templateEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "'", "&#39;", "<", "&lt;", ">", "&gt;", `"`, "&#34;").Replace(s)
}
