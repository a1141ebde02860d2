package definitions_test

import (
	"strings"
	"testing"

	"github.com/kanton/kundencenter/services/forms/definitions"
	"github.com/kanton/kundencenter/services/forms/form"
)

// TestDateFieldsNameTheFormat: a date is typed into one text field the
// Swiss way, so every date field's hint says the format in each language
// (the GOV.UK and eCH-0059 date pattern).
func TestDateFieldsNameTheFormat(t *testing.T) {
	c, err := form.Load(definitions.FS)
	if err != nil {
		t.Fatal(err)
	}
	format := map[string]string{"de": "TT.MM.JJJJ", "fr": "JJ.MM.AAAA", "it": "GG.MM.AAAA", "en": "DD.MM.YYYY"}
	n := 0
	for _, d := range c.Forms() {
		for _, p := range d.Pages {
			for _, f := range p.Fields {
				if f.Type != form.TypeDate {
					continue
				}
				n++
				for lang, want := range format {
					if !strings.Contains(f.Hint[lang], want) {
						t.Errorf("%s: field %s: the %s hint %q does not name the format %s", d.ID, f.ID, lang, f.Hint[lang], want)
					}
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no date field found")
	}
}
