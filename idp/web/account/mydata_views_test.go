package account

import (
	"regexp"
	"strings"
	"testing"

	"github.com/kanton/kundencenter/idp/web/kit/viewtest"
	"github.com/kanton/kundencenter/templates"
)

// mydataCases are the account-console pages with sample view models,
// carrying every message key the handlers and idp.UpdateData can set.
func mydataCases() []viewtest.Case {
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
			p := viewtest.SamplePage("/account/data")
			p.Errors, p.Notice = errs, notice
			v := &mydataView{Page: p, KontoID: "4821-7733-9015", Email: "anna.muster@example.ch", PendingEmail: "anna.neu@example.ch",
				Phone: "+41 79 *** ** 67", Security: true,
				Form: dataForm{GivenName: "Anna", FamilyName: "Muster", Street: "Hauptgasse", HouseNumber: "12a", PostalCode: "450",
					Locality: "Solothurn", Country: "other", CountryName: "Schweiz", BirthDate: "1980-12-31", Locale: "fr"}}
			v.options()
			return v
		}
	}
	return []viewtest.Case{
		{Name: "mydata", Page: "mydata", View: data(nil, "mydata.notice_saved")},
		{Name: "mydata_sent", Page: "mydata", View: data(nil, "mydata.notice_email_sent")},
		{Name: "mydata_errors", Page: "mydata", View: data(allErrors, "")},
		{Name: "email_change", Page: "email_change", View: func() any {
			return &emailChangeView{Page: viewtest.SamplePage("/account/email"), Email: "anna.muster@example.ch", NeedsPasswd: true}
		}},
		{Name: "email_change_errors", Page: "email_change", View: func() any {
			p := viewtest.SamplePage("/account/email")
			p.Errors = []templates.FieldError{{Field: "email", Key: "err.email_same"}, {Field: "password", Key: "err.password_wrong"},
				{Key: "err.rate_limited"}}
			return &emailChangeView{Page: p, Email: "anna.muster@example.ch", NewEmail: "anna@", NeedsPasswd: true}
		}},
		{Name: "email_change_sent", Page: "email_change", View: func() any {
			return &emailChangeView{Page: viewtest.SamplePage("/account/email"), NewEmail: "anna.neu@example.ch", Sent: true}
		}},
		{Name: "email_change_confirm", Page: "email_change_confirm", View: func() any {
			return &emailConfirmView{Page: viewtest.SamplePage("/account/email/confirm?token=t"), Token: "t"}
		}},
		{Name: "email_change_done", Page: "email_change_confirm", View: func() any {
			return &emailConfirmView{Page: viewtest.SamplePage("/account/email/confirm"), Done: true}
		}},
		{Name: "email_change_failed", Page: "email_change_confirm", View: func() any {
			return &emailConfirmView{Page: viewtest.SamplePage("/account/email/confirm"), Failed: true}
		}},
		{Name: "delete_account", Page: "delete_account", View: func() any {
			return &deleteView{Page: viewtest.SamplePage("/account/delete"), NeedsPasswd: true}
		}},
		{Name: "delete_account_errors", Page: "delete_account", View: func() any {
			p := viewtest.SamplePage("/account/delete")
			p.Errors = []templates.FieldError{{Field: "confirm", Key: "delete.err_confirm"}, {Field: "password", Key: "err.password_wrong"}}
			return &deleteView{Page: p, NeedsPasswd: true}
		}},
		{Name: "delete_account_reauth", Page: "delete_account", View: func() any {
			return &deleteView{Page: viewtest.SamplePage("/account/delete"), ReauthURL: "/login?next=%2Faccount%2Fdelete"}
		}},
		{Name: "delete_account_done", Page: "delete_account_done", View: func() any {
			return &deleteDoneView{Page: viewtest.SamplePage("/account/delete"), RegisterURL: "/register"}
		}},
	}
}

var consoleKeyLike = regexp.MustCompile(`\b(?:mydata|email_change(?:_confirm)?|delete(?:_done)?|err|field|account)\.[a-z_]+\b`)

// TestMyDataViews renders the console pages in every language: no key
// left untranslated, every dynamic key known, labels and error links
// wired to their fields, no inline code.
func TestMyDataViews(t *testing.T) {
	t.Parallel()
	viewtest.AllLanguages(t, mydataCases(), consoleKeyLike, func(t *testing.T, c viewtest.Case, out string) {
		if strings.Contains(out, "<script") {
			t.Error("inline code in the output")
		}
		viewtest.FieldsWired(t, c, out)
	})
}
