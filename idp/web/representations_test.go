package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kanton/kundencenter/delegation"
)

var codeOnPage = regexp.MustCompile(`id="access-code">([0-9A-Z]{4}(?:-[0-9A-Z]{4}){3})<`)

// TestRepresentationPages walks the handshake through the pages with two
// browsers (P and R) and a stranger: validation in the user's language,
// CSRF, the code never in a URL, and who may do what.
func TestRepresentationPages(t *testing.T) {
	t.Parallel()
	e := startOrgs(t)
	paula := e.CreateAccount(t, "Paula", "Prinzipal", "paula@example.ch", pw)
	ruedi := e.CreateAccount(t, "Ruedi", "Vertreter", "ruedi@example.ch", pw)
	e.CreateAccount(t, "Sandro", "Fremd", "sandro@example.ch", pw)
	ctx := t.Context()

	p := e.login(t, "paula@example.ch", pw)
	resp, body := p.get("/")
	wantIn(t, "account page", body, `href="/representations"`)
	resp, body = p.get("/representations")
	wantStatus(t, "GET /representations", resp, body, http.StatusOK)
	wantIn(t, "empty list", body, "Niemand vertritt Sie.", "Sie vertreten niemanden.", `href="/representations/new"`)

	// Create: CSRF, then validation, then the code, shown once.
	resp, body = p.post("/representations/new", url.Values{"csrf": {"forged"}, "services": {"forms"}})
	wantStatus(t, "forged CSRF", resp, body, http.StatusForbidden)
	_, body = p.get("/representations/new")
	wantIn(t, "new form", body, `id="valid_until" name="valid_until" type="text" inputmode="numeric"`,
		"Format TT.MM.JJJJ")
	resp, body = p.post("/representations/new", url.Values{"valid_until": {"1.1.2001"}})
	wantStatus(t, "invalid form", resp, body, http.StatusUnprocessableEntity)
	wantIn(t, "invalid form", body, `class="error-summary"`, `href="#services"`, `href="#valid_until"`,
		"Bitte wählen Sie mindestens eine Dienstleistung.", "Das Datum darf nicht in der Vergangenheit liegen.",
		`value="1.1.2001"`, `aria-invalid="true"`)
	// What is wrong with a typed date is said in the page's language.
	for _, c := range []struct{ lang, typed, msg string }{
		{"it", "domani", "Inserisca la data nel formato GG.MM.AAAA"},
		{"de", "31.02.2030", "Dieses Datum gibt es nicht."},
		{"fr", "31.12.30", "Saisissez l’année avec quatre chiffres"},
		{"en", "2030/12/31", "Enter the date as DD.MM.YYYY"},
	} {
		resp, body = p.post("/representations/new?lang="+c.lang, url.Values{"services": {"forms"}, "valid_until": {c.typed}})
		wantStatus(t, "date "+c.typed, resp, body, http.StatusUnprocessableEntity)
		wantIn(t, "date "+c.typed, body, c.msg, `lang="`+c.lang+`"`, `value="forms" checked`, `value="`+c.typed+`"`)
	}
	lastDay := time.Now().AddDate(1, 0, 0)
	resp, body = p.post("/representations/new?lang=de", url.Values{"services": {"forms", "documents"},
		"valid_until": {lastDay.Format("2.1.2006")}})
	wantStatus(t, "create", resp, body, http.StatusOK)
	wantIn(t, "create", body, "<dd>"+lastDay.Format("02.01.2006")+"</dd>") // the last day, typed the short way
	m := codeOnPage.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no code on the page:\n%.3000s", body)
	}
	code := m[1]
	wantIn(t, "code page", body, "Meine Dokumente, Formulare")
	id := regexp.MustCompile(`action="/representations/([^/"]+)/send"`).FindStringSubmatch(body)[1]
	repPath := "/representations/" + id

	// Send by e-mail: a bad address keeps the code on the page.
	resp, body = p.post(repPath+"/send", url.Values{"code": {code}, "email": {"kein-at"}})
	wantStatus(t, "bad address", resp, body, http.StatusUnprocessableEntity)
	wantIn(t, "bad address", body, `href="#email"`, code)
	resp, body = p.post(repPath+"/send", url.Values{"code": {code}, "email": {"ruedi.privat@example.org"}})
	wantStatus(t, "send", resp, body, http.StatusSeeOther)
	if loc := resp.Header.Get("Location"); loc != repPath+"?done=sent" || strings.Contains(loc, code) {
		t.Fatalf("after sending: %s", loc)
	}
	mail, ok := e.lastOrgMail("ruedi.privat@example.org", delegation.MailRepCode)
	if !ok || mail.Data["Code"] != code || mail.Data["PartyName"] != "Paula Prinzipal" {
		t.Fatalf("access-code mail: %+v, %v", mail, ok)
	}
	resp, body = p.get(repPath + "?done=sent")
	wantIn(t, "detail after sending", body, "Der Zugangscode wurde per E-Mail gesendet.", "Zugangscode erstellt",
		"hat den Zugangscode per E-Mail gesendet")
	if strings.Contains(body, code) {
		t.Error("the detail page shows the code again")
	}

	// P cannot use her own code.
	resp, body = p.post("/representations/enter", url.Values{"code": {code}})
	wantStatus(t, "own code", resp, body, http.StatusUnprocessableEntity)
	wantIn(t, "own code", body, "Das ist Ihr eigener Zugangscode.")

	// R: a wrong code, an empty one, then the right one in lower case.
	r := e.login(t, "ruedi@example.ch", pw)
	resp, body = r.post("/representations/enter", url.Values{"code": {""}})
	wantStatus(t, "empty code", resp, body, http.StatusUnprocessableEntity)
	wantIn(t, "empty code", body, `href="#code"`, "Bitte füllen Sie dieses Feld aus.")
	resp, body = r.post("/representations/enter", url.Values{"code": {"ZZZZ-ZZZZ-ZZZZ-ZZZZ"}})
	wantStatus(t, "wrong code", resp, body, http.StatusUnprocessableEntity)
	wantIn(t, "wrong code", body, "Dieser Zugangscode ist nicht gültig.")
	resp, body = r.post("/representations/enter", url.Values{"code": {strings.ToLower(code)}})
	wantStatus(t, "preview", resp, body, http.StatusOK)
	wantIn(t, "preview", body, "Sie würden Paula Prinzipal vertreten.", "Meine Dokumente, Formulare", `name="code" value="`+code+`"`)
	resp, body = r.post("/representations/accept", url.Values{"code": {code}, "csrf": {"forged"}})
	wantStatus(t, "accept with forged CSRF", resp, body, http.StatusForbidden)
	resp, body = r.post("/representations/accept", url.Values{"code": {code}})
	wantStatus(t, "accept", resp, body, http.StatusSeeOther)
	if loc := resp.Header.Get("Location"); loc != repPath+"?done=accepted" {
		t.Fatalf("after accepting: %s", loc)
	}
	resp, body = r.get(repPath)
	wantIn(t, "R's view", body, "Paula Prinzipal", "Angenommen, Bestätigung ausstehend")
	if strings.Contains(body, `id="timeline"`) || strings.Contains(body, `/confirm"`) {
		t.Error("the representative sees the timeline or the confirmation")
	}
	resp, body = r.post(repPath+"/confirm", url.Values{})
	wantStatus(t, "R confirms", resp, body, http.StatusNotFound)
	resp, body = r.post("/representations/accept", url.Values{"code": {code}})
	wantStatus(t, "code reused", resp, body, http.StatusUnprocessableEntity)

	// A stranger sees nothing.
	s := e.login(t, "sandro@example.ch", pw)
	resp, body = s.get(repPath)
	wantStatus(t, "stranger", resp, body, http.StatusNotFound)
	resp, body = s.post(repPath+"/end", url.Values{})
	wantStatus(t, "stranger ends", resp, body, http.StatusNotFound)

	// P sees R's name and Konto-ID and confirms.
	resp, body = p.get("/representations")
	wantIn(t, "P's list", body, "Ruedi Vertreter", "bitte bestätigen oder ablehnen")
	resp, body = p.get(repPath)
	wantIn(t, "P's view", body, "Ruedi Vertreter", ruedi.KontoID, `action="`+repPath+`/confirm"`, `action="`+repPath+`/reject"`)
	resp, body = p.post(repPath+"/confirm", url.Values{})
	wantStatus(t, "confirm", resp, body, http.StatusSeeOther)
	if d, err := e.Orgs.MayRepresent(ctx, ruedi.ID, paula.ID, "documents"); err != nil || !d.Allowed {
		t.Fatalf("MayRepresent after confirming = %+v, %v", d, err)
	}
	resp, body = p.post(repPath+"/confirm", url.Values{})
	wantStatus(t, "confirm twice", resp, body, http.StatusConflict)
	wantIn(t, "confirm twice", body, "Dieser Schritt ist in diesem Stand der Vertretung nicht möglich.")

	// Narrow the services: none is refused, one is kept.
	resp, body = p.post(repPath+"/services", url.Values{})
	wantStatus(t, "narrow to nothing", resp, body, http.StatusUnprocessableEntity)
	wantIn(t, "narrow to nothing", body, `href="#services"`, "Bitte wählen Sie mindestens eine Dienstleistung.")
	resp, body = p.post(repPath+"/services", url.Values{"services": {"forms"}})
	wantStatus(t, "narrow", resp, body, http.StatusSeeOther)
	if d, _ := e.Orgs.MayRepresent(ctx, ruedi.ID, paula.ID, "documents"); d.Allowed {
		t.Fatal("a removed service is still allowed")
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(e.Orgs.RecordUse(ctx, id, "forms"))
	must(e.Orgs.RecordAction(ctx, id, "forms", "Gesuch Parkkarte eingereicht"))
	resp, body = p.get(repPath)
	wantIn(t, "timeline", body, "Ruedi Vertreter: hat sich für Sie angemeldet – Formulare",
		"hat für Sie gehandelt – Formulare (Gesuch Parkkarte eingereicht)", "Sie: hat die Dienstleistungen eingeschränkt",
		"Ruedi Vertreter: hat die Vertretung angenommen", "Sie: hat die Vertretung bestätigt")

	// R ends it; both are told; P's page shows it ended.
	resp, body = r.post(repPath+"/end", url.Values{})
	wantStatus(t, "R ends", resp, body, http.StatusSeeOther)
	if d, _ := e.Orgs.MayRepresent(ctx, ruedi.ID, paula.ID, "forms"); d.Allowed {
		t.Fatal("allowed after the end")
	}
	for _, to := range []string{"paula@example.ch", "ruedi@example.ch"} {
		if _, ok := e.lastOrgMail(to, delegation.MailRepEnded); !ok {
			t.Errorf("no end mail to %s", to)
		}
	}
	resp, body = p.get(repPath)
	wantIn(t, "ended", body, `data-state="revoked"`, "Ruedi Vertreter: hat die Vertretung beendet")
	if strings.Contains(body, `/end"`) {
		t.Error("an ended representation offers to end it")
	}
}

