package forms

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/kanton/kundencenter/services/forms/form"
	"github.com/kanton/kundencenter/services/page"
	"github.com/kanton/kundencenter/store/sqldb"
)

// cataloguePage is the view model of the form catalogue.
type cataloguePage struct {
	page.Layout
	Query  string
	Groups []formGroup
	Count  int
	Drafts int
}

type formGroup struct {
	Title string
	Forms []formCard
}

// formCard is one form of the catalogue or its start page.
type formCard struct {
	Title    string
	Summary  string
	URL      string
	Fee      string // "CHF 20.00", "" when free
	Level    string // text of the authentication level
	Minutes  int
	TwoSteps bool // the form needs a two-factor login
}

// catalogue shows the forms the session may use, grouped by category and
// filtered by the search query q.
func (s *service) catalogue(w http.ResponseWriter, r *http.Request) {
	q := from(r)
	l := s.layout(r, "site.forms")
	query := strings.TrimSpace(r.URL.Query().Get("q"))
	if len(query) > 100 {
		query = query[:100]
	}
	v := cataloguePage{Layout: l, Query: query}
	for _, cat := range s.cat.Categories() {
		g := formGroup{Title: cat.Title.In(l.Lang)}
		for _, d := range s.cat.Forms() {
			if d.Category != cat.ID || !d.ForAudience(q.audience()) || (query != "" && !d.Matches(query, l.Lang)) {
				continue
			}
			g.Forms = append(g.Forms, s.card(d, l.Lang))
		}
		if len(g.Forms) > 0 {
			v.Groups = append(v.Groups, g)
			v.Count += len(g.Forms)
		}
	}
	if drafts, err := s.db.drafts(r.Context(), q.owner); err == nil {
		v.Drafts = len(drafts)
	}
	s.pages.Render(w, r, http.StatusOK, "forms/catalogue", v)
}

func (s *service) card(d *form.Definition, lang string) formCard {
	c := formCard{
		Title: d.Title.In(lang), Summary: d.Summary.In(lang), URL: "/forms/" + d.ID,
		Level: s.pages.Message(lang, "forms.level."+d.Level), Minutes: d.Minutes, TwoSteps: d.Level != "low",
	}
	if d.Fee != nil {
		c.Fee = chf(d.Fee.Amount)
	}
	return c
}

// chf formats Rappen as "CHF 20.00".
func chf(rappen int64) string { return fmt.Sprintf("CHF %d.%02d", rappen/100, rappen%100) }

// startPage is the view model of a form's start page.
type startPage struct {
	page.Layout
	Form      formCard
	FeeReason string
	Action    string
	Drafts    []draftRow // drafts of this form to resume
	NotFor    bool       // the form cannot be used in the acting context
}

// start shows what a form is for, what it costs and how long it takes, and
// steps the login up when the form needs a stronger one.
func (s *service) start(w http.ResponseWriter, r *http.Request) {
	q := from(r)
	d, ok := s.latest(w, r)
	if !ok {
		return
	}
	if !s.levelOK(w, r, d) {
		return
	}
	l := s.layout(r, "forms.start.title")
	v := startPage{Layout: l, Form: s.card(d, l.Lang), Action: "/forms/" + d.ID, NotFor: !d.ForAudience(q.audience())}
	if d.Fee != nil {
		v.FeeReason = d.Fee.Reason.In(l.Lang)
	}
	if drafts, err := s.db.drafts(r.Context(), q.owner); err == nil {
		for _, x := range drafts {
			if x.FormID == d.ID {
				v.Drafts = append(v.Drafts, s.draftRow(x, l.Lang))
			}
		}
	}
	s.pages.Render(w, r, http.StatusOK, "forms/start", v)
}

