package forms

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/kanton/kundencenter/services/forms/form"
	"github.com/kanton/kundencenter/services/forms/payment"
	"github.com/kanton/kundencenter/services/page"
	"github.com/kanton/kundencenter/services/rp"
	"github.com/kanton/kundencenter/store/sqldb"
)

// checkPage is the view model of check answers.
type checkPage struct {
	page.Layout
	FormTitle   string
	Sections    []sectionView
	Errors      []errorView
	Declaration string
	DeclError   string
	Fee         string
	FeeReason   string
	Notice      string // after a canceled or failed payment
	Action      string
	Button      string
	BackURL     string
}

type sectionView struct {
	Title string
	Rows  []rowView
}

// rowView is one answer with its "Ändern" link.
type rowView struct {
	Key       string
	Value     []string // lines
	ChangeURL string
}

// check shows every answer in sections with a change link per row, the
// declaration and the button that sends.
func (s *service) check(w http.ResponseWriter, r *http.Request) {
	x, d, ok := s.loadDraft(w, r)
	if !ok {
		return
	}
	v := s.checkView(r, x, d)
	switch r.URL.Query().Get("payment") {
	case "canceled":
		v.Notice = s.pages.Message(v.Lang, "forms.payment.canceled")
	case "failed":
		v.Notice = s.pages.Message(v.Lang, "forms.payment.failed")
	}
	s.renderCheck(w, r, v, http.StatusOK)
}

// renderCheck draws check answers; the page's form may lead to the payment
// page, so its CSP allows that origin as a form target.
func (s *service) renderCheck(w http.ResponseWriter, r *http.Request, v checkPage, status int) {
	if s.cfg.PaymentPage != "" {
		if csp := w.Header().Get("Content-Security-Policy"); csp != "" {
			w.Header().Set("Content-Security-Policy", strings.Replace(csp, "form-action ", "form-action "+s.cfg.PaymentPage+" ", 1))
		}
	}
	s.pages.Render(w, r, status, "forms/check", v)
}

func (s *service) checkView(r *http.Request, x *Draft, d *form.Definition) checkPage {
	l := s.layout(r, "forms.check.title")
	lang := l.Lang
	v := checkPage{Layout: l, FormTitle: d.Title.In(lang), Declaration: d.Declaration.In(lang),
		Action: "/drafts/" + x.ID + "/send", Button: s.pages.Message(lang, "forms.check.send")}
	if d.Fee != nil {
		v.Fee, v.FeeReason = chf(d.Fee.Amount), d.Fee.Reason.In(lang)
		v.Button = s.pages.Message(lang, "forms.check.pay")
	}
	visible := d.VisiblePages(x.Answers)
	if len(visible) > 0 {
		v.BackURL = pageURL(x.ID, visible[len(visible)-1].ID, false)
	}
	v.Sections = s.sections(r.Context(), d, x.Answers, x.ID, lang, true)
	return v
}

// sections lists the answers of the visible fields in sections, each row
// with its change link when change is set; files are named from the
// draft's attachments.
func (s *service) sections(ctx context.Context, d *form.Definition, a form.Answers, draftID, lang string, change bool) []sectionView {
	names := map[string]string{}
	if atts, err := s.db.attachments(ctx, draftID); err == nil {
		for _, at := range atts {
			names[at.ID] = at.Name
		}
	}
	var out []sectionView
	for _, p := range d.VisiblePages(a) {
		title := p.Section.In(lang)
		if len(out) == 0 || out[len(out)-1].Title != title {
			out = append(out, sectionView{Title: title})
		}
		sec := &out[len(out)-1]
		for _, f := range p.Fields {
			if !f.Visible(a) {
				continue
			}
			row := rowView{Key: f.ShortLabel(lang), Value: s.display(f, a, names, lang)}
			if change {
				row.ChangeURL = pageURL(draftID, p.ID, true) + "#" + inputID(f.Keys()[0])
			}
			sec.Rows = append(sec.Rows, row)
		}
	}
	return out
}

