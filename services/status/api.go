package status

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"time"

	"github.com/kanton/kundencenter/services/api"
	"github.com/kanton/kundencenter/services/page"
	"github.com/kanton/kundencenter/webkit"
)

// API scopes (granted by the IdP to back-office clients).
const (
	ScopeWrite = "cases:write"
	ScopeRead  = "cases:read"
)

// ScopeSummary lets the portal read a person's summary with their own
// access token.
const ScopeSummary = "summary:read"

// APIBase is the path of the back-office API.
const APIBase = "/api/v1"

// maxFuture bounds how far an eventDate may lie ahead of the service's
// clock (clock skew): a date in the future would hold off every later
// message.
const maxFuture = 5 * time.Minute

// maxAPIBody bounds a request body of the API.
const maxAPIBody = 64 << 10

// The API's problems beyond the shared ones.
var (
	problemTransition = webkit.Problem{Type: "urn:kundencenter:problem:transition", Title: "Status change not allowed", Status: http.StatusConflict}
	problemReuse      = webkit.Problem{Type: "urn:kundencenter:problem:message-reused", Title: "messageId already used with another body", Status: http.StatusConflict}
)

// createRequest is the body of POST /cases.
type createRequest struct {
	MessageID          string    `json:"messageId"`
	Service            string    `json:"service"`
	Title              Text      `json:"title"`
	Owner              Owner     `json:"owner"`
	SubmittedBy        *Person   `json:"submittedBy,omitempty"`
	EventDate          time.Time `json:"eventDate"`
	ExpectedCompletion string    `json:"expectedCompletion,omitempty"`
	TestDeliveryFlag   bool      `json:"testDeliveryFlag"`
	SubmissionID       string    `json:"submissionId,omitempty"`
}

// createAnswer is the answer to POST /cases.
type createAnswer struct {
	BusinessProcessID string `json:"businessProcessId"`
	Reference         string `json:"reference"`
	URL               string `json:"url"`
}

// eventRequest is the body of POST /cases/{id}/events (eCH-0058 names).
type eventRequest struct {
	MessageID          string    `json:"messageId"`
	Action             Action    `json:"action"`
	ReferenceMessageID string    `json:"referenceMessageId,omitempty"`
	EventDate          time.Time `json:"eventDate"`
	Status             Status    `json:"status,omitempty"`
	Note               Text      `json:"note"`
	Deadline           string    `json:"deadline,omitempty"`
	Outcome            Outcome   `json:"outcome,omitempty"`
	BusinessCaseClosed bool      `json:"businessCaseClosed"`
	Notify             bool      `json:"notify"`
	TestDeliveryFlag   bool      `json:"testDeliveryFlag"`
}

// caseView is a case as the API shows it.
type caseView struct {
	BusinessProcessID  string       `json:"businessProcessId"`
	Reference          string       `json:"reference"`
	URL                string       `json:"url"`
	Service            string       `json:"service"`
	Title              Text         `json:"title"`
	Owner              *Owner       `json:"owner"` // null once the owner's account was purged
	Status             Status       `json:"status"`
	Outcome            Outcome      `json:"outcome,omitempty"`
	Deadline           string       `json:"deadline,omitempty"`
	BusinessCaseClosed bool         `json:"businessCaseClosed"`
	ExpectedCompletion string       `json:"expectedCompletion,omitempty"`
	TestDeliveryFlag   bool         `json:"testDeliveryFlag"`
	SubmissionID       string       `json:"submissionId,omitempty"`
	CreatedAt          time.Time    `json:"createdAt"`
	ChangedAt          time.Time    `json:"changedAt"`
	History            []entryView  `json:"history"`
	Answers            []answerView `json:"answers,omitempty"` // GET only
}

// answerView is a person's answer to a Rückfrage as the API shows it.
type answerView struct {
	ID          string     `json:"id"`
	RequestSeq  int64      `json:"requestSeq"`
	Text        string     `json:"text"`
	SubmittedBy string     `json:"submittedBy,omitempty"` // the person's sub; "" once purged
	CreatedAt   time.Time  `json:"createdAt"`
	Files       []fileView `json:"files"`
}

type fileView struct {
	File
	URL string `json:"url"`
}

