package account

import (
	"regexp"
	"strings"
	"testing"

	"github.com/kanton/kundencenter/idp/web/kit"
	"github.com/kanton/kundencenter/idp/web/kit/viewtest"
	"github.com/kanton/kundencenter/templates"
)

// profileCases are the profile pages with sample view models, carrying
// every message key the handlers and idp.CreateProfile can set.
func profileCases() []viewtest.Case {
	rows := []kit.ProfileRow{
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
			p := viewtest.SamplePage("/account/profiles/new")
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
			p := viewtest.SamplePage("/account/profiles")
			p.Notice, p.Errors = notice, errs
			return &profilesView{Page: p, Profiles: rows}
		}
	}
	return []viewtest.Case{
		{Name: "profiles", Page: "profiles", View: list("profiles.notice_created", nil)},
		{Name: "profiles_saved", Page: "profiles", View: list("profiles.notice_saved", nil)},
		{Name: "profiles_deleted", Page: "profiles", View: list("profiles.notice_deleted", nil)},
		{Name: "profiles_last", Page: "profiles", View: list("", []templates.FieldError{{Key: "err.profile_last"}})},
		{Name: "profile_new", Page: "profile_form", View: form(nil, false, true)},
		{Name: "profile_errors", Page: "profile_form", View: form(allErrors, false, true)},
		{Name: "profile_edit", Page: "profile_form", View: form(nil, false, false)},
		{Name: "profile_main", Page: "profile_form", View: form([]templates.FieldError{{Field: "profile_name", Key: "err.required"},
			{Field: "contact_phone", Key: "err.contact_phone_invalid"}}, true, false)},
	}
}

var profileKeyLike = regexp.MustCompile(`\b(?:profiles?|profile_choice|mydata|err|field)\.[a-z_]+\b`)

// TestProfileViews renders the profile pages in every language: no key
// left untranslated, every dynamic key known, error messages linked to
// their fields, no inline code; the main profile's form has no fields for
// what "Meine Daten" holds.
func TestProfileViews(t *testing.T) {
	t.Parallel()
	viewtest.AllLanguages(t, profileCases(), profileKeyLike, func(t *testing.T, c viewtest.Case, out string) {
		if strings.Contains(out, "<script") {
			t.Error("inline code in the output")
		}
		viewtest.FieldsWired(t, c, out)
		if c.Name == "profile_main" && (strings.Contains(out, `id="family_name"`) || strings.Contains(out, `id="contact_email"`)) {
			t.Error("the main profile's form has fields for data of Meine Daten")
		}
	})
}
