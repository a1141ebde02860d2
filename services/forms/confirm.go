package forms

import (
	"errors"
	"net/http"

	"github.com/kanton/kundencenter/services/forms/form"
	"github.com/kanton/kundencenter/services/page"
	"github.com/kanton/kundencenter/store/sqldb"
)

// confirmationPage is the view model of the confirmation (it works from a
// bookmark).
type confirmationPage struct {
	page.Layout
	FormTitle  string
	Reference  string
	Sent       string
	NextSteps  string
	CaseURL    string // the case in "Meine Vorgänge", once created
	StatusURL  string // "Meine Vorgänge"
	ReuseURL   string
	ReceiptURL string
	Paid       string
}

// confirmation shows that a form was sent: the reference number, what
// happens next and when, and the link to the case.
func (s *service) confirmation(w http.ResponseWriter, r *http.Request) {
	sub, ok := s.loadSubmission(w, r)
	if !ok {
		return
	}
	l := s.layout(r, "forms.confirmation.title")
	v := confirmationPage{Layout: l, FormTitle: sub.FormID, Reference: sub.Reference, Sent: dateTime(sub.Created),
		CaseURL: sub.CaseURL, ReuseURL: "/submissions/" + sub.ID + "/reuse",
		ReceiptURL: "/submissions/" + sub.ID + "/receipt.pdf"}
	if s.cfg.Links.Status != "" {
		v.StatusURL = s.cfg.Links.Status
	}
	if d, ok := s.cat.Get(sub.FormID, sub.Version); ok {
		v.FormTitle, v.NextSteps = d.Title.In(l.Lang), d.NextSteps.In(l.Lang)
		if d.Fee != nil && sub.PaymentID != "" {
			v.Paid = chf(d.Fee.Amount)
		}
	}
	s.pages.Render(w, r, http.StatusOK, "forms/confirmation", v)
}

// loadSubmission returns the submission of the path, or answers the
// request itself (not found: it is not the session's owner's) and returns
// false.
func (s *service) loadSubmission(w http.ResponseWriter, r *http.Request) (*Submission, bool) {
	sub, err := s.db.submission(r.Context(), from(r).owner, r.PathValue("submission"))
	if errors.Is(err, sqldb.ErrNotFound) {
		s.notFound(w, r, err)
		return nil, false
	}
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "forms.error.failed", err)
		return nil, false
	}
	return sub, true
}

// reuse starts a new draft of the newest version of a sent form with the
// same answers (files are not copied).
func (s *service) reuse(w http.ResponseWriter, r *http.Request) {
	sub, ok := s.loadSubmission(w, r)
	if !ok {
		return
	}
	d, ok := s.cat.Latest(sub.FormID)
	if !ok {
		s.notFound(w, r, errors.New("form gone"))
		return
	}
	a := form.Answers{}
	for _, p := range d.Pages {
		for _, f := range p.Fields {
			if f.Type == form.TypeFile {
				continue
			}
			for _, k := range f.Keys() {
				if v, ok := sub.Answers[k]; ok {
					a[k] = v
				}
			}
		}
	}
	x, err := s.newDraft(r, d, a)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "forms.error.failed", err)
		return
	}
	http.Redirect(w, r, "/drafts/"+x.ID, http.StatusSeeOther)
}
