package signin

import (
	"strings"
	"testing"

	"github.com/kanton/kundencenter/idp/web/kit/viewtest"
	"github.com/kanton/kundencenter/templates"
)

// viewCases are the area's pages with sample view models.
func viewCases() []viewtest.Case {
	return []viewtest.Case{
		{Name: "login", Page: "login", View: func() any {
			return &loginView{
				Page: viewtest.SamplePage("/login?authRequestID=ar-1"), Action: "/login", ClientName: "Formulare",
				AuthRequestID: "ar-1", RegisterURL: "/register?authRequestID=ar-1", ResetURL: "/reset",
				Upstreams: []upstreamLink{{Name: "SwissID", URL: "/upstream/swissid?authRequestID=ar-1"}},
			}
		}},
		{Name: "login_errors", Page: "login", View: func() any {
			p := viewtest.SamplePage("/login?authRequestID=ar-1")
			p.Errors = []templates.FieldError{{Key: "err.login_failed"}}
			return &loginView{Page: p, Action: "/login", Email: "anna.muster@example.ch", AuthRequestID: "ar-1", RegisterURL: "/register", ResetURL: "/reset"}
		}},
		{Name: "login_field_errors", Page: "login", View: func() any {
			p := viewtest.SamplePage("/login")
			p.Errors = []templates.FieldError{{Field: "email", Key: "err.email_invalid"}, {Field: "password", Key: "err.required"}}
			return &loginView{Page: p, Action: "/login", Email: "anna<at>example", RegisterURL: "/register", ResetURL: "/reset"}
		}},
		{Name: "register", Page: "register", View: func() any {
			return &registerView{Page: viewtest.SamplePage("/register"), Action: "/register", LoginURL: "/login"}
		}},
		{Name: "register_errors", Page: "register", View: func() any {
			p := viewtest.SamplePage("/register?authRequestID=ar-1")
			p.Errors = []templates.FieldError{
				{Field: "given_name", Key: "err.required"},
				{Field: "family_name", Key: "err.name_too_long"},
				{Field: "email", Key: "err.email_invalid"},
				{Field: "password", Key: "err.pw_too_short"},
				{Field: "password", Key: "err.pw_no_digit"},
				{Field: "password_repeat", Key: "err.pw_mismatch"},
			}
			return &registerView{Page: p, Action: "/register", FamilyName: strings.Repeat("Muster", 3), Email: "anna@", AuthRequestID: "ar-1", LoginURL: "/login"}
		}},
		{Name: "register_done", Page: "register_done", View: func() any {
			return &registerDoneView{Page: viewtest.SamplePage("/register"), Email: "anna.muster@example.ch", RegisterURL: "/register"}
		}},
		{Name: "activate", Page: "activate", View: func() any {
			return &activateView{Page: viewtest.SamplePage("/activate?token=t"), Action: "/activate", Token: "t", AuthRequestID: "ar-1"}
		}},
		{Name: "activate_done", Page: "activate_done", View: func() any {
			return &activateDoneView{Page: viewtest.SamplePage("/activate?token=t"), KontoID: "4821-7733-9015", LoginURL: "/login"}
		}},
		{Name: "activate_done_failed", Page: "activate_done", View: func() any {
			return &activateDoneView{Page: viewtest.SamplePage("/activate?token=t"), Failed: true, LoginURL: "/login", RegisterURL: "/register"}
		}},
		{Name: "reset_request", Page: "reset_request", View: func() any {
			return &resetRequestView{Page: viewtest.SamplePage("/reset"), Action: "/reset", LoginURL: "/login"}
		}},
		{Name: "reset_request_rate_limited", Page: "reset_request", View: func() any {
			p := viewtest.SamplePage("/reset")
			p.Errors = []templates.FieldError{{Key: "err.rate_limited"}}
			return &resetRequestView{Page: p, Action: "/reset", Email: "anna.muster@example.ch", LoginURL: "/login"}
		}},
		{Name: "reset_request_done", Page: "reset_request_done", View: func() any {
			return &resetRequestDoneView{Page: viewtest.SamplePage("/reset"), Email: "anna.muster@example.ch", LoginURL: "/login"}
		}},
		{Name: "reset", Page: "reset", View: func() any {
			return &resetView{Page: viewtest.SamplePage("/reset/new?token=tok-1"), Action: "/reset/new", Token: "tok-1"}
		}},
		{Name: "reset_errors", Page: "reset", View: func() any {
			p := viewtest.SamplePage("/reset/new?token=tok-1")
			p.Errors = []templates.FieldError{{Field: "password", Key: "err.pw_common"}, {Field: "password_repeat", Key: "err.pw_mismatch"}}
			return &resetView{Page: p, Action: "/reset/new", Token: "tok-1"}
		}},
		{Name: "reset_done", Page: "reset_done", View: func() any {
			return &resetDoneView{Page: viewtest.SamplePage("/reset/new"), LoginURL: "/login"}
		}},
		{Name: "logout_confirm", Page: "logout_confirm", View: func() any {
			p := viewtest.SamplePage("/logout?id=lo-1")
			p.User = "Anna Muster"
			return &logoutConfirmView{Page: p, Action: "/logout", LogoutID: "lo-1", CancelURL: "/account"}
		}},
		{Name: "logged_out", Page: "logged_out", View: func() any {
			return &loggedOutView{Page: viewtest.SamplePage("/logged-out"), ReturnURL: "https://forms.example.ch/", ReturnName: "Formulare", LoginURL: "/login"}
		}},
		{Name: "login_mfa", Page: "login_mfa", View: func() any {
			return &loginMFAView{Page: viewtest.SamplePage("/login/mfa"), AuthRequestID: "ar-1", ClientName: "Steuern", SMS: true,
				MaskedPhone: "+41 79 *** ** 67", Passkey: true, PasskeyCeremony: "cer-1", PasskeyOptions: `{"challenge":"abc"}`, Recovery: true}
		}},
		{Name: "login_mfa_code", Page: "login_mfa", View: func() any {
			p := viewtest.SamplePage("/login/mfa/sms/verify")
			p.Errors = []templates.FieldError{{Field: "code", Key: "err.code_wrong", Args: []any{3}}}
			return &loginMFAView{Page: p, SMS: true, MaskedPhone: "+41 79 *** ** 67", CodeSent: true}
		}},
		{Name: "login_mfa_high", Page: "login_mfa", View: func() any {
			return &loginMFAView{Page: viewtest.SamplePage("/login/mfa"), AuthRequestID: "ar-1", ClientName: "Steuern", HighNeeded: true,
				Passkey: true, PasskeyCeremony: "cer-1", PasskeyOptions: `{"challenge":"abc"}`}
		}},
		{Name: "mfa_unmet", Page: "mfa_unmet", View: func() any {
			return &mfaUnmetView{Page: viewtest.SamplePage("/login"), AuthRequestID: "ar-1", CancelAction: "/login/mfa/cancel", SecurityURL: "/security"}
		}},
		{Name: "login_passkey", Page: "login_passkey", View: func() any {
			return &loginPasskeyView{Page: viewtest.SamplePage("/login/passkey/start"), AuthRequestID: "ar-1", Ceremony: "cer-3",
				Options: `{"challenge":"ghi"}`, BackURL: "/login?authRequestID=ar-1"}
		}},
		{Name: "login_passkey_failed", Page: "login_passkey", View: func() any {
			p := viewtest.SamplePage("/login/passkey")
			p.Errors = []templates.FieldError{{Key: "err.passkey_failed"}}
			return &loginPasskeyView{Page: p, BackURL: "/login"}
		}},
	}
}

