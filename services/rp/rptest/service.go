package rptest

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kanton/kundencenter/services/page"
	"github.com/kanton/kundencenter/services/rp"
)

// BuildFunc builds a bundled service from its relying-party configuration
// and the navigation links, as the service's New does.
type BuildFunc func(ctx context.Context, rc rp.Config, links page.Links) (http.Handler, error)

// CheckService serves the bundled service of kind, built with build and
// registered at a fresh Provider as clientID, and checks it: after logging in
// as Anna the start page greets her, links to the two other services, marks
// its own navigation entry, offers logout, and shows every text in
// startPage; the health check, the stylesheet and the logged-out page answer
// with the right content type and caching.
func CheckService(t *testing.T, clientID string, kind page.Kind, build BuildFunc, startPage ...string) {
	t.Helper()
	op := New(t, false)
	secret := clientID + "-secret-0123456789"
	base := op.Serve(t, clientID, secret, func(base string) (http.Handler, error) {
		return build(t.Context(), rp.Config{
			Issuer: op.Issuer, ClientID: clientID, ClientSecret: secret, BaseURL: base,
			CookieKey: []byte("0123456789abcdef0123456789abcdef"), Insecure: true, HTTPClient: op.Client(),
			Logger: slog.New(slog.DiscardHandler),
		}, links(t, kind, base))
	})
	b := op.NewBrowser(t)

	resp, body := b.Login(t, base+"/", Anna)
	if resp.StatusCode != http.StatusOK || resp.Request.URL.String() != base+"/" {
		t.Fatalf("after login: %d %s", resp.StatusCode, resp.Request.URL)
	}
	want := append([]string{
		"Grüezi Anna Muster",
		`href="http://127.0.0.1:1/"`, `href="http://127.0.0.1:2/"`, `aria-current="page"`,
		`action="/logout"`, `name="csrf"`,
	}, startPage...)
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("start page lacks %q", w)
		}
	}

	tests := []struct {
		name, path, contentType, cache, body string
	}{
		{name: "health", path: "/healthz", contentType: "text/plain; charset=utf-8", cache: "no-store", body: "ok"},
		{name: "live", path: "/livez", contentType: "text/plain; charset=utf-8", cache: "no-store", body: "ok"},
		{name: "ready", path: "/readyz", contentType: "application/json", cache: "no-store", body: `"database":"ok"`},
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

// links returns the navigation of the service of kind served at base: its
// own entry points to base, the two others, in navigation order, to
// http://127.0.0.1:1 and http://127.0.0.1:2 (closed loopback ports).
func links(t testing.TB, kind page.Kind, base string) page.Links {
	t.Helper()
	const first, second = "http://127.0.0.1:1", "http://127.0.0.1:2"
	switch kind {
	case page.Status:
		return page.Links{Status: base, Forms: first, Documents: second}
	case page.Forms:
		return page.Links{Status: first, Forms: base, Documents: second}
	case page.Documents:
		return page.Links{Status: first, Forms: second, Documents: base}
	}
	t.Fatalf("rptest: unknown service kind %q", kind)
	return page.Links{}
}

// Golden compares got with the file at path or, when update is set (a test's
// -update flag), rewrites the file.
func Golden(t testing.TB, path string, got []byte, update bool) {
	t.Helper()
	if update {
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
