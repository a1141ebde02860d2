package portal

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// SummaryScope is the scope of the services' summary endpoint.
const SummaryScope = "summary:read"

// SummaryService is a service whose summary the overview shows.
type SummaryService struct {
	Kind     string // status, documents or forms: names the box
	ClientID string // the service's client ID, the token's audience
	BaseURL  string // e.g. "http://localhost:8082"; the summary is at BaseURL/api/v1/summary
}

// Item is one entry of a summary (a case, a document, a draft).
type Item struct {
	Title     string    `json:"title"`
	Reference string    `json:"reference"`
	Status    string    `json:"status"`
	Date      time.Time `json:"date"`
	URL       string    `json:"url"`
}

// Box is what the overview shows for one service.
type Box struct {
	Service   SummaryService
	Available bool // false: the service did not answer in time or failed ("zurzeit nicht verfügbar")
	Count     int
	Items     []Item
}

// Summaries fetches the overview's boxes from the services on the
// person's behalf.
type Summaries struct {
	Services []SummaryService
	// Token returns a short-lived access token of accountID with
	// SummaryScope for the service audience (the IdP mints it; see
	// provider.MintAccessToken).
	Token func(ctx context.Context, accountID, audience string) (string, error)
	// HTTPClient makes the calls; nil means a client without redirects.
	HTTPClient *http.Client
	// Timeout bounds each service's answer (default 1.5 s): a slow or
	// stopped service never holds up the page.
	Timeout time.Duration
	Log     *slog.Logger
}

// Fetch asks every service at once and returns one box per service, in
// the order of Services; a service that fails or does not answer within
// Timeout gets a box with Available false.
func (s *Summaries) Fetch(ctx context.Context, accountID string) []Box {
	boxes := make([]Box, len(s.Services))
	var wg sync.WaitGroup
	for i, svc := range s.Services {
		boxes[i].Service = svc
		wg.Go(func() {
			b, err := s.fetch(ctx, accountID, svc)
			if err != nil {
				s.log().WarnContext(ctx, "service summary unavailable", "service", svc.Kind, "err", err)
				return
			}
			boxes[i] = b
		})
	}
	wg.Wait()
	return boxes
}

func (s *Summaries) fetch(ctx context.Context, accountID string, svc SummaryService) (Box, error) {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 1500 * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if s.Token == nil {
		return Box{}, fmt.Errorf("no token source")
	}
	tok, err := s.Token(ctx, accountID, svc.ClientID)
	if err != nil {
		return Box{}, fmt.Errorf("mint token: %w", err)
	}
	base := strings.TrimSuffix(svc.BaseURL, "/")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/summary", nil)
	if err != nil {
		return Box{}, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/json")
	client := s.HTTPClient
	if client == nil {
		client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	resp, err := client.Do(req)
	if err != nil {
		return Box{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Box{}, fmt.Errorf("summary: status %d", resp.StatusCode)
	}
	var body struct {
		Count int    `json:"count"`
		Items []Item `json:"items"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body); err != nil {
		return Box{}, fmt.Errorf("summary: %w", err)
	}
	b := Box{Service: svc, Available: true, Count: body.Count}
	for i, it := range body.Items {
		if i == 5 {
			break
		}
		// Only links into the service itself.
		if !strings.HasPrefix(it.URL, base+"/") {
			it.URL = base + "/"
		}
		b.Items = append(b.Items, it)
	}
	return b, nil
}

func (s *Summaries) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}
