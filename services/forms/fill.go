package forms

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/kanton/kundencenter/services/forms/form"
	"github.com/kanton/kundencenter/services/page"
)

// questionPage is the view model of one page of a form.
type questionPage struct {
	page.Layout
	FormTitle string
	Caption   string // the section
	Heading   string
	Hint      string
	Fields    []fieldView
	Errors    []errorView
	BackURL   string
	Action    string
	Multipart bool
	Change    bool
	Expires   string // when the draft will be deleted
}

// errorView is one line of the error summary.
type errorView struct {
	Anchor  string
	Message string
}

// fieldView is one question of a page.
type fieldView struct {
	ID           string // the input's id (and the anchor of its error)
	Name         string
	Type         string
	InputType    string // text, email, tel
	InputMode    string
	Autocomplete string
	Label        string
	Hint         string
	HintID       string
	Optional     bool
	Value        string
	Error        string
	Options      []optionView
	Parts        []fieldView // an address's inputs
	Files        []fileView
	Width        string // CSS class for the input's width
}

type optionView struct {
	ID      string
	Value   string
	Label   string
	Checked bool
}

type fileView struct {
	ID   string
	Name string
	Size string
}

// inputID is the id of the input of an answer key.
func inputID(key string) string { return "f-" + strings.ReplaceAll(key, ".", "-") }

// question shows a page of a draft.
func (s *service) question(w http.ResponseWriter, r *http.Request) {
	x, d, p, ok := s.loadPage(w, r)
	if !ok {
		return
	}
	s.renderQuestion(w, r, x, d, p, x.Answers, nil, http.StatusOK)
}

// loadPage is loadDraft plus the page of the path, which must be visible
// (else the browser goes to the draft's first unanswered page).
func (s *service) loadPage(w http.ResponseWriter, r *http.Request) (*Draft, *form.Definition, *form.Page, bool) {
	x, d, ok := s.loadDraft(w, r)
	if !ok {
		return nil, nil, nil, false
	}
	p, ok := d.Page(r.PathValue("page"))
	if !ok || !p.Visible(x.Answers) {
		http.Redirect(w, r, "/drafts/"+x.ID, http.StatusSeeOther)
		return nil, nil, nil, false
	}
	return x, d, p, true
}

// renderQuestion draws page p with the answers a and the errors errs.
func (s *service) renderQuestion(w http.ResponseWriter, r *http.Request, x *Draft, d *form.Definition, p *form.Page,
	a form.Answers, errs []form.FieldError, status int) {
	l := s.layout(r, "forms.question.title")
	lang := l.Lang
	change := r.URL.Query().Get("change") == "1" || r.FormValue("change") == "1"
	v := questionPage{
		Layout: l, FormTitle: d.Title.In(lang), Caption: p.Section.In(lang), Heading: p.Title.In(lang),
		Hint: p.Hint.In(lang), Action: pageURL(x.ID, p.ID, change), Change: change, Expires: date(x.Expires),
	}
	l.TitleKey = ""
	byKey := map[string]string{}
	for _, e := range errs {
		byKey[e.Key] = e.Message
		v.Errors = append(v.Errors, errorView{Anchor: "#" + inputID(e.Key), Message: e.Message})
	}
	var atts []*Attachment
	if hasFiles(p) {
		v.Multipart = true
		atts, _ = s.db.attachments(r.Context(), x.ID)
	}
	for _, f := range p.Fields {
		// A field whose condition reads an answer of this same page is
		// always shown (the page works without JavaScript); validation asks
		// for it only when the condition holds.
		if !f.Visible(a) && !p.Reads(f) {
			continue
		}
		v.Fields = append(v.Fields, fieldOf(f, a, byKey, atts, lang))
	}
	// Back: the previous visible page, or check answers when changing.
	switch {
	case change:
		v.BackURL = "/drafts/" + x.ID + "/check"
	default:
		v.BackURL = "/forms/" + d.ID
		visible := d.VisiblePages(a)
		if i := slices.Index(visible, p); i > 0 {
			v.BackURL = pageURL(x.ID, visible[i-1].ID, false)
		}
	}
	s.pages.Render(w, r, status, "forms/question", v)
}