// display returns the lines that show the answer of f.
func (s *service) display(f *form.Field, a form.Answers, files map[string]string, lang string) []string {
	if !f.Answered(a) {
		return []string{s.pages.Message(lang, "forms.check.not_provided")}
	}
	switch f.Type {
	case form.TypeChoice, form.TypeSelect, form.TypeMultiChoice:
		var out []string
		for _, v := range a[f.ID] {
			if o, ok := f.Option(v); ok {
				out = append(out, o.Label.In(lang))
			}
		}
		return out
	case form.TypeDate:
		if d, err := time.Parse(time.DateOnly, a.Get(f.ID)); err == nil {
			return []string{d.Format("02.01.2006")}
		}
	case form.TypeAddress:
		k := f.Keys()
		return []string{a.Get(k[0]), strings.TrimSpace(a.Get(k[1]) + " " + a.Get(k[2]))}
	case form.TypeFile:
		var out []string
		for _, id := range a[f.ID] {
			if n, ok := files[id]; ok {
				out = append(out, n)
			}
		}
		return out
	}
	return a[f.ID]
}

// send sends the draft: every visible page must be complete and the
// declaration accepted; then, with a fee, the payment starts (the form is
// sent once the payment is verified), else the form is sent now.
func (s *service) send(w http.ResponseWriter, r *http.Request) {
	x, d, ok := s.loadDraft(w, r)
	if !ok {
		return
	}
	q := from(r)
	v := s.checkView(r, x, d)
	for _, p := range d.VisiblePages(x.Answers) {
		if _, errs := p.Validate(x.Answers, x.Answers, v.Lang, s.now()); len(errs) > 0 {
			v.Errors = append(v.Errors, errorView{Anchor: pageURL(x.ID, p.ID, true), Message: errs[0].Message})
		}
	}
	if r.PostFormValue("declaration") != "yes" {
		v.DeclError = s.pages.Message(v.Lang, "forms.check.declaration_required")
		v.Errors = append(v.Errors, errorView{Anchor: "#f-declaration", Message: v.DeclError})
	}
	if len(v.Errors) > 0 {
		s.renderCheck(w, r, v, http.StatusUnprocessableEntity)
		return
	}
	who := submitter{Sub: q.sess.Subject, Name: q.sess.DisplayName(), Lang: v.Lang}
	if a := q.sess.Acting; a != nil && a.Kind == rp.ActingPerson {
		who.Rep = a.Representation
	}
	if d.Fee == nil {
		sub, _, err := s.submit(r.Context(), x.ID, who, "")
		if err != nil {
			s.fail(w, r, http.StatusInternalServerError, "forms.error.failed", err)
			return
		}
		http.Redirect(w, r, "/submissions/"+sub.ID, http.StatusSeeOther)
		return
	}
	p, err := s.startPayment(r.Context(), x, d, who)
	if err != nil {
		s.log.ErrorContext(r.Context(), "payment could not start", "draft", x.ID, "error", err)
		v.Notice = s.pages.Message(v.Lang, "forms.payment.unavailable")
		s.renderCheck(w, r, v, http.StatusServiceUnavailable)
		return
	}
	if p.Status.Paid() { // paid before, e.g. in another tab
		s.afterPayment(w, r, x, p)
		return
	}
	http.Redirect(w, r, p.RedirectURL, http.StatusSeeOther)
}

// submitter is who sends a form.
type submitter struct {
	Sub  string `json:"s"`
	Name string `json:"n"`
	Lang string `json:"l"`
	// Rep is the representation the person acts under for a represented
	// person ("" otherwise): the sending goes into that person's timeline.
	Rep string `json:"r,omitempty"`
}

// startPayment returns the draft's live payment, or registers a new one at
// the provider. Concurrent requests (a double click) get the same payment.
func (s *service) startPayment(ctx context.Context, x *Draft, d *form.Definition, who submitter) (*Payment, error) {
	for range 3 {
		now := s.now()
		p, created, err := s.db.newPayment(ctx, &Payment{
			ID: newID()[:24], DraftID: x.ID, Amount: d.Fee.Amount, Status: payment.Pending,
			Expires: now.Add(time.Minute), Created: now, Updated: now,
		}, who)
		if err != nil {
			return nil, err
		}
		if created {
			return s.initPayment(ctx, x, d, p, who)
		}
		// A live payment exists: wait for a concurrent request's Init, then
		// ask the provider where it stands.
		for i := 0; p.RedirectURL == "" && p.Status == payment.Pending && now.Before(p.Expires) && i < 50; i++ {
			time.Sleep(100 * time.Millisecond)
			if p, err = s.db.paymentByID(ctx, p.ID); err != nil {
				return nil, err
			}
		}
		if err := s.refresh(ctx, p); err != nil {
			return nil, err
		}
		switch {
		case p.Status.Paid():
			return p, nil
		case p.Status == payment.Pending && p.RedirectURL != "" && now.Before(p.Expires):
			return p, nil
		case p.Status == payment.Pending:
			// Its page expired or its Init never finished: nothing can be
			// paid there any more, so end it and start afresh.
			if _, _, err := s.db.movePayment(ctx, p.ID, payment.Event{Status: payment.Canceled}, now); err != nil {
				return nil, err
			}
		}
	}
	return nil, errors.New("no payment could be started")
}

