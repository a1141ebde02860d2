package web_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
	"github.com/kanton/kundencenter/mfa"
)

// consoleLogin logs a browser in without an auth request; it lands on the
// account page.
func consoleLogin(t *testing.T, env *idptest.Env, email, password string) *idptest.Browser {
	t.Helper()
	b := env.NewBrowser(t)
	res := b.Submit(t, "/login", "/login", url.Values{"email": {email}, "password": {password}})
	if res.Resp.StatusCode != http.StatusOK || res.URL().Path != "/" {
		t.Fatalf("login %s: status %d at %s", email, res.Resp.StatusCode, res.URL())
	}
	return b
}

func personal(t *testing.T, env *idptest.Env, id string) (idp.Account, idp.Personal) {
	t.Helper()
	a, err := env.Store.GetAccount(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	p, err := env.Service.Personal(a)
	if err != nil {
		t.Fatal(err)
	}
	return a, p
}

func TestMyDataLoginRequired(t *testing.T) {
	t.Parallel()
	env := idptest.Start(t, idptest.Options{})
	b := env.NewBrowser(t)
	for _, path := range []string{"/account/data", "/account/email", "/account/delete"} {
		res := b.Open(t, path)
		if got := res.URL(); got.Path != "/login" || got.Query().Get("next") != path {
			t.Errorf("%s without a session ends at %s, want /login?next=%s", path, got, path)
		}
	}
	// After the login the browser continues to the page it asked for.
	env.CreateAccount(t, "Anna", "Muster", "anna@example.ch", pw)
	res := b.Submit(t, "/login?next=%2Faccount%2Fdata", "/login", url.Values{"email": {"anna@example.ch"},
		"password": {pw}, "next": {"/account/data"}})
	if res.URL().Path != "/account/data" {
		t.Fatalf("after login: %s, want /account/data", res.URL())
	}
}

func TestMyDataEdit(t *testing.T) {
	t.Parallel()
	env := idptest.Start(t, idptest.Options{})
	acct := env.CreateAccount(t, "Anna", "Muster", "anna@example.ch", pw)
	b := consoleLogin(t, env, "anna@example.ch", pw)

	page := b.Open(t, "/account/data")
	wantIn(t, "data page", page.Body, acct.KontoID, "anna@example.ch", `href="/security"`, `href="/account/delete"`,
		`value="Anna"`, `<option value="de" selected>`)

	valid := url.Values{"given_name": {"Anna"}, "family_name": {"Muster-Meier"}, "addr_street": {"Hauptgasse"},
		"addr_house_number": {"12a"}, "addr_postal_code": {"4500"}, "addr_locality": {"Solothurn"}, "addr_country": {"CH"},
		"birthdate": {"1980-12-31"}, "locale": {"fr"}}
	with := func(changes ...string) url.Values {
		f := url.Values{}
		for k, v := range valid {
			f[k] = v
		}
		for i := 0; i < len(changes); i += 2 {
			f.Set(changes[i], changes[i+1])
		}
		return f
	}
	tomorrow := time.Now().AddDate(0, 0, 2).Format("2006-01-02")
	tests := []struct {
		name  string
		form  url.Values
		field string
		msg   string // German message
	}{
		{"no given name", with("given_name", " "), "given_name", "Bitte füllen Sie dieses Feld aus"},
		{"markup in the name", with("family_name", "<b>Muster</b>"), "family_name", "unzulässige Zeichen"},
		{"name too long", with("family_name", strings.Repeat("x", 101)), "family_name", "zu lang"},
		{"street missing", with("addr_street", ""), "addr_street", "Bitte füllen Sie dieses Feld aus"},
		{"Swiss postcode of 3 digits", with("addr_postal_code", "450"), "addr_postal_code", "4 Ziffern"},
		{"Swiss postcode in Liechtenstein", with("addr_postal_code", "9490"), "addr_postal_code", "Liechtenstein"},
		{"Liechtenstein postcode out of range", with("addr_country", "LI", "addr_postal_code", "9500"), "addr_postal_code", "9485 und 9498"},
		{"house number", with("addr_house_number", "zwölf"), "addr_house_number", "Hausnummer"},
		{"other country without a name", with("addr_country", "other", "addr_postal_code", "D-79539"), "addr_country_name", "Bitte füllen Sie dieses Feld aus"},
		{"unknown country", with("addr_country", "XX"), "addr_country", "Land aus der Liste"},
		{"date of birth not a date", with("birthdate", "31.02.1980"), "birthdate", "Dieses Datum gibt es nicht"},
		{"date of birth as words", with("birthdate", "31. Dezember 1980"), "birthdate", "im Format TT.MM.JJJJ"},
		{"date of birth with a short year", with("birthdate", "31.12.80"), "birthdate", "mit vier Ziffern"},
		{"date of birth in the future", with("birthdate", tomorrow), "birthdate", "Zukunft"},
		{"date of birth implausible", with("birthdate", "1850-01-01"), "birthdate", "120 Jahre"},
		{"unknown language", with("locale", "rm"), "locale", "Sprache aus der Liste"},
	}
	before, _ := personal(t, env, acct.ID)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := b.Submit(t, "/account/data?lang=de", "/account/data", tc.form)
			wantStatus(t, "invalid data", res.Resp, res.Body, http.StatusUnprocessableEntity)
			wantIn(t, "error page", res.Body, `href="#`+tc.field+`"`, `id="`+tc.field+`-error"`, tc.msg, `aria-invalid="true"`)
			if after, _ := personal(t, env, acct.ID); after.Sealed == nil || !equalBytes(after.Sealed, before.Sealed) {
				t.Fatal("an invalid form changed the stored data")
			}
		})
	}
	// The messages exist in every language.
	for _, lang := range []string{"fr", "it", "en"} {
		b.Open(t, "/account/data?lang="+lang)
		res := b.Submit(t, "/account/data", "/account/data", with("addr_postal_code", "450", "birthdate", tomorrow))
		if strings.Contains(res.Body, "4 Ziffern") || strings.Contains(res.Body, "err.") {
			t.Errorf("%s: German or untranslated message", lang)
		}
	}

	res := b.Submit(t, "/account/data", "/account/data", valid)
	if res.URL().Path != "/account/data" || res.URL().Query().Get("done") != "saved" {
		t.Fatalf("valid data: ended at %s (status %d)", res.URL(), res.Resp.StatusCode)
	}
	// The preferred language now drives the pages (and the mails).
	if !strings.Contains(res.Body, `<html lang="fr">`) {
		t.Error("the page is not shown in the chosen language")
	}
	a, p := personal(t, env, acct.ID)
	want := idp.Personal{GivenName: "Anna", FamilyName: "Muster-Meier", Email: "anna@example.ch", Street: "Hauptgasse",
		HouseNumber: "12a", PostalCode: "4500", Locality: "Solothurn", Country: "CH", BirthDate: "1980-12-31"}
	if p != want {
		t.Fatalf("stored %+v, want %+v", p, want)
	}
	if a.Locale != "fr" {
		t.Errorf("locale %q, want fr", a.Locale)
	}
	// Swiss date format and another country.
	b.Submit(t, "/account/data", "/account/data", with("birthdate", "1.2.1990", "addr_country", "other",
		"addr_country_name", "Deutschland", "addr_postal_code", "79539", "addr_locality", "Lörrach"))
	if _, p := personal(t, env, acct.ID); p.BirthDate != "1990-02-01" || p.Country != "Deutschland" || p.PostalCode != "79539" {
		t.Errorf("stored %+v", p)
	}
	// The audit log names the fields, never the values.
	events, err := env.Store.ListAudit(t.Context(), acct.ID, 50)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range events {
		if e.Action == "account.data_changed" {
			found = true
			if !strings.HasPrefix(e.Detail, "fields=") || strings.ContainsAny(e.Detail, "0123456789@") ||
				strings.Contains(e.Detail, "Solothurn") || strings.Contains(e.Detail, "Deutschland") {
				t.Errorf("audit detail %q", e.Detail)
			}
		}
	}
	if !found {
		t.Error("no account.data_changed audit entry")
	}
	// The address can be removed again.
	b.Submit(t, "/account/data", "/account/data", url.Values{"given_name": {"Anna"}, "family_name": {"Muster"}, "locale": {"de"}})
	if _, p := personal(t, env, acct.ID); p.Street != "" || p.Country != "" || p.BirthDate != "" {
		t.Errorf("address not removed: %+v", p)
	}
}

