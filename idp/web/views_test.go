package web

import (
	"bytes"
	"flag"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kanton/kundencenter/templates"
)

// updateGolden rewrites testdata/*.golden: go test ./idp/web/ -update
var updateGolden = flag.Bool("update", false, "update golden files")

// viewCase is one page rendered with a sample view model.
type viewCase struct {
	name string
	page string
	view func() any // a fresh view model per call (Render sets its Lang)
}

// samplePage is the Page sample views share: a CSRF token and the
// language switcher of the given path.
func samplePage(path string) templates.Page {
	u, err := url.Parse(path)
	if err != nil {
		panic(err)
	}
	return templates.Page{CSRFToken: "csrf-token-123", LangLinks: templates.LangLinks(u, "de")}
}

func viewCases() []viewCase {
	return []viewCase{
		{name: "login", page: "login", view: func() any {
			return &loginView{
				Page: samplePage("/login?authRequestID=ar-1"), Action: "/login", ClientName: "Formulare",
				AuthRequestID: "ar-1", RegisterURL: "/register?authRequestID=ar-1", ResetURL: "/reset",
				Upstreams: []upstreamLink{{Name: "SwissID", URL: "/upstream/swissid?authRequestID=ar-1"}},
			}
		}},
		{name: "login_errors", page: "login", view: func() any {
			p := samplePage("/login?authRequestID=ar-1")
			p.Errors = []templates.FieldError{{Key: "err.login_failed"}}
			return &loginView{Page: p, Action: "/login", Email: "anna.muster@example.ch", AuthRequestID: "ar-1", RegisterURL: "/register", ResetURL: "/reset"}
		}},
		{name: "login_field_errors", page: "login", view: func() any {
			p := samplePage("/login")
			p.Errors = []templates.FieldError{{Field: "email", Key: "err.email_invalid"}, {Field: "password", Key: "err.required"}}
			return &loginView{Page: p, Action: "/login", Email: "anna<at>example", RegisterURL: "/register", ResetURL: "/reset"}
		}},
		{name: "register", page: "register", view: func() any {
			return &registerView{Page: samplePage("/register"), Action: "/register", LoginURL: "/login"}
		}},
		{name: "register_errors", page: "register", view: func() any {
			p := samplePage("/register?authRequestID=ar-1")
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
		{name: "register_done", page: "register_done", view: func() any {
			return &registerDoneView{Page: samplePage("/register"), Email: "anna.muster@example.ch", RegisterURL: "/register"}
		}},
		{name: "activate", page: "activate", view: func() any {
			return &activateView{Page: samplePage("/activate?token=t"), Action: "/activate", Token: "t", AuthRequestID: "ar-1"}
		}},
		{name: "activate_done", page: "activate_done", view: func() any {
			return &activateDoneView{Page: samplePage("/activate?token=t"), KontoID: "4821-7733-9015", LoginURL: "/login"}
		}},
		{name: "activate_done_failed", page: "activate_done", view: func() any {
			return &activateDoneView{Page: samplePage("/activate?token=t"), Failed: true, LoginURL: "/login", RegisterURL: "/register"}
		}},
		{name: "reset_request", page: "reset_request", view: func() any {
			return &resetRequestView{Page: samplePage("/reset"), Action: "/reset", LoginURL: "/login"}
		}},
		{name: "reset_request_rate_limited", page: "reset_request", view: func() any {
			p := samplePage("/reset")
			p.Errors = []templates.FieldError{{Key: "err.rate_limited"}}
			return &resetRequestView{Page: p, Action: "/reset", Email: "anna.muster@example.ch", LoginURL: "/login"}
		}},
		{name: "reset_request_done", page: "reset_request_done", view: func() any {
			return &resetRequestDoneView{Page: samplePage("/reset"), Email: "anna.muster@example.ch", LoginURL: "/login"}
		}},
		{name: "reset", page: "reset", view: func() any {
			return &resetView{Page: samplePage("/reset/new?token=tok-1"), Action: "/reset/new", Token: "tok-1"}
		}},
		{name: "reset_errors", page: "reset", view: func() any {
			p := samplePage("/reset/new?token=tok-1")
			p.Errors = []templates.FieldError{{Field: "password", Key: "err.pw_common"}, {Field: "password_repeat", Key: "err.pw_mismatch"}}
			return &resetView{Page: p, Action: "/reset/new", Token: "tok-1"}
		}},
		{name: "reset_done", page: "reset_done", view: func() any {
			return &resetDoneView{Page: samplePage("/reset/new"), LoginURL: "/login"}
		}},
		{name: "logout_confirm", page: "logout_confirm", view: func() any {
			p := samplePage("/logout?id=lo-1")
			p.User = "Anna Muster"
			return &logoutConfirmView{Page: p, Action: "/logout", LogoutID: "lo-1", CancelURL: "/account"}
		}},
		{name: "logged_out", page: "logged_out", view: func() any {
			return &loggedOutView{Page: samplePage("/logged-out"), ReturnURL: "https://forms.example.ch/", ReturnName: "Formulare", LoginURL: "/login"}
		}},
		{name: "account", page: "account", view: func() any {
			p := samplePage("/account")
			p.User = "Anna Muster"
			p.Notice = "reset_done.changed"
			return &accountView{
				Page: p, Name: "Anna Muster", Email: "anna.muster@example.ch", KontoID: "4821-7733-9015",
				Services: []serviceLink{{Name: "Formulare", URL: "https://forms.example.ch/"}, {Name: "Meine Vorgänge", URL: "https://status.example.ch/"}},
			}
		}},
		{name: "account_no_services", page: "account", view: func() any {
			p := samplePage("/account")
			p.User = "Anna Muster"
			return &accountView{Page: p, Name: "Anna Muster", Email: "anna.muster@example.ch", KontoID: "4821-7733-9015"}
		}},
		{name: "error", page: "error", view: func() any {
			p := samplePage("/activate")
			p.RequestID = "req-7f3a"
			return &errorView{Page: p, MessageKey: "err.link_invalid", BackURL: "/login"}
		}},
		{name: "error_default", page: "error", view: func() any {
			return &errorView{Page: templates.Page{}}
		}},
		{name: "login_mfa", page: "login_mfa", view: func() any {
			return &loginMFAView{Page: samplePage("/login/mfa"), AuthRequestID: "ar-1", ClientName: "Steuern", SMS: true,
				MaskedPhone: "+41 79 *** ** 67", Passkey: true, PasskeyCeremony: "cer-1", PasskeyOptions: `{"challenge":"abc"}`, Recovery: true}
		}},
		{name: "login_mfa_code", page: "login_mfa", view: func() any {
			p := samplePage("/login/mfa/sms/verify")
			p.Errors = []templates.FieldError{{Field: "code", Key: "err.code_wrong", Args: []any{3}}}
			return &loginMFAView{Page: p, SMS: true, MaskedPhone: "+41 79 *** ** 67", CodeSent: true}
		}},
		{name: "login_mfa_high", page: "login_mfa", view: func() any {
			return &loginMFAView{Page: samplePage("/login/mfa"), AuthRequestID: "ar-1", ClientName: "Steuern", HighNeeded: true,
				Passkey: true, PasskeyCeremony: "cer-1", PasskeyOptions: `{"challenge":"abc"}`}
		}},
		{name: "mfa_unmet", page: "mfa_unmet", view: func() any {
			return &mfaUnmetView{Page: samplePage("/login"), AuthRequestID: "ar-1", CancelAction: "/login/mfa/cancel", SecurityURL: "/security"}
		}},
		{name: "security", page: "security", view: func() any {
			p := samplePage("/security")
			p.User = "Anna Muster"
			p.Notice = "security.notice_phone_added"
			created := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
			return &securityView{Page: p, Phone: "+41 79 *** ** 67", HasPhone: true, Required: true, CanRequire: true,
				Passkeys:        []passkeyRow{{ID: "cred-1", Name: "Laptop", Created: created, LastUsed: created.AddDate(0, 0, 3)}},
				PasskeyCeremony: "cer-2", PasskeyOptions: `{"challenge":"def"}`, RecoveryLeft: 7, Fresh: true, ReauthURL: "/login?next=%2Fsecurity"}
		}},
		{name: "security_enrol", page: "security", view: func() any {
			p := samplePage("/security?enrol=1&authRequestID=ar-1")
			p.User = "Anna Muster"
			p.Errors = []templates.FieldError{{Field: "phone", Key: "err.phone_country"}}
			return &securityView{Page: p, PhoneInput: "+44 7700 900123", Fresh: true, Enrol: true, AuthRequestID: "ar-1",
				ContinueURL: "/login/continue?authRequestID=ar-1", ContinueName: "Steuern", ReauthURL: "/login?next=%2Fsecurity"}
		}},
		{name: "security_stale", page: "security", view: func() any {
			p := samplePage("/security")
			p.User = "Anna Muster"
			return &securityView{Page: p, Phone: "+41 79 *** ** 67", HasPhone: true, CanRequire: true, RecoveryLeft: 10, ReauthURL: "/login?next=%2Fsecurity"}
		}},
		{name: "security_history", page: "security_history", view: func() any {
			p := samplePage("/security/history")
			p.User = "Anna Muster"
			return &securityHistoryView{Page: p, Events: []historyItem{
				{At: "03.12.2026 19:40", What: "Anmeldung", Outcome: "erfolgreich", Network: "198.51.100.0/24"},
				{At: "03.12.2026 19:38", What: "Anmeldung mit falschem Passwort", Outcome: "fehlgeschlagen", Network: "2001:db8:aa::/48", Bad: true},
			}}
		}},
		{name: "security_phone", page: "security_phone", view: func() any {
			return &phoneCodeView{Page: samplePage("/security/phone"), Challenge: "ch-1", MaskedPhone: "+41 79 *** ** 67"}
		}},
		{name: "security_phone_expired", page: "security_phone", view: func() any {
			p := samplePage("/security/phone/confirm")
			p.Errors = []templates.FieldError{{Key: "err.code_locked"}}
			return &phoneCodeView{Page: p, Expired: true, AuthRequestID: "ar-1"}
		}},
		{name: "recovery_codes", page: "recovery_codes", view: func() any {
			return &recoveryCodesView{Page: samplePage("/security/recovery"), BackURL: "/security",
				Codes: []string{"ABCD-EFGH-JKMN-PQRS-TVWX", "0123-4567-89AB-CDEF-GHJK"}}
		}},
		{name: "login_passkey", page: "login_passkey", view: func() any {
			return &loginPasskeyView{Page: samplePage("/login/passkey/start"), AuthRequestID: "ar-1", Ceremony: "cer-3",
				Options: `{"challenge":"ghi"}`, BackURL: "/login?authRequestID=ar-1"}
		}},
		{name: "login_passkey_failed", page: "login_passkey", view: func() any {
			p := samplePage("/login/passkey")
			p.Errors = []templates.FieldError{{Key: "err.passkey_failed"}}
			return &loginPasskeyView{Page: p, BackURL: "/login"}
		}},
	}
}

var (
	scriptRE    = regexp.MustCompile(`<script[^>]*>[^<]*(?:</script>)?`)
	ownScriptRE = regexp.MustCompile(`^<script src="/static/[a-z]+\.[0-9a-f]+\.js" defer></script>$`)
)

func newRenderer(t *testing.T) *templates.Renderer {
	t.Helper()
	r, err := templates.Parse()
	if err != nil {
		t.Fatalf("parse templates: %v", err)
	}
	return r
}

func render(t *testing.T, r *templates.Renderer, c viewCase, lang string) string {
	t.Helper()
	var buf bytes.Buffer
	if err := r.Render(&buf, c.page, lang, c.view()); err != nil {
		t.Fatalf("render %s in %s: %v", c.name, lang, err)
	}
	return buf.String()
}

// TestViewsGolden renders every page in German and compares it with
// testdata/NAME.golden; go test ./idp/web/ -update rewrites the files.
func TestViewsGolden(t *testing.T) {
	t.Parallel()
	r := newRenderer(t)
	for _, c := range viewCases() {
		t.Run(c.name, func(t *testing.T) {
			got := render(t, r, c, "de")
			path := filepath.Join("testdata", c.name+".golden")
			if *updateGolden {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatalf("write golden file: %v", err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read golden file (run go test ./idp/web/ -update to create it): %v", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from %s (run go test ./idp/web/ -update if the change is intended)\n%s", c.name, path, firstDiff(string(want), got))
			}
		})
	}
}

// firstDiff shows the first differing line of want and got.
func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(wl), len(gl)) {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + strconv.Itoa(i+1) + ":\nwant: " + w + "\ngot:  " + g
		}
	}
	return ""
}