// initPayment registers the new payment p at the provider.
func (s *service) initPayment(ctx context.Context, x *Draft, d *form.Definition, p *Payment, who submitter) (*Payment, error) {
	ret := s.base + "/drafts/" + x.ID + "/payments/" + p.ID + "/return?result="
	sess, err := s.cfg.Payments.Init(ctx, payment.InitRequest{
		Ref: p.ID, Amount: p.Amount, Currency: "CHF", Methods: d.Fee.PaymentMethods(), Lang: who.Lang,
		SuccessURL: ret + "success", CancelURL: ret + "cancel", ErrorURL: ret + "error",
		WebhookURL: s.base + webhookPath, IdempotencyKey: p.ID,
	})
	if err != nil {
		// Nothing can be paid without the page; the next attempt starts a
		// new payment.
		_, _, _ = s.db.movePayment(ctx, p.ID, payment.Event{Status: payment.Failed}, s.now())
		return nil, err
	}
	if err := s.db.setPaymentSession(ctx, p.ID, sess.PSPID, sess.RedirectURL, sess.ExpiresAt, s.now()); err != nil {
		return nil, err
	}
	p.PSPID, p.RedirectURL, p.Expires = sess.PSPID, sess.RedirectURL, sess.ExpiresAt
	return p, nil
}

// refresh asks the provider for the state of p and applies it.
func (s *service) refresh(ctx context.Context, p *Payment) error {
	if p.PSPID == "" || p.Status.Final() {
		return nil
	}
	e, err := s.cfg.Payments.Status(ctx, p.PSPID)
	if err != nil {
		return err
	}
	e.Ref = p.ID
	np, _, err := s.db.movePayment(ctx, p.ID, e, s.now())
	if err != nil {
		return err
	}
	*p = *np
	return nil
}

// pendingPage is the view model of "Zahlung wird geprüft".
type pendingPage struct {
	page.Layout
	CheckURL string
}

// paymentReturn is where the payment page sends the browser back. The
// return itself proves nothing: the payment counts only once the signed
// webhook or a status query says it is paid.
func (s *service) paymentReturn(w http.ResponseWriter, r *http.Request) {
	x, err := s.db.draft(r.Context(), from(r).owner, r.PathValue("draft"))
	if err != nil {
		s.notFound(w, r, err)
		return
	}
	p, err := s.db.paymentByID(r.Context(), r.PathValue("payment"))
	if err != nil || p.DraftID != x.ID {
		s.notFound(w, r, fmt.Errorf("payment %s of draft %s: %v", r.PathValue("payment"), x.ID, err))
		return
	}
	if x.State == DraftSent {
		if sub, err := s.db.submissionOfDraft(r.Context(), x.ID); err == nil {
			http.Redirect(w, r, "/submissions/"+sub.ID, http.StatusSeeOther)
			return
		}
	}
	if !p.Status.Paid() && !p.Status.Final() {
		if err := s.refresh(r.Context(), p); err != nil {
			s.log.WarnContext(r.Context(), "payment status query failed", "payment", p.ID, "error", err)
		}
	}
	s.afterPayment(w, r, x, p)
}