// TestViews renders every page in German against testdata/NAME.golden
// (go test ./idp/web/signin/ -update rewrites the files) and in every
// language: no message key left untranslated, the dynamic keys known, the
// CSP's rules kept.
func TestViews(t *testing.T) {
	t.Parallel()
	viewtest.Suite(t, viewCases())
}

// TestErrorMarkup checks the accessibility wiring of a form with errors:
// the summary takes the focus and links to the fields, each invalid input
// is marked and described by its message.
func TestErrorMarkup(t *testing.T) {
	t.Parallel()
	r := viewtest.Renderer(t)
	var c viewtest.Case
	for _, vc := range viewCases() {
		if vc.Name == "register_errors" {
			c = vc
		}
	}
	out := viewtest.Render(t, r, c, "de")
	for _, want := range []string{
		`<div class="error-summary" role="alert" aria-labelledby="error-summary-title" tabindex="-1" autofocus>`,
		`<title>Fehler: Konto eröffnen – Kundencenter</title>`,
		`<a href="#given_name">Vorname: Bitte füllen Sie dieses Feld aus.</a>`,
		`<a href="#password">Passwort: Das Passwort muss mindestens 12 Zeichen lang sein.</a>`,
		`id="password" name="password" type="password" autocomplete="new-password" aria-describedby="password-rules password-error" aria-invalid="true"`,
		`<p class="field-error" id="password-error"><span class="visually-hidden">Fehler:</span> Das Passwort muss mindestens 12 Zeichen lang sein. Das Passwort muss mindestens eine Ziffer enthalten.</p>`,
		`id="given_name" name="given_name" type="text" value="" autocomplete="given-name" spellcheck="false" aria-invalid="true" aria-describedby="given_name-error"`,
		`value="MusterMusterMuster"`,
		`<input type="hidden" name="csrf" value="csrf-token-123">`,
		`<input type="hidden" name="authRequestID" value="ar-1">`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("register page with errors lacks\n%s", want)
		}
	}
	for _, unwanted := range []string{`name="password" type="password" value=`, `name="password_repeat" type="password" autocomplete="new-password" value=`} {
		if strings.Contains(out, unwanted) {
			t.Errorf("register page echoes a password: %s", unwanted)
		}
	}
}
