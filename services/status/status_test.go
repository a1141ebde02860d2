package status

import (
	"bytes"
	"flag"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kanton/kundencenter/services/page"
	"github.com/kanton/kundencenter/services/rp"
	"github.com/kanton/kundencenter/services/rp/rptest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var links = page.Links{Status: "http://localhost:8082", Forms: "http://localhost:8081", Documents: "http://localhost:8083"}

func TestHomeGolden(t *testing.T) {
	pages, err := page.New(page.Site{Kind: page.Status, Links: links}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	s := &service{pages: pages}
	tests := []struct {
		name, acceptLanguage string
	}{
		{name: "de", acceptLanguage: "de-CH,de;q=0.9"},
		{name: "fr", acceptLanguage: "fr-CH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Accept-Language", tt.acceptLanguage)
			r = r.WithContext(rp.WithSession(r.Context(), &rp.Session{Subject: "u1", Name: "Anna Muster", CSRF: "csrf-token"}))
			rec := httptest.NewRecorder()
			s.home(rec, r)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			golden(t, filepath.Join("testdata", "home_"+tt.name+".golden.html"), rec.Body.Bytes())
		})
	}
}

func TestService(t *testing.T) {
	op := rptest.New(t, false)
	base := op.Serve(t, "kc-status", "status-secret-0123456789", func(base string) (http.Handler, error) {
		return New(t.Context(), Config{
			RP: rp.Config{
				Issuer: op.Issuer, ClientID: "kc-status", ClientSecret: "status-secret-0123456789", BaseURL: base,
				CookieKey: []byte("0123456789abcdef0123456789abcdef"), Insecure: true, HTTPClient: op.Client(),
				Logger: slog.New(slog.DiscardHandler),
			},
			Links: page.Links{Status: base, Forms: "http://127.0.0.1:1", Documents: "http://127.0.0.1:2"},
		})
	})
	b := op.NewBrowser(t)

	resp, body := b.Login(t, base+"/", rptest.Anna)
	if resp.StatusCode != http.StatusOK || resp.Request.URL.String() != base+"/" {
		t.Fatalf("after login: %d %s", resp.StatusCode, resp.Request.URL)
	}
	for _, want := range []string{
		"Grüezi Anna Muster", "<h1>Meine Vorgänge</h1>", "Sie haben noch keine Vorgänge.",
		`href="http://127.0.0.1:1/"`, `href="http://127.0.0.1:2/"`, `aria-current="page"`,
		`action="/logout"`, `name="csrf"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("start page lacks %q", want)
		}
	}

	tests := []struct {
		name, path, contentType, cache, body string
	}{
		{name: "health", path: "/healthz", contentType: "text/plain; charset=utf-8", cache: "no-store", body: "ok"},
		{name: "stylesheet", path: "/static/services.css?v=1", contentType: "text/css; charset=utf-8", cache: "public, max-age=31536000, immutable", body: "--brand"},
		{name: "logged out", path: "/logged-out", contentType: "text/html; charset=utf-8", cache: "no-store", body: "Sie haben sich abgemeldet."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := b.Get(t, base+tt.path)
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, tt.body) {
				t.Errorf("GET %s: %d %q", tt.path, resp.StatusCode, body)
			}
			if got := resp.Header.Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type %q, want %q", got, tt.contentType)
			}
			if got := resp.Header.Get("Cache-Control"); got != tt.cache {
				t.Errorf("Cache-Control %q, want %q", got, tt.cache)
			}
		})
	}
}

// golden compares got with the file at path, or rewrites it with -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("page differs from %s (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