func equalBytes(a, b []byte) bool { return string(a) == string(b) }

func TestMyDataCSRF(t *testing.T) {
	t.Parallel()
	env := idptest.Start(t, idptest.Options{})
	env.CreateAccount(t, "Anna", "Muster", "anna@example.ch", pw)
	b := consoleLogin(t, env, "anna@example.ch", pw)
	for _, path := range []string{"/account/data", "/account/email", "/account/delete", "/account/email/confirm"} {
		res := b.Post(t, path, "wrong-token", url.Values{"given_name": {"Mallory"}, "password": {pw}, "confirm": {"yes"}})
		wantStatus(t, path+" without CSRF token", res.Resp, res.Body, http.StatusForbidden)
	}
}

func TestEmailChange(t *testing.T) {
	t.Parallel()
	env := idptest.Start(t, idptest.Options{})
	acct := env.CreateAccount(t, "Anna", "Muster", "anna@example.ch", pw)
	env.CreateAccount(t, "Otto", "Andere", "otto@example.ch", pw)
	b := consoleLogin(t, env, "anna@example.ch", pw)

	// Validation and the password.
	res := b.Submit(t, "/account/email", "/account/email", url.Values{"email": {"anna@"}, "password": {""}})
	wantStatus(t, "invalid address", res.Resp, res.Body, http.StatusUnprocessableEntity)
	wantIn(t, "invalid address", res.Body, `href="#email"`, `href="#password"`)
	res = b.Submit(t, "/account/email", "/account/email", url.Values{"email": {"anna.neu@example.ch"}, "password": {"Falsch-Passwort-1"}})
	wantStatus(t, "wrong password", res.Resp, res.Body, http.StatusUnprocessableEntity)
	wantIn(t, "wrong password", res.Body, "Das Passwort ist falsch")
	res = b.Submit(t, "/account/email", "/account/email", url.Values{"email": {"ANNA@example.ch"}, "password": {pw}})
	wantIn(t, "same address", res.Body, "bereits die E-Mail-Adresse")
	if _, ok := env.LastMail("anna.neu@example.ch", idp.MailEmailChange); ok {
		t.Fatal("a link went out for a refused request")
	}

	// An address of another account: the same answer, no link, the owner is told.
	taken := b.Submit(t, "/account/email", "/account/email", url.Values{"email": {"otto@example.ch"}, "password": {pw}})
	wantStatus(t, "taken address", taken.Resp, taken.Body, http.StatusOK)
	if _, ok := env.LastMail("otto@example.ch", idp.MailEmailChange); ok {
		t.Fatal("a confirmation link went to another account's address")
	}
	if _, ok := env.LastMail("otto@example.ch", idp.MailAlreadyRegistered); !ok {
		t.Fatal("the owner of the taken address was not told")
	}

	res = b.Submit(t, "/account/email", "/account/email", url.Values{"email": {"Anna.Neu@Example.ch"}, "password": {pw}})
	wantStatus(t, "request", res.Resp, res.Body, http.StatusOK)
	wantIn(t, "request", res.Body, "anna.neu@example.ch")
	norm := func(body, addr string) string {
		return volatile.ReplaceAllString(strings.ReplaceAll(body, addr, "X"), "")
	}
	if norm(taken.Body, "otto@example.ch") != norm(res.Body, "anna.neu@example.ch") {
		t.Error("the answer for a taken address differs from the normal one")
	}
	m, ok := env.LastMail("anna.neu@example.ch", idp.MailEmailChange)
	if !ok {
		t.Fatal("no confirmation link to the new address")
	}
	if m.Data["ValidHours"] != "24" {
		t.Errorf("link valid %s hours, want 24", m.Data["ValidHours"])
	}
	// The pending address is sealed: not readable from the stored row.
	a, p := personal(t, env, acct.ID)
	if p.PendingEmail != "anna.neu@example.ch" || strings.Contains(string(a.Sealed), "anna.neu") {
		t.Fatalf("pending address %q; sealed row leaks it: %v", p.PendingEmail, strings.Contains(string(a.Sealed), "anna.neu"))
	}
	wantIn(t, "data page", b.Open(t, "/account/data").Body, "Noch nicht bestätigt: anna.neu@example.ch")

	// Until confirmed, the old address logs in and the new one does not.
	ctx := t.Context()
	if _, err := env.Service.Login(ctx, "anna@example.ch", pw, "203.0.113.2"); err != nil {
		t.Fatalf("old address before confirmation: %v", err)
	}
	if _, err := env.Service.Login(ctx, "anna.neu@example.ch", pw, "203.0.113.2"); !errors.Is(err, idp.ErrLoginFailed) {
		t.Fatalf("new address before confirmation: %v", err)
	}

	// The link lands on a page with a button; only the POST confirms.
	link, _ := url.Parse(m.Data["Link"])
	anon := env.NewBrowser(t)
	page := anon.Open(t, link.String())
	wantIn(t, "confirm page", page.Body, `action="/account/email/confirm"`)
	if _, p := personal(t, env, acct.ID); p.Email != "anna@example.ch" {
		t.Fatal("opening the link changed the address")
	}
	res = anon.Submit(t, link.String(), "/account/email/confirm", url.Values{"token": {link.Query().Get("token")}})
	wantStatus(t, "confirm", res.Resp, res.Body, http.StatusOK)
	a, p = personal(t, env, acct.ID)
	if p.Email != "anna.neu@example.ch" || p.PendingEmail != "" || !equalBytes(a.EmailIndex, env.Service.EmailIndex("anna.neu@example.ch")) {
		t.Fatalf("after confirmation: email %q, pending %q", p.Email, p.PendingEmail)
	}
	if _, ok := env.LastMail("anna@example.ch", idp.MailEmailChanged); !ok {
		t.Fatal("the old address was not told")
	}
	if _, err := env.Service.Login(ctx, "anna.neu@example.ch", pw, "203.0.113.3"); err != nil {
		t.Fatalf("new address after confirmation: %v", err)
	}
	if _, err := env.Service.Login(ctx, "anna@example.ch", pw, "203.0.113.3"); !errors.Is(err, idp.ErrLoginFailed) {
		t.Fatalf("old address after confirmation: %v", err)
	}
	// Single use.
	res = anon.Submit(t, link.String(), "/account/email/confirm", url.Values{"token": {link.Query().Get("token")}})
	wantStatus(t, "second use", res.Resp, res.Body, http.StatusBadRequest)
	wantIn(t, "second use", res.Body, "kann nicht verwendet werden")
}