// fieldOf builds the view of field f.
func fieldOf(f *form.Field, a form.Answers, errs map[string]string, atts []*Attachment, lang string) fieldView {
	v := fieldView{
		ID: inputID(f.ID), Name: f.ID, Type: f.Type, InputType: "text", Label: f.Label.In(lang), Hint: f.Hint.In(lang),
		Optional: f.Optional, Value: a.Get(f.ID), Error: errs[f.ID], Width: "w-full",
	}
	if v.Hint != "" {
		v.HintID = v.ID + "-hint"
	}
	switch f.Type {
	case form.TypeEmail:
		v.InputType, v.Autocomplete = "email", "email"
	case form.TypePhone:
		v.InputType, v.Autocomplete, v.Width = "tel", "tel", "w-20"
	case form.TypeDate:
		v.InputMode, v.Width = "numeric", "w-10"
		if d, err := time.Parse(time.DateOnly, v.Value); err == nil {
			v.Value = d.Format("02.01.2006")
		}
		if f.Prefill == "birthdate" {
			v.Autocomplete = "bday"
		}
	case form.TypeNumber:
		v.InputMode, v.Width = "decimal", "w-5"
	case form.TypeText:
		v.Autocomplete = map[string]string{"given_name": "given-name", "family_name": "family-name", "name": "name"}[f.Prefill]
	case form.TypeAddress:
		for i, part := range form.AddressParts {
			key := f.Keys()[i]
			v.Parts = append(v.Parts, fieldView{
				ID: inputID(key), Name: key, InputType: "text", Label: partLabel(part, lang), Value: a.Get(key),
				Error: errs[key], Autocomplete: map[string]string{"street": "street-address", "postal_code": "postal-code", "locality": "address-level2"}[part],
				Width: map[string]string{"street": "w-full", "postal_code": "w-5", "locality": "w-20"}[part],
			})
		}
	case form.TypeFile:
		for _, at := range atts {
			if at.Field == f.ID {
				v.Files = append(v.Files, fileView{ID: at.ID, Name: at.Name, Size: size(at.Size)})
			}
		}
	}
	for _, o := range f.Options {
		v.Options = append(v.Options, optionView{ID: v.ID + "-" + o.Value, Value: o.Value, Label: o.Label.In(lang),
			Checked: slices.Contains(a[f.ID], o.Value)})
	}
	return v
}

var partLabels = map[string]form.Text{
	"street":      {"de": "Strasse und Hausnummer", "fr": "Rue et numéro", "it": "Via e numero", "en": "Street and number"},
	"postal_code": {"de": "Postleitzahl", "fr": "Numéro postal", "it": "Numero postale", "en": "Postcode"},
	"locality":    {"de": "Ort", "fr": "Localité", "it": "Località", "en": "Town"},
}

func partLabel(part, lang string) string { return partLabels[part].In(lang) }

// size formats a byte count.
func size(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%d kB", (n+1023)/1024)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
}

