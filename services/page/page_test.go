package page

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestLang(t *testing.T) {
	tests := []struct {
		name, accept, want string
	}{
		{name: "none", accept: "", want: "de"},
		{name: "swiss german", accept: "de-CH,de;q=0.9,en;q=0.8", want: "de"},
		{name: "swiss french", accept: "fr-CH,fr;q=0.9", want: "fr"},
		{name: "italian", accept: "it", want: "it"},
		{name: "english", accept: "en-GB,en;q=0.9", want: "en"},
		{name: "romansh falls back", accept: "rm", want: "de"},
		{name: "garbage", accept: ";;;", want: "de"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			if tt.accept != "" {
				r.Header.Set("Accept-Language", tt.accept)
			}
			if got := Lang(r); got != tt.want {
				t.Errorf("Lang(%q) = %q, want %q", tt.accept, got, tt.want)
			}
		})
	}
}

func TestLayoutNav(t *testing.T) {
	p, err := New(Site{Kind: Forms, Links: Links{IdP: "https://idp.example", Status: "https://status.example/", Forms: "https://forms.example"}},
		slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	l := p.Layout(httptest.NewRequest(http.MethodGet, "/?lang=fr", nil), "site.forms")
	want := []NavLink{
		{ID: "overview", Key: "portal.nav.overview", URL: "https://idp.example/overview?lang=fr"},
		{ID: "services", Key: "portal.nav.services", URL: "https://idp.example/services?lang=fr"},
		{ID: "cases", Key: "portal.nav.cases", URL: "https://status.example/?lang=fr"},
		{ID: "forms", Key: "portal.nav.forms", URL: "/", Current: true},
		{ID: "orgs", Key: "portal.nav.orgs", URL: "https://idp.example/orgs?lang=fr"},
		{ID: "reps", Key: "portal.nav.reps", URL: "https://idp.example/representations?lang=fr"},
		{ID: "account", Key: "portal.nav.account", URL: "https://idp.example/?lang=fr"},
	}
	if len(l.Nav) != len(want) {
		t.Fatalf("nav %+v, want %+v", l.Nav, want)
	}
	for i := range want {
		if l.Nav[i] != want[i] {
			t.Errorf("nav[%d] = %+v, want %+v", i, l.Nav[i], want[i])
		}
	}
	if len(l.Footer) != 5 || l.Footer[0].URL != "https://idp.example/contact?lang=fr" || l.Footer[4].URL != "https://idp.example/integration?lang=fr" {
		t.Errorf("footer %+v", l.Footer)
	}
}

func TestLangChoice(t *testing.T) {
	tests := []struct {
		name, query, cookie, session, accept, want string
	}{
		{name: "query wins", query: "it", cookie: "fr", session: "en", accept: "de", want: "it"},
		{name: "cookie", cookie: "fr", session: "en", accept: "de", want: "fr"},
		{name: "session", session: "en", accept: "de", want: "en"},
		{name: "header", accept: "it-CH", want: "it"},
		{name: "unknown query ignored", query: "xx", cookie: "fr", want: "fr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := "/"
			if tt.query != "" {
				target += "?lang=" + tt.query
			}
			r := httptest.NewRequest(http.MethodGet, target, nil)
			if tt.cookie != "" {
				r.AddCookie(&http.Cookie{Name: LangCookie, Value: tt.cookie})
			}
			if tt.accept != "" {
				r.Header.Set("Accept-Language", tt.accept)
			}
			if tt.session != "" {
				r = r.WithContext(WithLang(r.Context(), tt.session))
			}
			if got := Lang(r); got != tt.want {
				t.Errorf("Lang = %q, want %q", got, tt.want)
			}
		})
	}
	w := httptest.NewRecorder()
	RememberLang(w, httptest.NewRequest(http.MethodGet, "/?lang=en", nil))
	if c := w.Result().Cookies(); len(c) != 1 || c[0].Name != LangCookie || c[0].Value != "en" {
		t.Errorf("RememberLang set %v", c)
	}
}

func TestRender(t *testing.T) {
	p, err := New(Site{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		page   string
		data   any
		status int
		body   string
	}{
		{name: "page", page: "loggedout", data: struct {
			Layout
			LoginURL string
		}{Layout{Lang: "it", TitleKey: "loggedout.title"}, "/login"}, status: http.StatusOK, body: "Accedi di nuovo"},
		{name: "unknown page is a clean 500", page: "nope", data: Layout{Lang: "de"}, status: http.StatusInternalServerError, body: "Internal Server Error"},
		{name: "wrong view model is a clean 500", page: "error", data: Layout{Lang: "de"}, status: http.StatusInternalServerError, body: "Internal Server Error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			p.Render(rec, httptest.NewRequest(http.MethodGet, "/", nil), http.StatusOK, tt.page, tt.data)
			if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.body) {
				t.Errorf("status %d body %q, want %d with %q", rec.Code, rec.Body, tt.status, tt.body)
			}
			if tt.status != http.StatusOK && strings.Contains(rec.Body.String(), "<html") {
				t.Error("a failed render wrote part of the page")
			}
		})
	}
}

func TestStatic(t *testing.T) {
	mux := http.NewServeMux()
	(&Renderer{}).Mount(mux)
	tests := []struct {
		name, path string
		status     int
	}{
		{name: "stylesheet", path: "/static/services.css", status: http.StatusOK},
		{name: "no directory listing", path: "/static/", status: http.StatusNotFound},
		{name: "missing", path: "/static/nope.js", status: http.StatusNotFound},
		{name: "health", path: "/healthz", status: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.path, nil))
			if rec.Code != tt.status {
				t.Errorf("GET %s: %d, want %d", tt.path, rec.Code, tt.status)
			}
		})
	}
}