// TestRepresentationCodeThrottledPage: too many codes from one account
// give the rate-limit message, even for the right code.
func TestRepresentationCodeThrottledPage(t *testing.T) {
	t.Parallel()
	e := startOrgs(t)
	e.CreateAccount(t, "Paula", "Prinzipal", "paula@example.ch", pw)
	e.CreateAccount(t, "Ruedi", "Vertreter", "ruedi@example.ch", pw)
	p := e.login(t, "paula@example.ch", pw)
	_, body := p.post("/representations/new", url.Values{"services": {"forms"}})
	code := codeOnPage.FindStringSubmatch(body)[1]
	r := e.login(t, "ruedi@example.ch", pw)
	for range delegation.DefaultRepLimits.CodePerActor.Limit {
		resp, body := r.post("/representations/enter", url.Values{"code": {"ZZZZ-ZZZZ-ZZZZ-ZZZZ"}})
		wantStatus(t, "wrong code", resp, body, http.StatusUnprocessableEntity)
	}
	resp, body := r.post("/representations/enter", url.Values{"code": {code}})
	wantStatus(t, "right code when throttled", resp, body, http.StatusTooManyRequests)
	wantIn(t, "throttled", body, "Zu viele Versuche.")
	if strings.Contains(body, "Paula") {
		t.Error("a throttled attempt reveals the principal")
	}
}