// answer saves the answers of a page (every "Weiter" saves the draft) and
// goes on: to the next visible page, back to check answers when changing an
// answer, or to "Meine Entwürfe" with "Speichern und später fortfahren".
// Files are added or removed on the same page.
func (s *service) answer(w http.ResponseWriter, r *http.Request) {
	x, d, p, ok := s.loadPage(w, r)
	if !ok {
		return
	}
	lang := page.Lang(r)
	action := r.PostFormValue("action")
	in := form.Answers{}
	for _, f := range p.Fields {
		for _, k := range f.Keys() {
			if vals, ok := r.PostForm[k]; ok {
				in[k] = vals
			}
		}
	}
	// Files: remove one, or store the uploaded ones.
	var uploadErrs []form.FieldError
	if id, ok := strings.CutPrefix(action, "remove:"); ok {
		if err := s.db.deleteAttachment(r.Context(), x.ID, id); err != nil {
			s.fail(w, r, http.StatusInternalServerError, "forms.error.failed", err)
			return
		}
	}
	for _, f := range p.Fields {
		if f.Type == form.TypeFile {
			if e := s.upload(r, x, f, lang); e != nil {
				uploadErrs = append(uploadErrs, *e)
			}
		}
	}
	all := x.Answers.Clone()
	if hasFiles(p) {
		atts, err := s.db.attachments(r.Context(), x.ID)
		if err != nil {
			s.fail(w, r, http.StatusInternalServerError, "forms.error.failed", err)
			return
		}
		for _, f := range p.Fields {
			if f.Type == form.TypeFile {
				var ids []string
				for _, a := range atts {
					if a.Field == f.ID {
						ids = append(ids, a.ID)
					}
				}
				all[f.ID] = ids
			}
		}
	}
	out, errs := p.Validate(in, all, lang, s.now())
	// Keep this page's answers (valid or not) in the draft: nothing typed is
	// lost, and conditions see the new answers.
	for _, f := range p.Fields {
		for _, k := range f.Keys() {
			delete(all, k)
		}
	}
	for k, v := range out {
		all[k] = v
	}
	x.Answers = all
	now := s.now()
	if err := s.db.saveAnswers(r.Context(), x, now, now.Add(s.cfg.DraftRetention)); err != nil {
		if errors.Is(err, errAlreadySent) {
			s.alreadySent(w, r, x)
			return
		}
		s.fail(w, r, http.StatusInternalServerError, "forms.error.failed", err)
		return
	}
	switch {
	case action == "save":
		http.Redirect(w, r, "/drafts?saved=1", http.StatusSeeOther)
		return
	case action == "upload" || strings.HasPrefix(action, "remove:"):
		s.renderQuestion(w, r, x, d, p, all, uploadErrs, http.StatusOK)
		return
	case len(errs) > 0 || len(uploadErrs) > 0:
		s.renderQuestion(w, r, x, d, p, all, append(uploadErrs, errs...), http.StatusUnprocessableEntity)
		return
	}
	change := r.URL.Query().Get("change") == "1"
	next := s.nextPage(d, p, all, change)
	if next == nil {
		http.Redirect(w, r, "/drafts/"+x.ID+"/check", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, pageURL(x.ID, next.ID, change), http.StatusSeeOther)
}

// nextPage returns the page after p: the next visible one, or when changing
// an answer the first visible page that is still incomplete (a follow-up
// question a changed answer asks); nil means check answers.
func (s *service) nextPage(d *form.Definition, p *form.Page, a form.Answers, change bool) *form.Page {
	if change {
		return firstUnanswered(d, a, s.now())
	}
	visible := d.VisiblePages(a)
	if i := slices.Index(visible, p); i >= 0 && i+1 < len(visible) {
		return visible[i+1]
	}
	return nil
}

// hasFiles reports whether page p asks for files.
func hasFiles(p *form.Page) bool {
	return slices.ContainsFunc(p.Fields, func(f *form.Field) bool { return f.Type == form.TypeFile })
}

// upload stores the file sent for field f, if any; the error is shown at
// the field.
func (s *service) upload(r *http.Request, x *Draft, f *form.Field, lang string) *form.FieldError {
	if r.MultipartForm == nil {
		return nil
	}
	files := r.MultipartForm.File[f.ID]
	if len(files) == 0 || files[0].Size == 0 && files[0].Filename == "" {
		return nil
	}
	fh := files[0]
	fail := func(key string, err error) *form.FieldError {
		s.log.InfoContext(r.Context(), "upload refused", "draft", x.ID, "field", f.ID, "reason", key, "error", err)
		return &form.FieldError{Key: f.ID, Message: s.pages.Message(lang, "forms.upload."+key, f.Label.In(lang))}
	}
	if fh.Size > MaxFileBytes {
		return fail("too_large", fmt.Errorf("%d bytes", fh.Size))
	}
	file, err := fh.Open()
	if err != nil {
		return fail("failed", err)
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, MaxFileBytes+1))
	if err != nil {
		return fail("failed", err)
	}
	if len(data) == 0 {
		return fail("empty", nil)
	}
	if len(data) > MaxFileBytes {
		return fail("too_large", fmt.Errorf("%d bytes", len(data)))
	}
	ct, ok := page.SniffUpload(data)
	if !ok {
		return fail("type", fmt.Errorf("content type %s", http.DetectContentType(data)))
	}
	name := page.FileName(fh.Filename)
	if s.cfg.Scanner != nil {
		if err := s.cfg.Scanner.Scan(r.Context(), name, ct, data); err != nil {
			return fail("scan", err)
		}
	}
	a := &Attachment{ID: newID(), DraftID: x.ID, Field: f.ID, Name: name, ContentType: ct, Size: int64(len(data)),
		Data: data, Created: s.now()}
	if err := s.db.addAttachment(r.Context(), a, MaxDraftFileBytes); errors.Is(err, errTooLarge) {
		return fail("total", err)
	} else if err != nil {
		return fail("failed", err)
	}
	return nil
}
