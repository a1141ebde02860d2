package web

import (
	"regexp"
	"strings"
	"testing"

	"github.com/kanton/kundencenter/templates"
)

// profileCases are the profile pages with sample view models, carrying
// every message key the handlers and idp.CreateProfile can set.
func profileCases() []viewCase {
	rows := []profileRow{
		{ID: "pmain", Main: true, Person: "Anna Muster", Address: "Hauptgasse 12, 4500 Solothurn", Email: "anna@example.ch",
			EditURL: "/account/profiles/pmain"},
		{ID: "pbiz", Name: "Geschäftlich", Person: "Anna Muster-Keller", Email: "anna@muster-ag.ch", Phone: "+41621234567",
			EditURL: "/account/profiles/pbiz"},
	}
	allErrors := []templates.FieldError{
		{Field: "profile_name", Key: "err.required"}, {Field: "profile_name", Key: "err.too_long"},
		{Field: "given_name", Key: "err.invalid_chars"}, {Field: "family_name", Key: "err.required"},
		{Field: "addr_street", Key: "err.required"}, {Field: "addr_house_number", Key: "err.house_number_invalid"},
		{Field: "addr_postal_code", Key: "err.postcode_ch"}, {Field: "addr_locality", Key: "err.required"},
		{Field: "addr_country", Key: "err.addr_country_invalid"}, {Field: "addr_country_name", Key: "err.country_choose"},
		{Field: "contact_email", Key: "err.email_invalid"}, {Field: "contact_phone", Key: "err.contact_phone_invalid"},
		{Key: "err.profile_limit"},
	}
	form := func(errs []templates.FieldError, main, isNew bool) func() any {
		return func() any {
			p := samplePage("/account/profiles/new")
			p.Errors = errs
			v := &profileFormView{Page: p, New: isNew, Action: "/account/profiles/pbiz", Main: main, ID: "pbiz", CanDelete: !isNew,
				Person: "Anna Muster", Address: "Hauptgasse 12, 4500 Solothurn", Email: "anna@example.ch",
				Form: profileForm{Name: "Geschäftlich", GivenName: "Anna", FamilyName: "Muster-Keller", Street: "Bahnhofstrasse",
					PostalCode: "500", Locality: "Aarau", Country: "other", CountryName: "Schweiz", Email: "anna@", Phone: "062 12"}}
			v.options()
			return v
		}
	}
	list := func(notice string, errs []templates.FieldError) func() any {
		return func() any {
			p := samplePage("/account/profiles")
			p.Notice, p.Errors = notice, errs
			return &profilesView{Page: p, Profiles: rows}
		}
	}
	return []viewCase{
		{name: "profiles", page: "profiles", view: list("profiles.notice_created", nil)},
		{name: "profiles_saved", page: "profiles", view: list("profiles.notice_saved", nil)},
		{name: "profiles_deleted", page: "profiles", view: list("profiles.notice_deleted", nil)},
		{name: "profiles_last", page: "profiles", view: list("", []templates.FieldError{{Key: "err.profile_last"}})},
		{name: "profile_new", page: "profile_form", view: form(nil, false, true)},
		{name: "profile_errors", page: "profile_form", view: form(allErrors, false, true)},
		{name: "profile_edit", page: "profile_form", view: form(nil, false, false)},
		{name: "profile_main", page: "profile_form", view: form([]templates.FieldError{{Field: "profile_name", Key: "err.required"},
			{Field: "contact_phone", Key: "err.contact_phone_invalid"}}, true, false)},
		{name: "profile_choice", page: "profile_choice", view: func() any {
			return &profileChoiceView{Page: samplePage("/login/profile?authRequestID=ar-1"), AuthRequestID: "ar-1",
				ClientName: "Baugesuche", Profiles: rows, Selected: "pbiz"}
		}},
		{name: "profile_choice_error", page: "profile_choice", view: func() any {
			p := samplePage("/login/profile")
			p.Errors = []templates.FieldError{{Field: "profile", Key: "err.profile_choice"}}
			return &profileChoiceView{Page: p, AuthRequestID: "ar-1", Profiles: rows}
		}},
	}
}

var profileKeyLike = regexp.MustCompile(`\b(?:profiles?|profile_choice|mydata|err|field)\.[a-z_]+\b`)

// TestProfileViews renders the profile pages in every language: no key
// left untranslated, every dynamic key known, error messages linked to
// their fields, no inline code; the main profile's form has no fields for
// what "Meine Daten" holds.
func TestProfileViews(t *testing.T) {
	t.Parallel()
	r := newRenderer(t)
	for _, c := range profileCases() {
		for _, lang := range templates.Langs() {
			t.Run(c.name+"/"+lang, func(t *testing.T) {
				out := render(t, r, c, lang)
				if m := profileKeyLike.FindAllString(tagRE.ReplaceAllString(out, " "), -1); len(m) > 0 {
					t.Errorf("untranslated keys: %q", m)
				}
				for _, key := range dynamicKeys(c.view()) {
					if r.T(lang, key) == key {
						t.Errorf("unknown message key %q", key)
					}
				}
				if strings.Contains(out, "%!") || strings.Contains(out, " style=") || strings.Contains(out, "<script") {
					t.Error("fmt error or inline code in the output")
				}
				for _, e := range c.view().(interface{ Base() *templates.Page }).Base().Errors {
					if e.Field == "" {
						continue
					}
					for _, want := range []string{`href="#` + e.Field + `"`, `id="` + e.Field + `"`, `id="` + e.Field + `-error"`} {
						if !strings.Contains(out, want) {
							t.Errorf("error of %s: page lacks %s", e.Field, want)
						}
					}
					if e.Field != "profile" && !strings.Contains(out, `for="`+e.Field+`"`) {
						t.Errorf("error of %s: no label", e.Field)
					}
				}
				if c.name == "profile_main" && (strings.Contains(out, `id="family_name"`) || strings.Contains(out, `id="contact_email"`)) {
					t.Error("the main profile's form has fields for data of Meine Daten")
				}
				if c.name == "profile_choice" && !strings.Contains(out, `value="pbiz" checked`) {
					t.Error("the remembered profile is not pre-selected")
				}
			})
		}
	}
}