// keyLike matches text that looks like a message key (section.name), the
// trace of a translation that fell back to its key.
var keyLike = regexp.MustCompile(`\b(?:app|lang|layout|errors?|err|field|common|pw|login|register(?:_done)?|activate|reset(?:_request)?(?:_done)?|logout_confirm|logged_out|account)\.[a-z_]+\b`)

// tagRE strips markup so that only text remains (asset URLs such as
// /static/app.HASH.css would otherwise look like keys).
var tagRE = regexp.MustCompile(`<[^>]*>`)

// TestViewsAllLanguages renders every page in every language and checks
// that no message key was left untranslated, that the dynamic keys the
// sample views use exist, and that the CSP's rules hold.
func TestViewsAllLanguages(t *testing.T) {
	t.Parallel()
	r := newRenderer(t)
	for _, c := range viewCases() {
		for _, lang := range templates.Langs() {
			t.Run(c.name+"/"+lang, func(t *testing.T) {
				out := render(t, r, c, lang)
				if !strings.Contains(out, `<html lang="`+lang+`">`) {
					t.Errorf("missing <html lang=%q>", lang)
				}
				text := tagRE.ReplaceAllString(out, " ")
				if m := keyLike.FindAllString(text, -1); len(m) > 0 {
					t.Errorf("untranslated keys in output: %q", m)
				}
				for _, key := range dynamicKeys(c.view()) {
					if r.T(lang, key) == key {
						t.Errorf("view uses unknown message key %q", key)
					}
				}
				for _, bad := range []string{"<style", " style=", "javascript:"} {
					if strings.Contains(out, bad) {
						t.Errorf("output contains %q, which the CSP forbids", bad)
					}
				}
				for _, tag := range scriptRE.FindAllString(out, -1) {
					if !ownScriptRE.MatchString(tag) {
						t.Errorf("output contains %s: only our own script files are allowed (CSP script-src 'self')", tag)
					}
				}
				if strings.Contains(out, "%!") {
					t.Errorf("output contains a fmt error (%%!): a message's verbs do not match its arguments")
				}
			})
		}
	}
}

