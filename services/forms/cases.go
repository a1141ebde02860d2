package forms

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/kanton/kundencenter/services/api"
	"github.com/kanton/kundencenter/services/forms/form"
)

// CaseRequest is the body of the status service's POST /api/v1/cases.
type CaseRequest struct {
	MessageID          string      `json:"messageId"`
	Service            string      `json:"service"`
	Title              form.Text   `json:"title"`
	Owner              CaseOwner   `json:"owner"`
	SubmittedBy        SubmittedBy `json:"submittedBy"`
	EventDate          string      `json:"eventDate"`
	ExpectedCompletion string      `json:"expectedCompletion,omitempty"`
	TestDeliveryFlag   bool        `json:"testDeliveryFlag"`
	SubmissionID       string      `json:"submissionId,omitempty"`
}

// CaseOwner is whom a case belongs to: a person by subject or an
// organisation by ID.
type CaseOwner struct {
	Kind string `json:"kind"`
	Sub  string `json:"sub,omitempty"`
	ID   string `json:"id,omitempty"`
}

// SubmittedBy is the person at the keyboard.
type SubmittedBy struct {
	Sub  string `json:"sub"`
	Name string `json:"name,omitempty"`
}

// Case is the status service's answer.
type Case struct {
	BusinessProcessID string `json:"businessProcessId"`
	Reference         string `json:"reference"`
	URL               string `json:"url"`
}

// Cases creates cases at the status service.
type Cases interface {
	// Create creates the case; the same MessageID with the same body
	// returns the same case. A failure for which api.Retryable is true is
	// retried later.
	Create(ctx context.Context, req CaseRequest) (Case, error)
}

// CaseClient is Cases over the status service's API with a
// client-credentials token carrying cases:write.
type CaseClient struct {
	client *api.APIClient
	url    string
}

var _ Cases = (*CaseClient)(nil)

// ScopeCasesWrite is the scope of the status service's case creation.
const ScopeCasesWrite = "cases:write"

// NewCaseClient returns a CaseClient for the status service at statusURL
// (its origin, e.g. "http://localhost:8082").
func NewCaseClient(statusURL string, cfg api.ClientConfig) *CaseClient {
	cfg.Scopes = append(append([]string(nil), cfg.Scopes...), ScopeCasesWrite)
	return &CaseClient{client: api.NewAPIClient(cfg), url: strings.TrimSuffix(statusURL, "/") + "/api/v1/cases"}
}

// Create posts the case.
func (c *CaseClient) Create(ctx context.Context, req CaseRequest) (Case, error) {
	var out Case
	if _, err := c.client.Do(ctx, http.MethodPost, c.url, req, &out); err != nil {
		return Case{}, fmt.Errorf("create case %s: %w", req.MessageID, err)
	}
	if out.Reference == "" {
		return Case{}, errors.New("create case: the status service answered without a reference")
	}
	return out, nil
}

// caseRequest builds the case of a submission.
func caseRequest(d *form.Definition, s *Submission) CaseRequest {
	req := CaseRequest{
		MessageID:    s.ID,
		Service:      d.Creates.Case,
		Title:        d.Title,
		SubmittedBy:  SubmittedBy{Sub: s.SubmittedBy, Name: s.SubmittedByName},
		EventDate:    s.Created.UTC().Format(time.RFC3339),
		SubmissionID: s.ID,
		Owner:        CaseOwner{Kind: s.Owner.Kind},
	}
	if s.Owner.Kind == OwnerOrganisation {
		req.Owner.ID = s.Owner.ID
	} else {
		req.Owner.Sub = s.Owner.ID
	}
	if d.Creates.ExpectedDays > 0 {
		req.ExpectedCompletion = s.Created.AddDate(0, 0, d.Creates.ExpectedDays).Format(time.DateOnly)
	}
	return req
}
