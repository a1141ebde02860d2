package form_test

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/kanton/kundencenter/services/forms/definitions"
	"github.com/kanton/kundencenter/services/forms/form"
)

func TestShippedDefinitions(t *testing.T) {
	c, err := form.Load(definitions.FS)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(c.Forms()); n < 6 {
		t.Fatalf("%d forms, want at least 6", n)
	}
	d, ok := c.Latest("betreibungsregisterauszug")
	if !ok || d.Level != "substantial" || d.Fee == nil {
		t.Fatalf("betreibungsregisterauszug: %+v", d)
	}
	if !d.Matches("betreibung AUSZUG", "de") || !d.Matches("poursuites", "fr") || d.Matches("hund", "de") {
		t.Error("search does not match as expected")
	}
	if _, ok := c.Get("umzug-melden", 1); !ok {
		t.Error("umzug-melden@1 missing")
	}
}

// valid is a minimal valid definition; the broken ones replace a line.
const valid = `id: test
version: 1
category: c
title: {de: T, fr: T, it: T, en: T}
summary: {de: S, fr: S, it: S, en: S}
minutes: 1
level: low
audience: [person]
creates: {case: test}
pages:
  - id: p1
    section: {de: S, fr: S, it: S, en: S}
    title: {de: P, fr: P, it: P, en: P}
    fields:
      - id: wahl
        type: choice
        label: {de: W, fr: W, it: W, en: W}
        options:
          - {value: a, label: {de: A, fr: A, it: A, en: A}}
          - {value: b, label: {de: B, fr: B, it: B, en: B}}
  - id: p2
    section: {de: S, fr: S, it: S, en: S}
    title: {de: P, fr: P, it: P, en: P}
    show_if: wahl == "a"
    fields:
      - id: name
        type: text
        label: {de: N, fr: N, it: N, en: N}
declaration: {de: D, fr: D, it: D, en: D}
next_steps: {de: N, fr: N, it: N, en: N}
`

const categories = "- id: c\n  title: {de: C, fr: C, it: C, en: C}\n"

