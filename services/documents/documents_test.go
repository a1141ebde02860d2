package documents

import (
	"context"
	"flag"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/kanton/kundencenter/services/page"
	"github.com/kanton/kundencenter/services/rp"
	"github.com/kanton/kundencenter/services/rp/rptest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var links = page.Links{Status: "http://localhost:8082", Forms: "http://localhost:8081", Documents: "http://localhost:8083"}

func TestHomeGolden(t *testing.T) {
	pages, err := page.New(page.Site{Kind: page.Documents, Links: links}, slog.New(slog.DiscardHandler))
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
			rptest.Golden(t, filepath.Join("testdata", "home_"+tt.name+".golden.html"), rec.Body.Bytes(), *update)
		})
	}
}

func TestService(t *testing.T) {
	rptest.CheckService(t, "kc-documents", page.Documents, func(ctx context.Context, rc rp.Config, nav page.Links) (http.Handler, error) {
		return New(ctx, Config{RP: rc, Links: nav})
	}, "<h1>Meine Dokumente</h1>", "Ihr Posteingang ist leer.")
}