type entryView struct {
	MessageID string    `json:"messageId"`
	EventDate time.Time `json:"eventDate"`
	Status    Status    `json:"status"`
	Note      Text      `json:"note"`
	Deadline  string    `json:"deadline,omitempty"`
	Outcome   Outcome   `json:"outcome,omitempty"`
	Corrected bool      `json:"corrected,omitempty"`
}

func (s *service) view(c Case, st State) caseView {
	v := caseView{BusinessProcessID: c.ID, Reference: c.Reference, URL: s.caseURL(c.Reference), Service: c.Service,
		Title: c.Title, Status: c.Status, Outcome: c.Outcome, Deadline: c.Deadline, BusinessCaseClosed: c.Closed,
		ExpectedCompletion: c.ExpectedCompletion, TestDeliveryFlag: c.Test, SubmissionID: c.SubmissionID,
		CreatedAt: c.CreatedAt, ChangedAt: c.ChangedAt}
	if c.Owner.Kind != "" {
		o := c.Owner
		v.Owner = &o
	}
	for _, e := range st.History {
		v.History = append(v.History, entryView{MessageID: e.MessageID, EventDate: e.EventDate.UTC(), Status: e.Status,
			Note: e.Note, Deadline: e.Deadline, Outcome: e.Outcome, Corrected: e.Corrected})
	}
	return v
}

func (s *service) caseURL(ref string) string { return s.base + "/cases/" + ref }

// mountAPI registers the back-office API (see openapi.json).
func (s *service) mountAPI(mux *http.ServeMux) {
	mux.Handle("POST "+APIBase+"/cases", s.auth.Require(ScopeWrite, http.HandlerFunc(s.apiCreate)))
	mux.Handle("POST "+APIBase+"/cases/{id}/events", s.auth.Require(ScopeWrite, http.HandlerFunc(s.apiEvent)))
	mux.Handle("GET "+APIBase+"/cases/{id}", s.auth.Require(ScopeRead, http.HandlerFunc(s.apiGet)))
	mux.Handle("GET "+APIBase+"/cases", s.auth.Require(ScopeRead, http.HandlerFunc(s.apiGet)))
	mux.Handle("GET "+APIBase+"/cases/{id}/files/{file}", s.auth.Require(ScopeRead, http.HandlerFunc(s.apiFile)))
	mux.Handle("GET "+APIBase+"/summary", s.auth.Require(ScopeSummary, http.HandlerFunc(s.apiSummary)))
	mux.HandleFunc("GET "+APIBase+"/openapi.json", serveOpenAPI)
}

// may reports whether the caller may touch cases of service.
func (s *service) may(caller api.Caller) func(service string) bool {
	return func(service string) bool {
		allowed := s.clients[caller.ClientID]
		return slices.Contains(allowed, "*") || slices.Contains(allowed, service)
	}
}

// message identifies a request for idempotency: the caller, the messageId
// and a hash of what the request asks (path and canonical body).
func message(caller api.Caller, messageID, path string, body any) Message {
	raw, _ := json.Marshal(body)
	h := sha256.New()
	h.Write([]byte(path))
	h.Write([]byte{0})
	h.Write(raw)
	return Message{ClientID: caller.ClientID, MessageID: messageID, Hash: h.Sum(nil)}
}

// apiCreate creates a case (POST /cases).
func (s *service) apiCreate(w http.ResponseWriter, r *http.Request) {
	caller, _ := api.CallerFrom(r.Context())
	var req createRequest
	if !webkit.Decode(w, r, &req, maxAPIBody) {
		return
	}
	if errs := req.check(s.now()); len(errs) > 0 {
		p := webkit.Invalid.With("the case is incomplete or malformed")
		p.Errors = errs
		webkit.WriteProblem(w, r, p)
		return
	}
	if !s.may(caller)(req.Service) {
		webkit.WriteProblem(w, r, webkit.Forbidden.With(fmt.Sprintf("client %q may not create cases of service %q", caller.ClientID, req.Service)))
		return
	}
	nc := NewCase{Service: req.Service, Title: req.Title, Owner: req.Owner, EventDate: req.EventDate,
		ExpectedCompletion: req.ExpectedCompletion, Test: req.TestDeliveryFlag, SubmissionID: req.SubmissionID}
	if req.SubmittedBy != nil {
		nc.SubmittedBy = *req.SubmittedBy
	}
	a, err := s.store.Create(r.Context(), message(caller, req.MessageID, "create", req), nc, func(c Case, _ State) ([]byte, error) {
		return json.Marshal(createAnswer{BusinessProcessID: c.ID, Reference: c.Reference, URL: s.caseURL(c.Reference)})
	})
	s.answer(w, r, a, err)
}