// latest returns the newest version of the form of the path, or answers
// 404.
func (s *service) latest(w http.ResponseWriter, r *http.Request) (*form.Definition, bool) {
	d, ok := s.cat.Latest(r.PathValue("form"))
	if !ok {
		s.notFound(w, r, fmt.Errorf("no form %q", r.PathValue("form")))
	}
	return d, ok
}

// startDraft creates a draft of the newest version of a form, pre-filled
// from the login's claims, and opens its first page.
func (s *service) startDraft(w http.ResponseWriter, r *http.Request) {
	q := from(r)
	d, ok := s.latest(w, r)
	if !ok {
		return
	}
	if !form.LevelReached(q.sess.ACR, d.Level) {
		http.Redirect(w, r, "/forms/"+d.ID, http.StatusSeeOther)
		return
	}
	if !d.ForAudience(q.audience()) {
		s.fail(w, r, http.StatusForbidden, "forms.start.not_for", fmt.Errorf("form %s not for %s", d.ID, q.audience()))
		return
	}
	x, err := s.newDraft(r, d, prefill(d, q))
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "forms.error.failed", err)
		return
	}
	http.Redirect(w, r, pageURL(x.ID, d.Pages[0].ID, false), http.StatusSeeOther)
}

// newDraft stores a new draft of d with the answers a.
func (s *service) newDraft(r *http.Request, d *form.Definition, a form.Answers) (*Draft, error) {
	q := from(r)
	now := s.now()
	x := &Draft{
		ID: newID(), Owner: q.owner, CreatedBy: q.sess.Subject, FormID: d.ID, Version: d.Version,
		Answers: a, State: DraftOpen, Created: now, Updated: now, Expires: now.Add(s.cfg.DraftRetention),
	}
	return x, s.db.createDraft(r.Context(), x)
}

// prefill returns the answers the login's claims give (the chosen
// profile, organisation or represented person, as the IdP sends them).
func prefill(d *form.Definition, q *request) form.Answers {
	sess := q.sess
	claims := map[string]string{
		"given_name": sess.GivenName, "family_name": sess.FamilyName, "name": sess.Name,
		"email": sess.Email, "phone_number": sess.Phone, "birthdate": sess.Birthdate,
	}
	a := form.Answers{}
	for _, p := range d.Pages {
		for _, f := range p.Fields {
			switch {
			case f.Prefill == "address":
				for i, v := range []string{sess.Street, sess.PostalCode, sess.Locality} {
					if v != "" {
						a[f.Keys()[i]] = []string{v}
					}
				}
			case f.Prefill != "" && claims[f.Prefill] != "":
				a[f.ID] = []string{claims[f.Prefill]}
			}
		}
	}
	return a
}

// draftRow is one draft in "Meine Entwürfe".
type draftRow struct {
	Title     string
	Updated   string
	Deleted   string // when it will be deleted
	ResumeURL string
	DeleteURL string
}

func (s *service) draftRow(x *Draft, lang string) draftRow {
	title := x.FormID
	if d, ok := s.cat.Get(x.FormID, x.Version); ok {
		title = d.Title.In(lang)
	}
	return draftRow{Title: title, Updated: dateTime(x.Updated), Deleted: date(x.Expires),
		ResumeURL: "/drafts/" + x.ID, DeleteURL: "/drafts/" + x.ID + "/delete"}
}

// zurich is the time zone dates are shown in.
var zurich = func() *time.Location {
	if l, err := time.LoadLocation("Europe/Zurich"); err == nil {
		return l
	}
	return time.FixedZone("CET", 3600)
}()

func date(t time.Time) string     { return t.In(zurich).Format("02.01.2006") }
func dateTime(t time.Time) string { return t.In(zurich).Format("02.01.2006 15:04") }

// draftsPage is the view model of "Meine Entwürfe".
type draftsPage struct {
	page.Layout
	Drafts    []draftRow
	Retention int // days
	Saved     bool
}