func TestBrokenDefinitions(t *testing.T) {
	tests := []struct {
		name     string
		file     string // default test.v1.yaml
		old, new string // replace old by new in valid
		want     string // in the error
	}{
		{name: "unknown key", old: "minutes: 1", new: "minutes: 1\ncolour: red", want: "test.v1.yaml:7: field colour not found"},
		{name: "yaml syntax", old: "level: low", new: "level: [low", want: "test.v1.yaml:"},
		{name: "wrong type", old: "minutes: 1", new: "minutes: many", want: "test.v1.yaml:6: cannot unmarshal"},
		{name: "file name", file: "test.yaml", want: "file name must be <id>.v<version>.yaml"},
		{name: "version mismatch", file: "test.v2.yaml", want: "do not match the file name"},
		{name: "missing language", old: "title: {de: T, fr: T, it: T, en: T}", new: "title: {de: T, fr: T}", want: "test.v1.yaml:4: title: text lacks it, en"},
		{name: "unknown language", old: "summary: {de: S, fr: S, it: S, en: S}", new: "summary: {de: S, fr: S, it: S, en: S, rm: S}", want: `unknown language "rm"`},
		{name: "unknown category", old: "category: c", new: "category: x", want: `test.v1.yaml:3: category: unknown category "x"`},
		{name: "unknown level", old: "level: low", new: "level: medium", want: `unknown level "medium"`},
		{name: "unknown audience", old: "audience: [person]", new: "audience: [everyone]", want: `audience.0: unknown audience "everyone"`},
		{name: "no audience", old: "audience: [person]", new: "audience: []", want: "say who may use the form"},
		{name: "fee zero", old: "creates:", new: "fee: {amount_rappen: 0, reason: {de: F, fr: F, it: F, en: F}}\ncreates:", want: "fee.amount_rappen: a fee must be more than 0"},
		{name: "payment method", old: "creates:", new: "fee: {amount_rappen: 5, reason: {de: F, fr: F, it: F, en: F}, methods: [BTC]}\ncreates:", want: `unknown payment method "BTC"`},
		{name: "no case", old: "creates: {case: test}", new: "creates: {}", want: "creates.case: name the service"},
		{name: "unknown field type", old: "type: text", new: "type: txt", want: `test.v1.yaml:27: pages.1.fields.0.type: unknown type "txt"`},
		{name: "duplicate field", old: "- id: name", new: "- id: wahl", want: `field id "wahl" is used twice`},
		{name: "duplicate page", old: "- id: p2", new: "- id: p1", want: `page id "p1" is used twice`},
		{name: "bad id", old: "- id: name", new: "- id: Name", want: `"Name" is not an id`},
		{name: "one option", old: "          - {value: b, label: {de: B, fr: B, it: B, en: B}}\n", new: "", want: "needs at least two options"},
		{name: "duplicate option", old: "{value: b,", new: "{value: a,", want: `option value "a" is used twice`},
		{name: "options on text", old: "        type: text\n", new: "        type: text\n        options: [{value: x, label: {de: X, fr: X, it: X, en: X}}]\n", want: "only choice, multichoice and select fields have options"},
		{name: "condition syntax", old: `show_if: wahl == "a"`, new: `show_if: wahl = "a"`, want: `test.v1.yaml:24: pages.1.show_if: condition`},
		{name: "condition unknown field", old: `show_if: wahl == "a"`, new: `show_if: wahll == "a"`, want: `reads "wahll", which is not a field defined before it`},
		{name: "condition reads later field", old: `show_if: wahl == "a"`, new: `show_if: name == "a"`, want: `reads "name"`},
		{name: "unknown prefill", old: "        type: text\n", new: "        type: text\n        prefill: shoe_size\n", want: `unknown prefill source "shoe_size"`},
		{name: "prefill type", old: "        type: text\n", new: "        type: text\n        prefill: address\n", want: `does not fit a field of type text`},
		{name: "bad pattern", old: "        type: text\n", new: "        type: text\n        validate: {pattern: \"[0-9\"}\n", want: "validate.pattern: not a regular expression"},
		{name: "min on text", old: "        type: text\n", new: "        type: text\n        validate: {min: 3}\n", want: "min and max apply to number fields only"},
		{name: "no pages", old: "pages:", new: "pages: []\nold_pages:", want: "field old_pages not found"},
		{name: "page without fields", old: "    fields:\n      - id: name\n        type: text\n        label: {de: N, fr: N, it: N, en: N}\n", new: "    fields: []\n", want: "pages.1.fields: a page needs at least one field"},
		{name: "no declaration", old: "declaration: {de: D, fr: D, it: D, en: D}\n", new: "", want: "declaration: missing text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := valid
			if tt.old != "" {
				if !strings.Contains(src, tt.old) {
					t.Fatalf("%q not in the valid definition", tt.old)
				}
				src = strings.Replace(src, tt.old, tt.new, 1)
			}
			file := tt.file
			if file == "" {
				file = "test.v1.yaml"
			}
			_, err := form.Load(fstest.MapFS{
				form.CategoriesFile: {Data: []byte(categories)},
				file:                {Data: []byte(src)},
			})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load = %v\nwant an error containing %q", err, tt.want)
			}
		})
	}
	if _, err := form.Load(fstest.MapFS{form.CategoriesFile: {Data: []byte(categories)}, "test.v1.yaml": {Data: []byte(valid)}}); err != nil {
		t.Fatalf("the valid definition is refused: %v", err)
	}
}