// afterPayment goes on from the payment's state: sent when paid, back to
// check answers (draft intact) when canceled or failed, "Zahlung wird
// geprüft" while pending.
func (s *service) afterPayment(w http.ResponseWriter, r *http.Request, x *Draft, p *Payment) {
	switch {
	case p.Status.Paid():
		sub, err := s.submitPaid(r.Context(), p)
		if err != nil {
			s.fail(w, r, http.StatusInternalServerError, "forms.error.failed", err)
			return
		}
		http.Redirect(w, r, "/submissions/"+sub.ID, http.StatusSeeOther)
	case p.Status == payment.Canceled:
		http.Redirect(w, r, "/drafts/"+x.ID+"/check?payment=canceled", http.StatusSeeOther)
	case p.Status.Final():
		http.Redirect(w, r, "/drafts/"+x.ID+"/check?payment=failed", http.StatusSeeOther)
	default:
		l := s.layout(r, "forms.payment.pending_title")
		s.pages.Render(w, r, http.StatusAccepted, "forms/pending", pendingPage{Layout: l, CheckURL: r.URL.RequestURI()})
	}
}

// webhook receives the provider's signed notification: 403 on a bad
// signature (checked in constant time over the raw body), else the payment
// moves (monotonically; duplicates and stale events change nothing), and a
// paid payment sends the form even if the browser never comes back.
func (s *service) webhook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	e, err := s.cfg.Payments.VerifyWebhook(r.Header, body)
	if errors.Is(err, payment.ErrBadSignature) {
		s.log.WarnContext(r.Context(), "payment webhook with a bad signature", "remote", r.RemoteAddr)
		http.Error(w, "bad signature", http.StatusForbidden)
		return
	}
	if err != nil {
		http.Error(w, "bad notification", http.StatusBadRequest)
		return
	}
	p, err := s.db.paymentByID(r.Context(), e.Ref)
	if errors.Is(err, sqldb.ErrNotFound) {
		s.log.WarnContext(r.Context(), "payment webhook for an unknown reference", "ref", e.Ref)
		w.WriteHeader(http.StatusOK) // not ours to retry
		return
	}
	if err != nil {
		http.Error(w, "try again", http.StatusInternalServerError)
		return
	}
	if p.PSPID == "" { // the webhook came before Init's answer was stored
		e.PSPID = ""
	}
	p, _, err = s.db.movePayment(r.Context(), p.ID, e, s.now())
	if err != nil {
		s.log.ErrorContext(r.Context(), "payment webhook", "ref", e.Ref, "error", err)
		http.Error(w, "try again", http.StatusInternalServerError)
		return
	}
	if p.Status.Paid() {
		if _, err := s.submitPaid(r.Context(), p); err != nil {
			s.log.ErrorContext(r.Context(), "send after payment", "ref", e.Ref, "error", err)
			http.Error(w, "try again", http.StatusInternalServerError)
			return
		}
	}
	w.WriteHeader(http.StatusOK)
}

// submitPaid sends the draft of a paid payment as the person who started
// the payment.
func (s *service) submitPaid(ctx context.Context, p *Payment) (*Submission, error) {
	who, err := s.db.paymentSubmitter(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	sub, _, err := s.submit(ctx, p.DraftID, who, p.ID)
	return sub, err
}

// submit sends a draft exactly once (see store.submit): its visible answers
// become the submission and the case job is queued.
func (s *service) submit(ctx context.Context, draftID string, who submitter, paymentID string) (*Submission, bool, error) {
	return s.db.submit(ctx, draftID, func(x *Draft) (*Submission, error) {
		d, ok := s.cat.Get(x.FormID, x.Version)
		if !ok {
			return nil, fmt.Errorf("form %s@%d is gone", x.FormID, x.Version)
		}
		return &Submission{
			ID: newUUID(), DraftID: x.ID, Reference: newReference(), Owner: x.Owner,
			SubmittedBy: who.Sub, SubmittedByName: who.Name, Representation: who.Rep, FormID: x.FormID, Version: x.Version,
			Answers: visibleAnswers(d, x.Answers), Lang: who.Lang, PaymentID: paymentID, Created: s.now(),
		}, nil
	})
}

// visibleAnswers keeps the answers of the visible fields of visible pages.
func visibleAnswers(d *form.Definition, a form.Answers) form.Answers {
	out := form.Answers{}
	for _, p := range d.VisiblePages(a) {
		for _, f := range p.Fields {
			if !f.Visible(a) {
				continue
			}
			for _, k := range f.Keys() {
				if v, ok := a[k]; ok {
					out[k] = v
				}
			}
		}
	}
	return out
}