// draftList shows "Meine Entwürfe".
func (s *service) draftList(w http.ResponseWriter, r *http.Request) {
	q := from(r)
	l := s.layout(r, "forms.drafts.title")
	drafts, err := s.db.drafts(r.Context(), q.owner)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "forms.error.failed", err)
		return
	}
	v := draftsPage{Layout: l, Retention: int(s.cfg.DraftRetention / (24 * time.Hour)), Saved: r.URL.Query().Has("saved")}
	for _, x := range drafts {
		v.Drafts = append(v.Drafts, s.draftRow(x, l.Lang))
	}
	s.pages.Render(w, r, http.StatusOK, "forms/drafts", v)
}

// deleteDraft deletes a draft with its files.
func (s *service) deleteDraft(w http.ResponseWriter, r *http.Request) {
	if err := s.db.deleteDraft(r.Context(), from(r).owner, r.PathValue("draft")); err != nil {
		s.fail(w, r, http.StatusInternalServerError, "forms.error.failed", err)
		return
	}
	http.Redirect(w, r, "/drafts", http.StatusSeeOther)
}

// loadDraft returns the draft of the path with its definition, or answers
// the request itself (not found, sent already, level too low) and returns
// false.
func (s *service) loadDraft(w http.ResponseWriter, r *http.Request) (*Draft, *form.Definition, bool) {
	x, err := s.db.draft(r.Context(), from(r).owner, r.PathValue("draft"))
	if errors.Is(err, sqldb.ErrNotFound) {
		s.notFound(w, r, err)
		return nil, nil, false
	}
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "forms.error.failed", err)
		return nil, nil, false
	}
	d, ok := s.cat.Get(x.FormID, x.Version)
	if !ok {
		s.fail(w, r, http.StatusGone, "forms.error.version_gone", fmt.Errorf("draft %s: form %s@%d is gone", x.ID, x.FormID, x.Version))
		return nil, nil, false
	}
	if x.State == DraftSent {
		s.alreadySent(w, r, x)
		return nil, nil, false
	}
	if !s.levelOK(w, r, d) {
		return nil, nil, false
	}
	return x, d, true
}

// alreadySent answers a request for a sent draft (the back button after
// sending): "bereits gesendet", with the link to the confirmation.
func (s *service) alreadySent(w http.ResponseWriter, r *http.Request, x *Draft) {
	l := s.layout(r, "forms.sent.title")
	v := messagePage{Layout: l, Heading: s.pages.Message(l.Lang, "forms.sent.title"), Text: s.pages.Message(l.Lang, "forms.sent.text")}
	if sub, err := s.db.submissionOfDraft(r.Context(), x.ID); err == nil {
		v.Links = append(v.Links, link{s.pages.Message(l.Lang, "forms.sent.confirmation"), "/submissions/" + sub.ID})
	}
	v.Links = append(v.Links, link{s.pages.Message(l.Lang, "forms.catalogue.back"), "/"})
	s.pages.Render(w, r, http.StatusOK, "forms/message", v)
}

// resume opens a draft at its first unanswered page, or at check answers
// when every page is answered.
func (s *service) resume(w http.ResponseWriter, r *http.Request) {
	x, d, ok := s.loadDraft(w, r)
	if !ok {
		return
	}
	if p := firstUnanswered(d, x.Answers, s.now()); p != nil {
		http.Redirect(w, r, pageURL(x.ID, p.ID, false), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/drafts/"+x.ID+"/check", http.StatusSeeOther)
}

// firstUnanswered returns the first visible page whose answers are
// incomplete or invalid; nil when all are complete.
func firstUnanswered(d *form.Definition, a form.Answers, now time.Time) *form.Page {
	for _, p := range d.VisiblePages(a) {
		if _, errs := p.Validate(a, a, "de", now); len(errs) > 0 {
			return p
		}
	}
	return nil
}

func pageURL(draft, pageID string, change bool) string {
	u := "/drafts/" + draft + "/pages/" + pageID
	if change {
		u += "?change=1"
	}
	return u
}