func TestValidatePage(t *testing.T) {
	c, err := form.Load(definitions.FS)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	d, _ := c.Latest("umzug-melden")
	page, _ := d.Page("neue_adresse")
	tests := []struct {
		name   string
		lang   string
		in     form.Answers
		errs   []string // keys with an error
		msg    string   // part of the first message
		normal map[string]string
	}{
		{name: "empty", lang: "de", in: form.Answers{}, errs: []string{"neue_adresse.street", "neue_adresse.postal_code", "neue_adresse.locality", "umzugsdatum", "personen"}, msg: "Strasse und Hausnummer"},
		{name: "french", lang: "fr", in: form.Answers{}, errs: []string{"neue_adresse.street", "neue_adresse.postal_code", "neue_adresse.locality", "umzugsdatum", "personen"}, msg: "la rue et le numéro"},
		{name: "bad values", lang: "it", in: form.Answers{"neue_adresse.street": {"Via 1"}, "neue_adresse.postal_code": {"12"}, "neue_adresse.locality": {"Bellinzona"}, "umzugsdatum": {"32.13.2026"}, "personen": {"30"}},
			errs: []string{"neue_adresse.postal_code", "umzugsdatum", "personen"}, msg: "numero postale"},
		{name: "ok", lang: "de", in: form.Answers{"neue_adresse.street": {" Hauptgasse 1 "}, "neue_adresse.postal_code": {"4500"}, "neue_adresse.locality": {"Solothurn"}, "umzugsdatum": {"1.4.2027"}, "personen": {"2"}},
			normal: map[string]string{"neue_adresse.street": "Hauptgasse 1", "umzugsdatum": "2027-04-01"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errs := page.Validate(tt.in, form.Answers{"herkunft": {"innerhalb"}}, tt.lang, now)
			var keys []string
			for _, e := range errs {
				keys = append(keys, e.Key)
			}
			if strings.Join(keys, ",") != strings.Join(tt.errs, ",") {
				t.Fatalf("errors on %v, want %v (%v)", keys, tt.errs, errs)
			}
			if tt.msg != "" && !strings.Contains(errs[0].Message, tt.msg) {
				t.Errorf("message %q lacks %q", errs[0].Message, tt.msg)
			}
			for k, v := range tt.normal {
				if out.Get(k) != v {
					t.Errorf("%s = %q, want %q", k, out.Get(k), v)
				}
			}
		})
	}
}

func TestConditions(t *testing.T) {
	c, err := form.Load(definitions.FS)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := c.Latest("umzug-melden")
	ids := func(a form.Answers) string {
		var s []string
		for _, p := range d.VisiblePages(a) {
			s = append(s, p.ID)
		}
		return strings.Join(s, ",")
	}
	if got := ids(form.Answers{"herkunft": {"ausland"}}); got != "herkunft,herkunftsland,neue_adresse,kontakt" {
		t.Errorf("from abroad: %s", got)
	}
	if got := ids(form.Answers{"herkunft": {"innerhalb"}}); got != "herkunft,bisherige_adresse,neue_adresse,kontakt" {
		t.Errorf("within: %s", got)
	}
	f, _, _ := d.Field("heimatschein")
	if f.Visible(form.Answers{"herkunft": {"innerhalb"}}) || !f.Visible(form.Answers{"herkunft": {"anderer_kanton"}}) {
		t.Error("heimatschein condition")
	}
}

// TestVersions: a new version is a new file; drafts keep the old one.
func TestVersions(t *testing.T) {
	v2 := strings.Replace(strings.Replace(valid, "version: 1", "version: 2", 1), "title: {de: T,", "title: {de: T2,", 1)
	c, err := form.Load(fstest.MapFS{
		form.CategoriesFile: {Data: []byte(categories)},
		"test.v1.yaml":      {Data: []byte(valid)},
		"test.v2.yaml":      {Data: []byte(v2)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := c.Latest("test"); d.Version != 2 || d.Title.In("de") != "T2" {
		t.Errorf("latest %s", d.Key())
	}
	if d, ok := c.Get("test", 1); !ok || d.Title.In("fr") != "T" {
		t.Error("version 1 gone")
	}
	if n := len(c.Forms()); n != 1 {
		t.Errorf("catalogue lists %d forms, want the newest version only", n)
	}
}