func (req createRequest) check(now time.Time) []webkit.FieldError {
	var errs []webkit.FieldError
	add := func(ptr, detail string) { errs = append(errs, webkit.FieldError{Pointer: ptr, Detail: detail}) }
	if req.MessageID == "" || len(req.MessageID) > 36 {
		add("/messageId", "1 to 36 characters")
	}
	if req.Service == "" || len(req.Service) > 64 {
		add("/service", "1 to 64 characters")
	}
	if req.Title.De == "" {
		add("/title/de", "required")
	}
	switch req.Owner.Kind {
	case OwnerPerson:
		if req.Owner.Sub == "" || req.Owner.ID != "" {
			add("/owner", "a person is named by sub alone")
		}
	case OwnerOrganisation:
		if req.Owner.ID == "" || req.Owner.Sub != "" {
			add("/owner", "an organisation is named by id alone")
		}
	default:
		add("/owner/kind", "person or organisation")
	}
	if req.EventDate.IsZero() {
		add("/eventDate", "required (RFC 3339)")
	}
	if req.EventDate.After(now.Add(maxFuture)) {
		add("/eventDate", "lies in the future")
	}
	if req.ExpectedCompletion != "" {
		if _, err := time.Parse(time.DateOnly, req.ExpectedCompletion); err != nil {
			add("/expectedCompletion", "YYYY-MM-DD")
		}
	}
	if req.SubmittedBy != nil && req.SubmittedBy.Sub == "" {
		add("/submittedBy/sub", "required")
	}
	return errs
}

// apiEvent adds an eCH-0058 message to a case (POST /cases/{id}/events).
func (s *service) apiEvent(w http.ResponseWriter, r *http.Request) {
	caller, _ := api.CallerFrom(r.Context())
	id := r.PathValue("id")
	var req eventRequest
	if !webkit.Decode(w, r, &req, maxAPIBody) {
		return
	}
	ev := Event{MessageID: req.MessageID, Action: req.Action, Ref: req.ReferenceMessageID, EventDate: req.EventDate,
		Status: req.Status, Note: req.Note, Deadline: req.Deadline, Outcome: req.Outcome, Notify: req.Notify, Test: req.TestDeliveryFlag}
	if req.BusinessCaseClosed && ev.Status == "" && ev.Action != ActionRecall {
		ev.Status = Abgeschlossen
	}
	if req.BusinessCaseClosed && !ev.Status.Final() {
		webkit.WriteProblem(w, r, webkit.Invalid.With("businessCaseClosed needs status abgeschlossen or storniert"))
		return
	}
	if err := ev.Check(); err != nil {
		webkit.WriteProblem(w, r, webkit.Invalid.With(err.Error()))
		return
	}
	if ev.EventDate.After(s.now().Add(maxFuture)) {
		webkit.WriteProblem(w, r, webkit.Invalid.With("eventDate lies in the future"))
		return
	}
	a, err := s.store.AddEvent(r.Context(), message(caller, req.MessageID, "event "+id, req), id, s.may(caller), ev,
		func(c Case) ([]byte, error) { return json.Marshal(s.view(c, State{})) })
	s.answer(w, r, a, err)
}

