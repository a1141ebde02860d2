package form_test

import (
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/kanton/kundencenter/services/forms/form"
)

// answersForm has one field of every free-text kind on its second page.
var answersForm = strings.Replace(valid, `      - id: name
        type: text
        label: {de: N, fr: N, it: N, en: N}`, `      - id: name
        type: text
        label: {de: N, fr: N, it: N, en: N}
      - id: bemerkung
        type: textarea
        optional: true
        label: {de: B, fr: B, it: B, en: B}
      - id: adresse
        type: address
        label: {de: A, fr: A, it: A, en: A}
      - id: anzahl
        type: number
        label: {de: Z, fr: Z, it: Z, en: Z}
      - id: datum
        type: date
        label: {de: D, fr: D, it: D, en: D}`, 1)

// FuzzValidate checks the validation of a page's answers on arbitrary
// input: no panic; every field without an error carries an answer that is
// valid UTF-8, within its length and free of control and bidi characters
// (line breaks only in a textarea); a refused field has its message.
func FuzzValidate(f *testing.F) {
	d, err := form.Parse("test.v1.yaml", []byte(answersForm), map[string]bool{"c": true})
	if err != nil {
		f.Fatal(err)
	}
	page := d.Pages[1]
	for _, s := range [][6]string{
		{"Anna Muster", "Zeile 1\r\nZeile 2\tTab", "Bahnhofstrasse 1", "8001", "Zürich", "3"},
		{"Anna\x00", "x\u202ey", "Strasse\n2", "0800", "Zürich\u2028", "1'000,5"},
		{"\xff", "\x1b[31m", "", "", "", "NaN"},
		{strings.Repeat("a", 201), strings.Repeat("b", 2001), "a", "9999", "b", "-1e308"},
		{"  ", "\u2066", "\u200f", "１２３４", "\ufeff", "0x10"},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4], s[5], "31.12.1980")
	}
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, name, note, street, zip, town, number, date string) {
		in := form.Answers{"wahl": {"a"}, "name": {name}, "bemerkung": {note}, "adresse.street": {street},
			"adresse.postal_code": {zip}, "adresse.locality": {town}, "anzahl": {number}, "datum": {date}}
		for _, lang := range []string{"de", "fr"} {
			out, errs := page.Validate(in, form.Answers{"wahl": {"a"}}, lang, now)
			refused := map[string]bool{}
			for _, e := range errs {
				if e.Message == "" || strings.Contains(e.Message, "%!") {
					t.Fatalf("field %s: message %q", e.Key, e.Message)
				}
				refused[e.Key] = true
			}
			for key, vals := range out {
				if refused[key] {
					continue
				}
				for _, v := range vals {
					lines := key == "bemerkung"
					if !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool {
						return unicode.IsControl(r) && !(lines && (r == '\n' || r == '\r' || r == '\t')) ||
							unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029'
					}) {
						t.Fatalf("accepted %s = %q", key, v)
					}
					if max := map[bool]int{false: 200, true: 2000}[lines]; utf8.RuneCountInString(v) > max {
						t.Fatalf("accepted %s of %d characters", key, utf8.RuneCountInString(v))
					}
				}
			}
		}
	})
}

// TestValidateRefusesOddInput: numbers like NaN, Inf and -1e308 (a
// 310-character answer, found by FuzzValidate) and names with NUL or a
// bidi override used to be accepted.
func TestValidateRefusesOddInput(t *testing.T) {
	t.Parallel()
	d, err := form.Parse("test.v1.yaml", []byte(answersForm), map[string]bool{"c": true})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	base := form.Answers{"wahl": {"a"}, "name": {"Anna"}, "bemerkung": {"Zeile 1\r\nZeile 2"}, "adresse.street": {"Weg 1"},
		"adresse.postal_code": {"8001"}, "adresse.locality": {"Zürich"}, "anzahl": {"2"}, "datum": {"31.12.1980"}}
	if _, errs := d.Pages[1].Validate(base, form.Answers{"wahl": {"a"}}, "de", now); len(errs) > 0 {
		t.Fatalf("valid answers refused: %+v", errs)
	}
	for key, bad := range map[string][]string{
		"anzahl":           {"NaN", "Inf", "-1e308", "1e15"},
		"name":             {"Anna\x00", "Anna \u202eretsuM", "Anna\nMuster", "\xff"},
		"bemerkung":        {"Hallo\x00", "x\u2066y\u2069"},
		"adresse.locality": {"Zürich\u200f"},
	} {
		for _, v := range bad {
			in := base.Clone()
			in[key] = []string{v}
			_, errs := d.Pages[1].Validate(in, form.Answers{"wahl": {"a"}}, "de", now)
			if len(errs) != 1 || errs[0].Key != key {
				t.Errorf("%s = %q: errors %+v, want one for the field", key, v, errs)
			}
		}
	}
}
