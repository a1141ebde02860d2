package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/kanton/kundencenter/webkit"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// ClientConfig is a service's client registration at the IdP, used to get
// client-credentials tokens for calling an API.
type ClientConfig struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	Scopes       []string
	HTTPClient   *http.Client // nil: a client with a 10 s timeout
}

// APIClient makes API calls with client-credentials tokens (RFC 6749 §4.4),
// fetched from the IdP's token endpoint and reused until shortly before they
// expire. It is safe for concurrent use.
type APIClient struct {
	cfg  ClientConfig
	disc *discovery

	mu  sync.Mutex
	src oauth2.TokenSource
}

// NewAPIClient returns an APIClient; discovery happens on the first call.
func NewAPIClient(cfg ClientConfig) *APIClient {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	return &APIClient{cfg: cfg, disc: newDiscovery(cfg.Issuer, cfg.HTTPClient)}
}

// Token returns a valid access token.
func (c *APIClient) Token(ctx context.Context) (string, error) {
	c.mu.Lock()
	if c.src == nil {
		d, err := c.disc.get(ctx)
		if err != nil {
			c.mu.Unlock()
			return "", err
		}
		cc := clientcredentials.Config{ClientID: c.cfg.ClientID, ClientSecret: c.cfg.ClientSecret,
			TokenURL: d.Token, Scopes: c.cfg.Scopes, AuthStyle: oauth2.AuthStyleInHeader}
		c.src = oauth2.ReuseTokenSourceWithExpiry(nil,
			cc.TokenSource(context.WithValue(context.Background(), oauth2.HTTPClient, c.cfg.HTTPClient)), 30*time.Second)
	}
	src := c.src
	c.mu.Unlock()
	t, err := src.Token()
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
			return "", fmt.Errorf("client credentials for %s refused: %w", c.cfg.ClientID, err)
		}
		return "", fmt.Errorf("%w: token: %v", ErrUnavailable, err)
	}
	return t.AccessToken, nil
}

// StatusError is a non-2xx answer of an API, with its problem details when
// it sent them.
type StatusError struct {
	Status  int
	Problem webkit.Problem
}

func (e *StatusError) Error() string {
	if e.Problem.Title != "" {
		return fmt.Sprintf("API answered %d: %s", e.Status, e.Problem.Error())
	}
	return fmt.Sprintf("API answered %d", e.Status)
}

// Temporary reports whether a retry may succeed (5xx, 429, 408).
func (e *StatusError) Temporary() bool {
	return e.Status >= 500 || e.Status == http.StatusTooManyRequests || e.Status == http.StatusRequestTimeout
}

// Do sends body (nil or a value encoded as JSON) with method to url and a
// bearer token, and decodes a 2xx JSON answer into out (nil to ignore it).
// It returns the status code; a non-2xx answer is a *StatusError, a
// network failure wraps ErrUnavailable.
func (c *APIClient) Do(ctx context.Context, method, url string, body, out any) (int, error) {
	token, err := c.Token(ctx)
	if err != nil {
		return 0, err
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%w: %s %s: %v", ErrUnavailable, method, url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("%w: read answer: %v", ErrUnavailable, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		se := &StatusError{Status: resp.StatusCode}
		if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
			_ = json.Unmarshal(raw, &se.Problem)
		}
		return resp.StatusCode, se
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, fmt.Errorf("decode answer: %w", err)
		}
	}
	return resp.StatusCode, nil
}

// Retryable reports whether err from Do is worth retrying later: a network
// failure, an unreachable IdP or a temporary status.
func Retryable(err error) bool {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Temporary()
	}
	return errors.Is(err, ErrUnavailable)
}

// Notification kinds the IdP knows (it has a mail text for each).
const (
	NotifyCaseCreated       = "case-created"
	NotifyCaseStatusChanged = "case-status-changed"
	NotifyCaseRequest       = "case-request"
	NotifyDocumentDelivered = "document-delivered"
	NotifyFormReceived      = "form-received"
	NotifyDraftExpiring     = "draft-expiring"
)

// Recipient names whom a notification is for: a person by subject or an
// organisation by ID (its members who may use the calling service are told).
type Recipient struct {
	Kind string `json:"kind"`          // "person" or "organisation"
	Sub  string `json:"sub,omitempty"` // kind person
	ID   string `json:"id,omitempty"`  // kind organisation
}

// Notification asks the IdP to send a short, general e-mail.
type Notification struct {
	MessageID string    `json:"messageId"` // idempotency key: the same ID is sent once
	Recipient Recipient `json:"recipient"`
	Kind      string    `json:"kind"`
	Reference string    `json:"reference,omitempty"` // e.g. the case's reference number
	Link      string    `json:"link,omitempty"`      // a page of the calling service
}

// Notifier sends notifications through the IdP's endpoint
// POST {issuer}/api/notifications with a token carrying notifications:send.
type Notifier struct {
	client *APIClient
	url    string
}

// NewNotifier returns a Notifier for the service's client registration; the
// scope notifications:send is added to cfg.Scopes.
func NewNotifier(cfg ClientConfig) *Notifier {
	cfg.Scopes = append(append([]string(nil), cfg.Scopes...), ScopeNotify)
	return &Notifier{client: NewAPIClient(cfg), url: strings.TrimSuffix(cfg.Issuer, "/") + NotificationsPath}
}

// ScopeNotify is the scope of the IdP's notification endpoint.
const ScopeNotify = "notifications:send"

// NotificationsPath is the path of the IdP's notification endpoint.
const NotificationsPath = "/api/notifications"

// Notify asks the IdP to send n; it returns once the IdP accepted it (202).
// A failure for which Retryable is true should be retried by a job.
func (n *Notifier) Notify(ctx context.Context, note Notification) error {
	_, err := n.client.Do(ctx, http.MethodPost, n.url, note, nil)
	return err
}

// ScopeActionReceipts is the scope of the IdP's action-receipt API for a
// service's own token.
const ScopeActionReceipts = "representation-actions:write"

// ActionReceiptsPath is the path of the IdP's action-receipt API.
const ActionReceiptsPath = "/api/representation-actions"

// ActionReceipts reports to the IdP what a representative did for the
// represented person, for that person's timeline (POST
// {issuer}/api/representation-actions with the service's own token).
type ActionReceipts struct {
	client *APIClient
	url    string
}

// NewActionReceipts returns an ActionReceipts for the service's client
// registration; the scope representation-actions:write is added.
func NewActionReceipts(cfg ClientConfig) *ActionReceipts {
	cfg.Scopes = append(append([]string(nil), cfg.Scopes...), ScopeActionReceipts)
	return &ActionReceipts{client: NewAPIClient(cfg), url: strings.TrimSuffix(cfg.Issuer, "/") + ActionReceiptsPath}
}

// Record reports that actor (the representative's subject) did action
// (plain text, at most 200 characters) under representation. The IdP checks
// that the representation is active, is the actor's and covers the service.
func (a *ActionReceipts) Record(ctx context.Context, representation, actor, action string) error {
	return a.RecordTexts(ctx, representation, actor, action, nil)
}

// RecordTexts is Record with the action also in other languages (by
// language: de, fr, it, en), so that the represented person reads it in
// the language of their timeline page.
func (a *ActionReceipts) RecordTexts(ctx context.Context, representation, actor, action string, texts map[string]string) error {
	body := map[string]any{"representation": representation, "actor": actor, "action": action}
	if len(texts) > 0 {
		body["texts"] = texts
	}
	_, err := a.client.Do(ctx, http.MethodPost, a.url, body, nil)
	return err
}