// dynamicKeys returns the message keys a view model carries (the keys
// written in the templates are checked when they are parsed).
func dynamicKeys(v any) []string {
	p := v.(interface{ Base() *templates.Page }).Base()
	var keys []string
	if p.Title != "" {
		keys = append(keys, p.Title)
	}
	if p.Notice != "" {
		keys = append(keys, p.Notice)
	}
	for _, e := range p.Errors {
		keys = append(keys, e.Key)
	}
	if e, ok := v.(*errorView); ok && e.MessageKey != "" {
		keys = append(keys, e.MessageKey)
	}
	return keys
}

// TestErrorKeys renders the error page with every error key the handlers
// use, in every language.
func TestErrorKeys(t *testing.T) {
	t.Parallel()
	r := newRenderer(t)
	keys := []string{
		"err.required", "err.email_invalid", "err.pw_too_short", "err.pw_no_upper", "err.pw_no_lower",
		"err.pw_no_digit", "err.pw_common", "err.pw_context", "err.pw_too_long", "err.pw_mismatch",
		"err.name_too_long", "err.rate_limited", "err.csrf", "err.login_failed", "err.link_invalid",
		"err.unavailable", "err.internal", "err.not_found", "err.bad_request", "err.forbidden",
		"err.session_expired",
	}
	for _, key := range keys {
		for _, lang := range templates.Langs() {
			t.Run(key+"/"+lang, func(t *testing.T) {
				want := r.T(lang, key)
				if want == key {
					t.Fatalf("no %s text for %q", lang, key)
				}
				out := render(t, r, viewCase{page: "error", view: func() any {
					return &errorView{Page: templates.Page{RequestID: "req-1"}, MessageKey: key}
				}}, lang)
				if !strings.Contains(out, templateEscape(want)) {
					t.Errorf("error page lacks %q", want)
				}
			})
		}
	}
}

// templateEscape escapes text as html/template does in element content.
func templateEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "'", "&#39;", "<", "&lt;", ">", "&gt;", `"`, "&#34;").Replace(s)
}

// TestErrorMarkup checks the accessibility wiring of a form with errors:
// the summary takes the focus and links to the fields, each invalid input
// is marked and described by its message.
func TestErrorMarkup(t *testing.T) {
	t.Parallel()
	r := newRenderer(t)
	var c viewCase
	for _, vc := range viewCases() {
		if vc.name == "register_errors" {
			c = vc
		}
	}
	out := render(t, r, c, "de")
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
