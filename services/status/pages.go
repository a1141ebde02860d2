package status

import (
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kanton/kundencenter/services/page"
	"github.com/kanton/kundencenter/services/rp"
	"github.com/kanton/kundencenter/webkit"
)

// pageSize is the number of cases on one page of "Meine Vorgänge".
const pageSize = 20

// Limits of an answer to a Rückfrage.
const (
	maxAnswerText  = 5000
	maxAnswerFiles = 5
)

// mountPages registers the pages for people; login wraps them (the rp's
// RequireLogin), the form post is guarded against CSRF.
func (s *service) mountPages(mux *http.ServeMux, login func(http.Handler) http.Handler) {
	guard := s.formGuard()
	mux.Handle("GET /{$}", login(http.HandlerFunc(s.list)))
	mux.Handle("GET /cases/{ref}", login(http.HandlerFunc(s.detail)))
	mux.Handle("POST /cases/{ref}/answer", login(guard.Wrap(http.HandlerFunc(s.answerForm))))
}

// formGuard is the CSRF protection of the answer form (webkit.FormGuard):
// a same-site post carrying the session's CSRF token, at most MaxUpload
// bytes of files; a refused post gets 403, a too large one 413 with the
// case page.
func (s *service) formGuard() *webkit.FormGuard {
	return &webkit.FormGuard{
		Token: rp.FormToken,
		Refuse: func(w http.ResponseWriter, r *http.Request, err error) {
			var tooLarge *http.MaxBytesError
			switch {
			case errors.As(err, &tooLarge):
				s.renderCase(w, r, http.StatusRequestEntityTooLarge, "status.answer.too_large", "")
			case errors.Is(err, webkit.ErrFormBody):
				http.Error(w, http.StatusText(http.StatusBadRequest), http.StatusBadRequest)
			default:
				http.Error(w, http.StatusText(http.StatusForbidden), http.StatusForbidden)
			}
		},
		MaxBody:   func(*http.Request) int64 { return s.maxUpload + 64<<10 },
		MaxMemory: 1 << 20,
	}
}

// layout returns the page layout for the session: the language chosen
// with ?lang= (or remembered), else the person's from the login (the
// session middleware puts it into the context for page.Lang).
func (s *service) layout(r *http.Request, sess *rp.Session, titleKey string) page.Layout {
	l := s.pages.Layout(r, titleKey)
	l.User, l.For, l.CSRF = sess.DisplayName(), sess.For, sess.CSRF
	return l
}

// owner returns whose cases the session sees: the organisation or person
// it acts for, else the person themself (CONTRACTS.md: owner-or-acting;
// the IdP issues "represents" only where membership or representation
// covers this service, so the claim is the permission).
func owner(sess *rp.Session) Owner {
	kind, id := sess.Owner()
	if kind == rp.ActingOrganisation {
		return Owner{Kind: OwnerOrganisation, ID: id}
	}
	return Owner{Kind: OwnerPerson, Sub: id}
}

// visible reports whether the session may see the case.
func visible(sess *rp.Session, c Case) bool {
	o := owner(sess)
	return c.Viewable && o.Key() != "" && c.Owner.Kind == o.Kind && c.Owner.Key() == o.Key()
}

// listPage is the view model of "Meine Vorgänge".
type listPage struct {
	page.Layout
	Cases []caseRow
	Next  string // URL of the next page; "" on the last
	First string // URL of the first page when not on it
}

// caseRow is one case in the list.
type caseRow struct {
	Reference string
	Title     string
	Status    string
	Changed   string
	URL       string
	Test      bool
}

