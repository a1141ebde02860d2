package account

import (
	"testing"
	"time"

	"github.com/kanton/kundencenter/idp/web/kit/viewtest"
	"github.com/kanton/kundencenter/templates"
)

// viewCases are the area's pages with sample view models.
func viewCases() []viewtest.Case {
	return []viewtest.Case{
		{Name: "account", Page: "account", View: func() any {
			p := viewtest.SamplePage("/account")
			p.User = "Anna Muster"
			p.Notice = "reset_done.changed"
			return &accountView{
				Page: p, Name: "Anna Muster", Email: "anna.muster@example.ch", KontoID: "4821-7733-9015",
				Services: []serviceLink{{Name: "Formulare", URL: "https://forms.example.ch/"}, {Name: "Meine Vorgänge", URL: "https://status.example.ch/"}},
			}
		}},
		{Name: "account_no_services", Page: "account", View: func() any {
			p := viewtest.SamplePage("/account")
			p.User = "Anna Muster"
			return &accountView{Page: p, Name: "Anna Muster", Email: "anna.muster@example.ch", KontoID: "4821-7733-9015"}
		}},
		{Name: "security", Page: "security", View: func() any {
			p := viewtest.SamplePage("/security")
			p.User = "Anna Muster"
			p.Notice = "security.notice_phone_added"
			created := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
			return &securityView{Page: p, Phone: "+41 79 *** ** 67", HasPhone: true, Required: true, CanRequire: true,
				Passkeys:        []passkeyRow{{ID: "cred-1", Name: "Laptop", Created: created, LastUsed: created.AddDate(0, 0, 3)}},
				PasskeyCeremony: "cer-2", PasskeyOptions: `{"challenge":"def"}`, RecoveryLeft: 7, Fresh: true, ReauthURL: "/login?next=%2Fsecurity"}
		}},
		{Name: "security_enrol", Page: "security", View: func() any {
			p := viewtest.SamplePage("/security?enrol=1&authRequestID=ar-1")
			p.User = "Anna Muster"
			p.Errors = []templates.FieldError{{Field: "phone", Key: "err.phone_country"}}
			return &securityView{Page: p, PhoneInput: "+44 7700 900123", Fresh: true, Enrol: true, AuthRequestID: "ar-1",
				ContinueURL: "/login/continue?authRequestID=ar-1", ContinueName: "Steuern", ReauthURL: "/login?next=%2Fsecurity"}
		}},
		{Name: "security_stale", Page: "security", View: func() any {
			p := viewtest.SamplePage("/security")
			p.User = "Anna Muster"
			return &securityView{Page: p, Phone: "+41 79 *** ** 67", HasPhone: true, CanRequire: true, RecoveryLeft: 10, ReauthURL: "/login?next=%2Fsecurity"}
		}},
		{Name: "security_history", Page: "security_history", View: func() any {
			p := viewtest.SamplePage("/security/history")
			p.User = "Anna Muster"
			return &securityHistoryView{Page: p, Events: []historyItem{
				{At: "03.12.2026 19:40", What: "Anmeldung", Outcome: "erfolgreich", Network: "198.51.100.0/24"},
				{At: "03.12.2026 19:38", What: "Anmeldung mit falschem Passwort", Outcome: "fehlgeschlagen", Network: "2001:db8:aa::/48", Bad: true},
			}}
		}},
		{Name: "security_phone", Page: "security_phone", View: func() any {
			return &phoneCodeView{Page: viewtest.SamplePage("/security/phone"), Challenge: "ch-1", MaskedPhone: "+41 79 *** ** 67"}
		}},
		{Name: "security_phone_expired", Page: "security_phone", View: func() any {
			p := viewtest.SamplePage("/security/phone/confirm")
			p.Errors = []templates.FieldError{{Key: "err.code_locked"}}
			return &phoneCodeView{Page: p, Expired: true, AuthRequestID: "ar-1"}
		}},
		{Name: "recovery_codes", Page: "recovery_codes", View: func() any {
			return &recoveryCodesView{Page: viewtest.SamplePage("/security/recovery"), BackURL: "/security",
				Codes: []string{"ABCD-EFGH-JKMN-PQRS-TVWX", "0123-4567-89AB-CDEF-GHJK"}}
		}},
	}
}

// TestViews renders every page in German against testdata/NAME.golden
// (go test ./idp/web/account/ -update rewrites the files) and in every
// language: no message key left untranslated, the dynamic keys known, the
// CSP's rules kept.
func TestViews(t *testing.T) {
	t.Parallel()
	viewtest.Suite(t, viewCases())
}
