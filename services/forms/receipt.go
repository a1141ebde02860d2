package forms

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"

	"codeberg.org/go-pdf/fpdf"
)

// receipt serves the PDF receipt of a submission: the reference, when it
// was sent, by whom and for whom, the fee paid and every answer (the record
// GOV.UK's confirmation pattern asks for; it is shown only after login,
// never sent by e-mail).
func (s *service) receipt(w http.ResponseWriter, r *http.Request) {
	q := from(r)
	sub, ok := s.loadSubmission(w, r)
	if !ok {
		return
	}
	d, ok := s.cat.Get(sub.FormID, sub.Version)
	if !ok {
		s.notFound(w, r, fmt.Errorf("form %s@%d is gone", sub.FormID, sub.Version))
		return
	}
	lang := q.lang
	m := func(key string, args ...any) string { return s.pages.Message(lang, key, args...) }
	p := fpdf.New("P", "mm", "A4", "")
	p.SetCreationDate(sub.Created)
	p.SetModificationDate(sub.Created)
	p.SetCatalogSort(true)
	p.SetTitle(m("forms.receipt.title")+" "+sub.Reference, true)
	p.SetCreator("Kundencenter", true)
	p.SetLang(lang)
	p.SetMargins(20, 18, 20)
	p.SetAutoPageBreak(true, 18)
	p.AddPage()
	tr := p.UnicodeTranslatorFromDescriptor("")
	p.SetFont("Helvetica", "B", 18)
	p.MultiCell(0, 9, tr(m("forms.receipt.title")), "", "L", false)
	p.SetFont("Helvetica", "", 12)
	p.MultiCell(0, 6, tr(d.Title.In(lang)), "", "L", false)
	p.Ln(4)
	rows := [][2]string{
		{m("forms.confirmation.reference"), sub.Reference},
		{m("forms.receipt.sent"), dateTime(sub.Created)},
		{m("forms.receipt.by"), sub.SubmittedByName},
	}
	if q.sess.For != "" {
		rows = append(rows, [2]string{m("forms.receipt.for"), q.sess.For})
	}
	if d.Fee != nil && sub.PaymentID != "" {
		rows = append(rows, [2]string{m("forms.check.fee"), chf(d.Fee.Amount) + " – " + d.Fee.Reason.In(lang)})
	}
	if sub.CaseReference != "" {
		rows = append(rows, [2]string{m("forms.receipt.case"), sub.CaseReference})
	}
	table(p, tr, rows)
	for _, sec := range s.sections(r.Context(), d, sub.Answers, sub.DraftID, lang, false) {
		p.Ln(4)
		p.SetFont("Helvetica", "B", 12)
		p.MultiCell(0, 7, tr(sec.Title), "", "L", false)
		var rows [][2]string
		for _, row := range sec.Rows {
			rows = append(rows, [2]string{row.Key, strings.Join(row.Value, "\n")})
		}
		table(p, tr, rows)
	}
	p.Ln(6)
	p.SetFont("Helvetica", "", 9)
	p.SetTextColor(90, 90, 90)
	p.MultiCell(0, 4.5, tr(d.NextSteps.In(lang)), "", "L", false)
	var b bytes.Buffer
	if err := p.Output(&b); err != nil {
		s.fail(w, r, http.StatusInternalServerError, "forms.error.failed", err)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `attachment; filename="`+sub.Reference+`.pdf"`)
	_, _ = w.Write(b.Bytes())
}

// table draws rows of key and value, the value wrapped.
func table(p *fpdf.Fpdf, tr func(string) string, rows [][2]string) {
	p.SetDrawColor(200, 200, 200)
	for _, r := range rows {
		y := p.GetY()
		p.SetFont("Helvetica", "", 10)
		p.SetTextColor(90, 90, 90)
		p.MultiCell(60, 6, tr(r[0]), "", "L", false)
		keyEnd := p.GetY()
		p.SetXY(80, y)
		p.SetFont("Helvetica", "", 10)
		p.SetTextColor(0, 0, 0)
		p.MultiCell(0, 6, tr(r[1]), "", "L", false)
		end := max(keyEnd, p.GetY())
		p.Line(20, end, 190, end)
		p.SetXY(20, end+1)
	}
}
