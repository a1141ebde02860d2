package web

import (
	"regexp"
	"strings"
	"testing"

	"github.com/kanton/kundencenter/templates"
)

// mydataCases are the account-console pages with sample view models,
// carrying every message key the handlers and idp.UpdateData can set.
func mydataCases() []viewCase {
	allErrors := []templates.FieldError{
		{Field: "given_name", Key: "err.required"}, {Field: "family_name", Key: "err.too_long"},
		{Field: "family_name", Key: "err.invalid_chars"}, {Field: "addr_street", Key: "err.required"},
		{Field: "addr_house_number", Key: "err.house_number_invalid"}, {Field: "addr_postal_code", Key: "err.postcode_ch"},
		{Field: "addr_postal_code", Key: "err.postcode_is_li"}, {Field: "addr_postal_code", Key: "err.postcode_li"},
		{Field: "addr_postal_code", Key: "err.postcode_invalid"}, {Field: "addr_locality", Key: "err.required"},
		{Field: "addr_country", Key: "err.addr_country_invalid"}, {Field: "addr_country_name", Key: "err.country_choose"},
		{Field: "birthdate", Key: "err.date_format"}, {Field: "birthdate", Key: "err.date_year"},
		{Field: "birthdate", Key: "err.date_unreal"}, {Field: "birthdate", Key: "err.birthdate_future"},
		{Field: "birthdate", Key: "err.birthdate_implausible"}, {Field: "locale", Key: "err.locale_invalid"},
	}
	data := func(errs []templates.FieldError, notice string) func() any {
		return func() any {
			p := samplePage("/account/data")
			p.Errors, p.Notice = errs, notice
			v := &mydataView{Page: p, KontoID: "4821-7733-9015", Email: "anna.muster@example.ch", PendingEmail: "anna.neu@example.ch",
				Phone: "+41 79 *** ** 67", Security: true,
				Form: dataForm{GivenName: "Anna", FamilyName: "Muster", Street: "Hauptgasse", HouseNumber: "12a", PostalCode: "450",
					Locality: "Solothurn", Country: "other", CountryName: "Schweiz", BirthDate: "1980-12-31", Locale: "fr"}}
			v.options()
			return v
		}
	}
	return []viewCase{
		{name: "mydata", page: "mydata", view: data(nil, "mydata.notice_saved")},
		{name: "mydata_sent", page: "mydata", view: data(nil, "mydata.notice_email_sent")},
		{name: "mydata_errors", page: "mydata", view: data(allErrors, "")},
		{name: "email_change", page: "email_change", view: func() any {
			return &emailChangeView{Page: samplePage("/account/email"), Email: "anna.muster@example.ch", NeedsPasswd: true}
		}},
		{name: "email_change_errors", page: "email_change", view: func() any {
			p := samplePage("/account/email")
			p.Errors = []templates.FieldError{{Field: "email", Key: "err.email_same"}, {Field: "password", Key: "err.password_wrong"},
				{Key: "err.rate_limited"}}
			return &emailChangeView{Page: p, Email: "anna.muster@example.ch", NewEmail: "anna@", NeedsPasswd: true}
		}},
		{name: "email_change_sent", page: "email_change", view: func() any {
			return &emailChangeView{Page: samplePage("/account/email"), NewEmail: "anna.neu@example.ch", Sent: true}
		}},
		{name: "email_change_confirm", page: "email_change_confirm", view: func() any {
			return &emailConfirmView{Page: samplePage("/account/email/confirm?token=t"), Token: "t"}
		}},
		{name: "email_change_done", page: "email_change_confirm", view: func() any {
			return &emailConfirmView{Page: samplePage("/account/email/confirm"), Done: true}
		}},
		{name: "email_change_failed", page: "email_change_confirm", view: func() any {
			return &emailConfirmView{Page: samplePage("/account/email/confirm"), Failed: true}
		}},
		{name: "delete_account", page: "delete_account", view: func() any {
			return &deleteView{Page: samplePage("/account/delete"), NeedsPasswd: true}
		}},
		{name: "delete_account_errors", page: "delete_account", view: func() any {
			p := samplePage("/account/delete")
			p.Errors = []templates.FieldError{{Field: "confirm", Key: "delete.err_confirm"}, {Field: "password", Key: "err.password_wrong"}}
			return &deleteView{Page: p, NeedsPasswd: true}
		}},
		{name: "delete_account_reauth", page: "delete_account", view: func() any {
			return &deleteView{Page: samplePage("/account/delete"), ReauthURL: "/login?next=%2Faccount%2Fdelete"}
		}},
		{name: "delete_account_done", page: "delete_account_done", view: func() any {
			return &deleteDoneView{Page: samplePage("/account/delete"), RegisterURL: "/register"}
		}},
	}
}

var consoleKeyLike = regexp.MustCompile(`\b(?:mydata|email_change(?:_confirm)?|delete(?:_done)?|err|field|account)\.[a-z_]+\b`)

// TestMyDataViews renders the console pages in every language: no key
// left untranslated, every dynamic key known, labels and error links
// wired to their fields, no inline code.
func TestMyDataViews(t *testing.T) {
	t.Parallel()
	r := newRenderer(t)
	for _, c := range mydataCases() {
		for _, lang := range templates.Langs() {
			t.Run(c.name+"/"+lang, func(t *testing.T) {
				out := render(t, r, c, lang)
				if m := consoleKeyLike.FindAllString(tagRE.ReplaceAllString(out, " "), -1); len(m) > 0 {
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
					for _, want := range []string{`href="#` + e.Field + `"`, `id="` + e.Field + `"`, `id="` + e.Field + `-error"`, `for="` + e.Field + `"`} {
						if !strings.Contains(out, want) {
							t.Errorf("error of %s: page lacks %s", e.Field, want)
						}
					}
				}
			})
		}
	}
}
