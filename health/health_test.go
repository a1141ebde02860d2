package health_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kanton/kundencenter/health"
)

func TestEndpoints(t *testing.T) {
	ok := func(context.Context) error { return nil }
	down := func(context.Context) error { return errors.New("dial tcp 10.0.0.7:6379: connection refused") }
	tests := []struct {
		name       string
		checks     []health.Check
		path       string
		wantStatus int
		wantFailed []string
	}{
		{"live", []health.Check{{"redis", down}}, "/livez", 200, nil},
		{"healthz is livez", []health.Check{{"redis", down}}, "/healthz", 200, nil},
		{"ready", []health.Check{{"postgres", ok}, {"redis", ok}, {"keys", ok}}, "/readyz", 200, nil},
		{"redis down", []health.Check{{"postgres", ok}, {"redis", down}, {"keys", ok}}, "/readyz", 503, []string{"redis"}},
		{"both down", []health.Check{{"postgres", down}, {"redis", down}}, "/readyz", 503, []string{"postgres", "redis"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := health.Wrap(http.NotFoundHandler(), nil, tt.checks...)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", tt.path, nil))
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d", rec.Code, tt.wantStatus)
			}
			if rec.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", rec.Header().Get("Cache-Control"))
			}
			if tt.path != "/readyz" {
				return
			}
			if strings.Contains(rec.Body.String(), "10.0.0.7") || strings.Contains(rec.Body.String(), "refused") {
				t.Fatalf("internal error text in %s", rec.Body)
			}
			var rep health.Report
			if err := json.Unmarshal(rec.Body.Bytes(), &rep); err != nil {
				t.Fatal(err)
			}
			if strings.Join(rep.Failed, ",") != strings.Join(tt.wantFailed, ",") || len(rep.Checks) != len(tt.checks) {
				t.Fatalf("report %+v, want failed %v", rep, tt.wantFailed)
			}
		})
	}
	// Every other request reaches the wrapped handler.
	rec := httptest.NewRecorder()
	health.Wrap(http.NotFoundHandler(), nil).ServeHTTP(rec, httptest.NewRequest("GET", "/authorize", nil))
	if rec.Code != 404 {
		t.Fatalf("wrapped handler not reached: %d", rec.Code)
	}
}