// TestEmailChangeSuperseded: a newer request voids the older link, and an
// address taken between request and confirmation is refused.
func TestEmailChangeSuperseded(t *testing.T) {
	t.Parallel()
	env := idptest.Start(t, idptest.Options{})
	ctx := t.Context()
	acct := env.CreateAccount(t, "Anna", "Muster", "anna@example.ch", pw)
	req := func(addr string) string {
		t.Helper()
		if err := env.Service.RequestEmailChange(ctx, idp.EmailChangeInput{AccountID: acct.ID, NewEmail: addr, Password: pw}); err != nil {
			t.Fatal(err)
		}
		m, ok := env.LastMail(addr, idp.MailEmailChange)
		if !ok {
			t.Fatalf("no link to %s", addr)
		}
		u, _ := url.Parse(m.Data["Link"])
		return u.Query().Get("token")
	}
	first := req("first@example.ch")
	second := req("second@example.ch")
	if _, err := env.Service.ConfirmEmailChange(ctx, first); !errors.Is(err, idp.ErrLinkInvalid) {
		t.Fatalf("superseded link: %v", err)
	}
	// Someone registers the second address before the confirmation.
	env.CreateAccount(t, "Sepp", "Schnell", "second@example.ch", pw)
	if _, err := env.Service.ConfirmEmailChange(ctx, second); !errors.Is(err, idp.ErrLinkInvalid) {
		t.Fatalf("link for a taken address: %v", err)
	}
	if _, p := personal(t, env, acct.ID); p.Email != "anna@example.ch" {
		t.Fatalf("address changed to %q", p.Email)
	}
}