// apiGet shows a case (GET /cases/{id}, or GET /cases?reference=…).
func (s *service) apiGet(w http.ResponseWriter, r *http.Request) {
	caller, _ := api.CallerFrom(r.Context())
	var (
		c   Case
		st  State
		err error
	)
	if id := r.PathValue("id"); id != "" {
		c, st, err = s.store.Get(r.Context(), id)
	} else {
		c, st, err = s.store.GetByReference(r.Context(), r.URL.Query().Get("reference"))
	}
	if err == nil && !s.may(caller)(c.Service) {
		err = ErrForbidden
	}
	var answers []Answer
	if err == nil {
		answers, err = s.store.Answers(r.Context(), c.ID)
	}
	if err != nil {
		s.answer(w, r, Receipt{}, err)
		return
	}
	v := s.view(c, st)
	for _, a := range answers {
		av := answerView{ID: a.ID, RequestSeq: a.RequestSeq, Text: a.Text, SubmittedBy: a.BySub, CreatedAt: a.CreatedAt, Files: []fileView{}}
		for _, f := range a.Files {
			av.Files = append(av.Files, fileView{File: f, URL: s.base + APIBase + "/cases/" + c.ID + "/files/" + f.ID})
		}
		v.Answers = append(v.Answers, av)
	}
	webkit.WriteJSON(w, http.StatusOK, v)
}

// apiFile sends a file of an answer (GET /cases/{id}/files/{file}).
func (s *service) apiFile(w http.ResponseWriter, r *http.Request) {
	caller, _ := api.CallerFrom(r.Context())
	c, _, err := s.store.Get(r.Context(), r.PathValue("id"))
	if err == nil && !s.may(caller)(c.Service) {
		err = ErrForbidden
	}
	var f File
	if err == nil {
		f, err = s.store.AnswerFile(r.Context(), c.ID, r.PathValue("file"))
	}
	if err != nil {
		s.answer(w, r, Receipt{}, err)
		return
	}
	w.Header().Set("Content-Type", f.ContentType)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": f.Name}))
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(f.Data)
}

// answer writes a stored answer, or the problem for err.
func (s *service) answer(w http.ResponseWriter, r *http.Request, a Receipt, err error) {
	var te *TransitionError
	switch {
	case err == nil:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(a.Code)
		_, _ = w.Write(a.Body)
	case errors.Is(err, ErrNotFound):
		webkit.WriteProblem(w, r, webkit.NotFound.With("no case with this businessProcessId"))
	case errors.Is(err, ErrForbidden):
		webkit.WriteProblem(w, r, webkit.Forbidden.With("this client may not touch cases of the case's service"))
	case errors.Is(err, ErrMessageReuse):
		webkit.WriteProblem(w, r, problemReuse.With("this messageId was sent before with another body; use a new messageId"))
	case errors.As(err, &te):
		webkit.WriteProblem(w, r, problemTransition.With(te.Error()))
	case errors.Is(err, ErrInvalid), errors.Is(err, ErrUnknownRef), errors.Is(err, ErrRecallFirst):
		webkit.WriteProblem(w, r, webkit.Invalid.With(err.Error()))
	default:
		s.log.ErrorContext(r.Context(), "status API", "path", r.URL.Path, "error", err)
		webkit.WriteProblem(w, r, webkit.Internal)
	}
}

// summaryItems is how many open cases the summary names.
const summaryItems = 5

// summary is the answer of GET /summary.
type summary struct {
	Count int           `json:"count"`
	Items []summaryItem `json:"items"`
}

type summaryItem struct {
	Title     string    `json:"title"`
	Reference string    `json:"reference"`
	Status    Status    `json:"status"`
	Date      time.Time `json:"date"`
	URL       string    `json:"url"`
}

// apiSummary answers the portal's "Übersicht" (GET /summary, a person's own
// access token with summary:read): how many open cases the token's subject
// has, and the newest five, titles in the request's language.
func (s *service) apiSummary(w http.ResponseWriter, r *http.Request) {
	caller, _ := api.CallerFrom(r.Context())
	if caller.Subject == "" || caller.Subject == caller.ClientID {
		webkit.WriteProblem(w, r, webkit.Forbidden.With("the summary needs a person's access token"))
		return
	}
	n, cases, err := s.store.Open(r.Context(), Owner{Kind: OwnerPerson, Sub: caller.Subject}, summaryItems)
	if err != nil {
		s.answer(w, r, Receipt{}, err)
		return
	}
	lang := page.Lang(r)
	out := summary{Count: n, Items: []summaryItem{}}
	for _, c := range cases {
		out.Items = append(out.Items, summaryItem{Title: c.Title.In(lang), Reference: c.Reference, Status: c.Status,
			Date: c.ChangedAt, URL: s.caseURL(c.Reference)})
	}
	webkit.WriteJSON(w, http.StatusOK, out)
}
