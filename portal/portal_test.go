package portal

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/kanton/kundencenter/store/sqldb/sqldbtest"
)

func stores(t *testing.T) map[string]*Enablements {
	t.Helper()
	pg := sqldbtest.PostgresURL()
	out := map[string]*Enablements{}
	for name, url := range map[string]string{"sqlite": "sqlite:" + filepath.Join(t.TempDir(), "portal.db"), "postgres": pg} {
		now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
		e, err := openIn(t, url, func() time.Time { return now })
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Cleanup(func() { e.Close() })
		out[name] = e
	}
	return out
}

// openIn opens the store; on PostgreSQL in a schema of its own, so that
// parallel tests do not collide.
func openIn(t *testing.T, url string, now func() time.Time) (*Enablements, error) {
	if url[:7] == "sqlite:" {
		return OpenEnablements(t.Context(), url, now)
	}
	b := make([]byte, 6)
	rand.Read(b)
	e, err := openSchema(t.Context(), url, "portal_test_"+hex.EncodeToString(b), now)
	if err == nil {
		t.Cleanup(func() { e.db.Exec(context.Background(), `DROP SCHEMA IF EXISTS `+e.schema+` CASCADE`) })
	}
	return e, err
}

func TestEnablements(t *testing.T) {
	for name, e := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			if ok, err := e.Approved(ctx, "a1", "steuererklaerung"); ok || err != nil {
				t.Fatalf("Approved before a request = %v, %v", ok, err)
			}
			x, err := e.Request(ctx, "a1", "steuererklaerung", "fr")
			if err != nil || x.Status != StatusRequested || x.ID == "" {
				t.Fatalf("Request = %+v, %v", x, err)
			}
			again, err := e.Request(ctx, "a1", "steuererklaerung", "fr")
			if err != nil || again.ID != x.ID {
				t.Fatalf("second Request = %+v, %v; want the same request", again, err)
			}
			list, err := e.List(ctx, StatusRequested)
			if err != nil || len(list) != 1 || list[0].ID != x.ID || list[0].Locale != "fr" {
				t.Fatalf("List = %+v, %v", list, err)
			}
			if _, err := e.Decide(ctx, x.ID, false, "Code fehlt"); err != nil {
				t.Fatal(err)
			}
			if _, err := e.Decide(ctx, x.ID, true, ""); !errors.Is(err, ErrDecided) {
				t.Fatalf("deciding twice: %v, want ErrDecided", err)
			}
			if ok, _ := e.Approved(ctx, "a1", "steuererklaerung"); ok {
				t.Fatal("approved after refusal")
			}
			re, err := e.Request(ctx, "a1", "steuererklaerung", "de")
			if err != nil || re.Status != StatusRequested || re.DecidedAt != nil {
				t.Fatalf("request after refusal = %+v, %v", re, err)
			}
			d, err := e.Decide(ctx, x.ID, true, "")
			if err != nil || d.Status != StatusApproved || d.DecidedAt == nil {
				t.Fatalf("approve = %+v, %v", d, err)
			}
			if ok, err := e.Approved(ctx, "a1", "steuererklaerung"); !ok || err != nil {
				t.Fatalf("Approved = %v, %v", ok, err)
			}
			if _, err := e.Decide(ctx, "F-NOPE", true, ""); !errors.Is(err, ErrNotFound) {
				t.Fatalf("deciding an unknown request: %v", err)
			}
		})
	}
}

func TestSummariesWithAStoppedService(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/summary" || r.Header.Get("Authorization") != "Bearer tok-status" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"count":2,"items":[{"title":"Wohnsitzbestätigung","reference":"2026-000123-4","status":"in-bearbeitung","date":"2026-12-01T10:00:00Z","url":"` +
			"http://" + r.Host + `/cases/2026-000123-4"},{"title":"Evil","url":"https://evil.example/"}]}`))
	}))
	defer ok.Close()
	stopped := httptest.NewServer(http.NotFoundHandler())
	stopped.Close() // connection refused
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	s := &Summaries{
		Services: []SummaryService{{Kind: "status", ClientID: "status", BaseURL: ok.URL}, {Kind: "documents", ClientID: "documents", BaseURL: stopped.URL},
			{Kind: "forms", ClientID: "forms", BaseURL: slow.URL}},
		Token:   func(_ context.Context, acct, aud string) (string, error) { return "tok-" + aud, nil },
		Timeout: 300 * time.Millisecond,
		Log:     slog.New(slog.DiscardHandler),
	}
	boxes := s.Fetch(t.Context(), "a1")
	if len(boxes) != 3 {
		t.Fatalf("%d boxes", len(boxes))
	}
	if b := boxes[0]; !b.Available || b.Count != 2 || len(b.Items) != 2 || b.Items[0].Reference != "2026-000123-4" {
		t.Errorf("status box %+v", b)
	}
	if u := boxes[0].Items[1].URL; u != ok.URL+"/" {
		t.Errorf("a foreign link became %q, want the service's start", u)
	}
	if boxes[1].Available || boxes[2].Available {
		t.Errorf("stopped or slow service shown as available: %+v %+v", boxes[1], boxes[2])
	}
	if boxes[1].Service.Kind != "documents" || boxes[2].Service.Kind != "forms" {
		t.Errorf("unavailable boxes lost their service: %+v", boxes)
	}
}