func TestDeleteAccount(t *testing.T) {
	t.Parallel()
	env := idptest.Start(t, idptest.Options{})
	ctx := t.Context()
	acct := env.CreateAccount(t, "Anna", "Muster", "anna@example.ch", pw)
	env.Service.NoteClientUse(ctx, acct.ID, "forms")
	rt := idp.RefreshToken{ID: idp.NewID(), Hash: idp.HashToken("refresh-value"), FamilyID: "fam-1", ClientID: "status",
		AccountID: acct.ID, SessionID: "s", Scopes: []string{"openid"}, CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
	if err := env.Store.CreateRefreshToken(ctx, rt); err != nil {
		t.Fatal(err)
	}
	b := consoleLogin(t, env, "anna@example.ch", pw)
	other := consoleLogin(t, env, "anna@example.ch", pw) // a second device

	page := b.Open(t, "/account/delete")
	wantIn(t, "delete page", page.Body, "Entwürfe", "Status", "Postfach", `name="password"`, `name="confirm"`)

	res := b.Submit(t, "/account/delete", "/account/delete", url.Values{"password": {pw}})
	wantStatus(t, "without confirmation", res.Resp, res.Body, http.StatusUnprocessableEntity)
	wantIn(t, "without confirmation", res.Body, `href="#confirm"`)
	res = b.Submit(t, "/account/delete", "/account/delete", url.Values{"confirm": {"yes"}})
	wantStatus(t, "without password", res.Resp, res.Body, http.StatusUnprocessableEntity)
	wantIn(t, "without password", res.Body, `href="#password"`)
	res = b.Submit(t, "/account/delete", "/account/delete", url.Values{"confirm": {"yes"}, "password": {"Falsches-Passwort-9"}})
	wantStatus(t, "wrong password", res.Resp, res.Body, http.StatusUnprocessableEntity)
	wantIn(t, "wrong password", res.Body, "Das Passwort ist falsch")
	if _, err := env.Store.GetAccount(ctx, acct.ID); err != nil {
		t.Fatalf("account gone after a refused deletion: %v", err)
	}

	res = b.Submit(t, "/account/delete", "/account/delete", url.Values{"confirm": {"yes"}, "password": {pw}})
	wantStatus(t, "delete", res.Resp, res.Body, http.StatusOK)
	wantIn(t, "done page", res.Body, "Konto gelöscht")
	if _, err := env.Store.GetAccount(ctx, acct.ID); !errors.Is(err, idp.ErrNotFound) {
		t.Fatalf("account after deletion: %v", err)
	}
	if _, err := env.Store.GetRefreshToken(ctx, rt.Hash); !errors.Is(err, idp.ErrNotFound) {
		t.Fatalf("refresh token after deletion: %v", err)
	}
	if _, ok := env.LastMail("anna@example.ch", idp.MailAccountDeleted); !ok {
		t.Fatal("no confirmation mail")
	}
	// Both devices are logged out.
	for name, br := range map[string]*idptest.Browser{"this device": b, "other device": other} {
		if got := br.Open(t, "/account/data").URL(); got.Path != "/login" {
			t.Errorf("%s: /account/data after deletion ends at %s", name, got)
		}
	}
	// The services it used are queued for an account-purged event.
	events, err := env.Store.ListServiceEvents(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	var clients []string
	for _, e := range events {
		clients = append(clients, e.ClientID)
	}
	if strings.Join(clients, ",") != "forms,status" {
		t.Errorf("events for %v, want forms and status", clients)
	}
	// The address registers again.
	env.CreateAccount(t, "Anna", "Muster", "anna@example.ch", pw)
}

// TestDeleteNeedsSecondFactor: an account with a second factor must log in
// again with it before deleting; the password alone is not enough.
func TestDeleteNeedsSecondFactor(t *testing.T) {
	t.Parallel()
	env := idptest.Start(t, idptest.Options{})
	ctx := t.Context()
	acct := env.CreateAccount(t, "Anna", "Muster", "anna@example.ch", pw)
	if _, err := env.Store.(mfa.Store).UpdateMFA(ctx, acct.ID, func(m mfa.Settings) (mfa.Settings, []idp.Outgoing, error) {
		m.PhoneSealed = env.Service.SealFor(acct.ID, "mfa.phone", []byte("+41791234567"))
		m.PhoneVerifiedAt = time.Now()
		return m, nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	b := consoleLogin(t, env, "anna@example.ch", pw)
	page := b.Open(t, "/account/delete")
	wantIn(t, "delete page", page.Body, `href="/login?next=%2Faccount%2Fdelete"`)
	if strings.Contains(page.Body, `name="password"`) {
		t.Error("the page asks for the password although a second factor is due first")
	}
	res := b.Submit(t, "/account/data", "/account/delete", url.Values{"confirm": {"yes"}, "password": {pw}})
	if res.URL().Path != "/login" {
		t.Fatalf("deletion without a fresh second factor ends at %s", res.URL())
	}
	if _, err := env.Store.GetAccount(ctx, acct.ID); err != nil {
		t.Fatalf("deleted without the second factor: %v", err)
	}
	// The re-login for the deletion asks for the second factor.
	res = b.Submit(t, "/login?next=%2Faccount%2Fdelete", "/login", url.Values{"email": {"anna@example.ch"}, "password": {pw},
		"next": {"/account/delete"}})
	if res.URL().Path != "/login/mfa" {
		t.Fatalf("re-login for the deletion ends at %s, want the second-factor page", res.URL())
	}
}

// TestEmailChangeExpires: after its link expired (24 h), a change is no
// longer shown as pending on "Meine Daten".
func TestEmailChangeExpires(t *testing.T) {
	t.Parallel()
	c := &clock{now: time.Now().UTC()}
	env := idptest.Start(t, idptest.Options{Now: c.Now})
	env.CreateAccount(t, "Anna", "Muster", "anna@example.ch", pw)
	b := consoleLogin(t, env, "anna@example.ch", pw)
	res := b.Submit(t, "/account/email", "/account/email", url.Values{"email": {"anna.neu@example.ch"}, "password": {pw}})
	wantStatus(t, "request", res.Resp, res.Body, http.StatusOK)
	wantIn(t, "pending", b.Open(t, "/account/data").Body, "Noch nicht bestätigt")
	c.Add(25 * time.Hour)
	b = consoleLogin(t, env, "anna@example.ch", pw) // the session ended meanwhile
	if body := b.Open(t, "/account/data").Body; strings.Contains(body, "Noch nicht bestätigt") {
		t.Fatal("an expired e-mail change is still shown as pending")
	}
}