// list shows the cases of the session's owner, newest change first, a
// page at a time (keyset pagination on changed_at, id).
func (s *service) list(w http.ResponseWriter, r *http.Request) {
	sess, _ := rp.SessionFrom(r.Context())
	l := s.layout(r, sess, "site.status")
	cur, ok := parseCursor(r.URL.Query().Get("after"))
	if !ok {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	cases, err := s.store.List(r.Context(), owner(sess), cur, pageSize+1)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := listPage{Layout: l}
	if !cur.ChangedAt.IsZero() {
		p.First = "/"
	}
	if len(cases) > pageSize {
		cases = cases[:pageSize]
		last := cases[len(cases)-1]
		p.Next = "/?after=" + url.QueryEscape(formatCursor(Cursor{ChangedAt: last.ChangedAt, ID: last.ID}))
	}
	for _, c := range cases {
		p.Cases = append(p.Cases, caseRow{Reference: c.Reference, Title: c.Title.In(l.Lang),
			Status: s.statusLabel(l.Lang, c.Status, c.Outcome), Changed: formatDate(c.ChangedAt),
			URL: "/cases/" + c.Reference, Test: c.Test})
	}
	s.pages.Render(w, r, http.StatusOK, "status/list", p)
}

func formatCursor(c Cursor) string {
	return c.ChangedAt.UTC().Format(time.RFC3339Nano) + "~" + c.ID
}

func parseCursor(s string) (Cursor, bool) {
	if s == "" {
		return Cursor{}, true
	}
	at, id, ok := strings.Cut(s, "~")
	t, err := time.Parse(time.RFC3339Nano, at)
	if !ok || err != nil || !validID(id) {
		return Cursor{}, false
	}
	return Cursor{ChangedAt: t, ID: id}, true
}

func (s *service) statusLabel(lang string, st Status, o Outcome) string {
	label := s.pages.Message(lang, "status.s."+string(st))
	if o != "" {
		label += ": " + s.pages.Message(lang, "status.o."+string(o))
	}
	return label
}

// formatDate writes a date the Swiss way, in Zurich.
func formatDate(t time.Time) string { return t.In(zurich).Format("02.01.2006") }

// formatDay writes a YYYY-MM-DD date the Swiss way.
func formatDay(d string) string {
	t, err := time.Parse(time.DateOnly, d)
	if err != nil {
		return d
	}
	return t.Format("02.01.2006")
}

// casePage is the view model of a case's page.
type casePage struct {
	page.Layout
	Reference          string
	Title              string
	Status             string
	Closed             bool
	ExpectedCompletion string
	History            []historyRow
	Request            *requestView // the open Rückfrage, if any
	Answers            []answerRow
	DocumentsURL       string
	Answered           bool   // an answer was just sent
	ErrorKey           string // why the answer was refused
	AnswerText         string // the refused answer's text, to edit
	MaxUploadMB        int64
	Test               bool
}

type historyRow struct {
	Date      string
	Status    string
	Note      string
	Corrected bool
}

type requestView struct {
	Note     string
	Deadline string
}

type answerRow struct {
	Date  string
	Text  string
	Files []string
}

// detail shows a case the session may see: history in the person's
// language, the Rückfrage with its answer form, and the answers sent.
func (s *service) detail(w http.ResponseWriter, r *http.Request) {
	s.renderCase(w, r, http.StatusOK, "", "")
}

func (s *service) renderCase(w http.ResponseWriter, r *http.Request, code int, errKey, text string) {
	sess, _ := rp.SessionFrom(r.Context())
	c, st, ok := s.visibleCase(w, r, sess)
	if !ok {
		return
	}
	l := s.layout(r, sess, "status.case.title")
	p := casePage{Layout: l, Reference: c.Reference, Title: c.Title.In(l.Lang), Status: s.statusLabel(l.Lang, c.Status, c.Outcome),
		Closed: c.Closed, ExpectedCompletion: formatDay(c.ExpectedCompletion), Answered: r.URL.Query().Get("answered") == "1" && code == http.StatusOK,
		ErrorKey: errKey, AnswerText: text, MaxUploadMB: s.maxUpload >> 20, Test: c.Test}
	if s.links.Documents != "" {
		p.DocumentsURL = strings.TrimSuffix(s.links.Documents, "/") + "/?reference=" + url.QueryEscape(c.Reference)
	}
	for i := len(st.History) - 1; i >= 0; i-- { // newest first
		e := st.History[i]
		p.History = append(p.History, historyRow{Date: formatDate(e.EventDate), Status: s.statusLabel(l.Lang, e.Status, e.Outcome),
			Note: e.Note.In(l.Lang), Corrected: e.Corrected})
	}
	if cur := st.Current(); cur.Status == Rueckfrage {
		p.Request = &requestView{Note: cur.Note.In(l.Lang), Deadline: formatDay(cur.Deadline)}
	}
	answers, err := s.store.Answers(r.Context(), c.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, a := range answers {
		row := answerRow{Date: formatDate(a.CreatedAt), Text: a.Text}
		for _, f := range a.Files {
			row.Files = append(row.Files, f.Name)
		}
		p.Answers = append(p.Answers, row)
	}
	s.pages.Render(w, r, code, "status/case", p)
}

// visibleCase loads the case of the path for the session; a case it may
// not see is answered like one that does not exist.
func (s *service) visibleCase(w http.ResponseWriter, r *http.Request, sess *rp.Session) (Case, State, bool) {
	ref := r.PathValue("ref")
	if ValidReference(ref) {
		c, st, err := s.store.GetByReference(r.Context(), ref)
		if err == nil && visible(sess, c) {
			return c, st, true
		}
		if err != nil && !errors.Is(err, ErrNotFound) {
			s.fail(w, r, err)
			return Case{}, State{}, false
		}
	}
	l := s.layout(r, sess, "status.notfound.title")
	s.pages.Render(w, r, http.StatusNotFound, "status/notfound", struct{ page.Layout }{l})
	return Case{}, State{}, false
}

// answerForm takes the answer to an open Rückfrage: a text and files
// (PDF, JPEG, PNG by content), at most Config.MaxUpload bytes in all. The
// form, a multipart one, is checked by formGuard (CSRF, size) first.
func (s *service) answerForm(w http.ResponseWriter, r *http.Request) {
	sess, _ := rp.SessionFrom(r.Context())
	if r.MultipartForm == nil {
		http.Error(w, http.StatusText(http.StatusBadRequest), http.StatusBadRequest)
		return
	}
	defer r.MultipartForm.RemoveAll()
	text := strings.TrimSpace(r.PostFormValue("text"))
	c, _, ok := s.visibleCase(w, r, sess)
	if !ok {
		return
	}
	files, errKey := readFiles(r.MultipartForm.File["files"], s.maxUpload)
	switch {
	case errKey != "":
	case text == "" && len(files) == 0:
		errKey = "status.answer.empty"
	case utf8.RuneCountInString(text) > maxAnswerText:
		errKey = "status.answer.too_long"
	}
	if errKey != "" {
		s.renderCase(w, r, http.StatusUnprocessableEntity, errKey, text)
		return
	}
	err := s.store.AddAnswer(r.Context(), c.ID, sess.Subject, text, files)
	if errors.Is(err, ErrNoRequest) {
		s.renderCase(w, r, http.StatusConflict, "status.answer.closed", text)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/cases/"+c.Reference+"?answered=1", http.StatusSeeOther)
}

// readFiles reads the uploaded files, checking count, size and type; it
// returns a message key when one is refused.
func readFiles(headers []*multipart.FileHeader, max int64) ([]File, string) {
	if len(headers) > maxAnswerFiles {
		return nil, "status.answer.too_many"
	}
	var (
		out   []File
		total int64
	)
	for _, h := range headers {
		if h.Size == 0 && h.Filename == "" {
			continue // the empty file input
		}
		total += h.Size
		if total > max {
			return nil, "status.answer.too_large"
		}
		f, err := h.Open()
		if err != nil {
			return nil, "status.answer.unreadable"
		}
		data, err := io.ReadAll(io.LimitReader(f, max+1))
		f.Close()
		if err != nil {
			return nil, "status.answer.unreadable"
		}
		typ, ok := page.SniffUpload(data)
		if !ok {
			return nil, "status.answer.type"
		}
		out = append(out, File{Name: page.FileName(h.Filename), ContentType: typ, Data: data})
	}
	return out, ""
}

// fail answers 500 and logs err with the request ID.
func (s *service) fail(w http.ResponseWriter, r *http.Request, err error) {
	id := webkit.LogID(r.Context())
	s.log.ErrorContext(r.Context(), "status page", "request_id", id, "path", r.URL.Path, "error", err)
	http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
}
