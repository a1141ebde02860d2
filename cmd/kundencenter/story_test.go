package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kanton/kundencenter/idp/idptest"
	"github.com/kanton/kundencenter/templates"
)

// TestNewcomerStory walks the README's "Try the whole story" in real
// headless Chromium against the real `serve` wiring, step by step as the
// README tells a newcomer, four times in parallel, each with its own serve
// and data folder: in German at 1280 px and in French on a phone (390 px,
// touch; French chosen with the page's language switch) the whole story,
// in Italian and English on a phone (the browser asks for the language)
// a shorter one. Every page on the way is in the walk's language, does not
// scroll sideways and has the walk's width; the texts the walk expects come
// from the real catalogues.
//
// The whole story: Anna registers and activates her account (mail in the
// dev outbox), logs in, opens "Formulare", orders a Wohnsitzbestätigung
// and pays with TWINT on the fake Datatrans, sees the confirmation and the
// case in "Meine Vorgänge". The back office (`kundencenter backoffice cases
// set-status`, the real subcommand in-process) moves the case to "in
// Bearbeitung" — a general e-mail without case content arrives — and
// closes it as gutgeheissen, which delivers the sealed certificate to "Meine
// Dokumente". Anna downloads it (the bytes' SHA-256 is what the documents
// API reported), verifies it on the public page (valid, issued by this
// portal) and pdfsig agrees. Then Beat lets Anna represent him for the
// forms service (IdP pages /representations); Anna logs in to the forms
// service acting for Beat and orders a certificate for him, which lands in
// Beat's "Meine Vorgänge" and his representation timeline. The shorter
// walk ends with the case in "Meine Vorgänge".
func TestNewcomerStory(t *testing.T) {
	t.Parallel()
	pdfsig, err := exec.LookPath("pdfsig")
	if err != nil {
		t.Fatal("pdfsig is missing: apt-get install poppler-utils (scripts/test installs it)")
	}
	for _, w := range []storyWalk{
		{name: "de@1280", lang: "de", width: 1280, full: true},
		{name: "fr@390", lang: "fr", width: 390, switchLang: true, full: true},
		{name: "it@390", lang: "it", width: 390},
		{name: "en@390", lang: "en", width: 390},
	} {
		t.Run(w.name, func(t *testing.T) {
			t.Parallel()
			walkStory(t, w, pdfsig)
		})
	}
}

// walkStory walks the story w (see TestNewcomerStory).
func walkStory(t *testing.T, w storyWalk, pdfsig string) {
	k := newWalker(t, w)
	x := k.x
	idpURL, formsURL, statusURL, documentsURL := k.idpURL, k.formsURL, k.statusURL, k.documents
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	const pw = "Sonnenblume-Aare-42"
	const anna, beat = "anna.muster@example.ch", "beat.beispiel@example.ch"
	wohnsitz := x.formTitle(t, "wohnsitzbestaetigung")

	// Each sitting of a person at the computer gets a browser of its own.
	p := k.browser() // Anna's
	has := k.has
	// register opens an account on the register page (in the walk's
	// language) and activates it with the link from the dev outbox.
	register := func(p *idptest.Page, given, family, email string) {
		t.Helper()
		p.Navigate(idpURL + "/register")
		p.Do(chromedp.WaitVisible(css(`#given_name`)))
		k.chooseLang(p)
		k.check(p, "register")
		p.Do(chromedp.SendKeys(css(`#given_name`), given), chromedp.SendKeys(css(`#family_name`), family),
			chromedp.SendKeys(css(`#email`), email), chromedp.SendKeys(css(`#password`), pw),
			chromedp.SendKeys(css(`#password_repeat`), pw), k.tap(`form:has(#password_repeat) button[type="submit"]`),
			chromedp.WaitNotPresent(css(`#password_repeat`)))
		k.check(p, "registered")
		link, _ := latestMailLink(t, p, idpURL, email, "/activate?token=")
		p.Do(chromedp.Navigate(link), chromedp.WaitVisible(css(`form[action="/activate"] button`)))
		k.check(p, "activation")
		p.Do(k.tap(`form[action="/activate"] button`), chromedp.WaitVisible(css(`main a[href^="/login"]`)))
		k.check(p, "activated")
	}
	// loginAt opens a page that needs a login and logs in on the IdP's
	// login page (choosing the language there in a new sitting). It
	// returns once the login page is gone: a WaitURL for the IdP's origin
	// alone would match the login page itself, and the next navigation
	// would race the login's redirect.
	loginAt := func(p *idptest.Page, start, email string) {
		t.Helper()
		p.Do(chromedp.Navigate(start), chromedp.WaitVisible(css(`#password`)))
		if l := p.Attr("html", "lang"); l != w.lang {
			k.chooseLang(p)
		}
		k.check(p, "login")
		p.Do(chromedp.SendKeys(css(`#email`), email), chromedp.SendKeys(css(`#password`), pw),
			k.tap(`form:has(#password) button[type="submit"]:not([name])`), chromedp.WaitNotPresent(css(`#password`)))
	}
	next := func() { p.Do(k.tap(`button[value="continue"]`)) }
	// order fills "Wohnsitzbestätigung bestellen" from its start page and
	// pays with TWINT on the fake Datatrans; it returns the confirmation.
	order := func(given, family, birth, street, postalCode, locality string) string {
		t.Helper()
		p.Do(chromedp.WaitVisible(css(`main form button`)))
		k.check(p, "form start")
		p.Do(k.tap(`main form button`))
		p.WaitURL(formsURL + "/drafts/")
		p.Do(chromedp.WaitVisible(css(`#f-geburtsdatum`)),
			chromedp.SetValue(css(`#f-vorname`), given), chromedp.SetValue(css(`#f-nachname`), family),
			chromedp.SetValue(css(`#f-geburtsdatum`), birth))
		k.check(p, "form page 1")
		next()
		p.Do(chromedp.WaitVisible(css(`#f-wohnadresse-street`)),
			chromedp.SetValue(css(`#f-wohnadresse-street`), street),
			chromedp.SetValue(css(`#f-wohnadresse-postal_code`), postalCode),
			chromedp.SetValue(css(`#f-wohnadresse-locality`), locality),
			chromedp.SetValue(css(`#f-zweck`), "arbeitgeber"))
		k.check(p, "form page 2")
		next()
		p.Do(chromedp.WaitVisible(css(`#f-declaration`)))
		k.check(p, "check your answers")
		p.Do(k.tap(`#f-declaration`), k.tap(`main form button.primary`), chromedp.WaitVisible(css(`#m-TWI`)))
		k.check(p, "Datatrans")
		p.Do(k.tap(`#m-TWI`), k.tap(`button[value="success"]`))
		p.WaitURL(formsURL + "/submissions/")
		p.Do(chromedp.WaitVisible(css(`.panel`)))
		k.check(p, "confirmation")
		return p.Text("main")
	}
	refRE := regexp.MustCompile(`\b\d{4}-\d{6}-\d\b`)
	// caseIn waits until "Meine Vorgänge" lists a case with title and
	// returns its reference number.
	caseIn := func(p *idptest.Page, title string) string {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			p.Do(chromedp.Navigate(statusURL+"/"), chromedp.WaitVisible(css(`main`)))
			if body := p.Text("main"); strings.Contains(body, title) {
				if ref := refRE.FindString(body); ref != "" {
					k.check(p, "Meine Vorgänge")
					return ref
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("no case %q in Meine Vorgänge:\n%.1500s", title, p.Text("main"))
			}
			time.Sleep(300 * time.Millisecond)
		}
	}

	// 1. Register and activate (mail in the dev outbox), log in at "Meine Vorgänge".
	k.step("register, activate, log in")
	register(p, "Anna", "Muster", anna)
	loginAt(p, statusURL+"/", anna)
	p.WaitURL(statusURL + "/")
	k.check(p, "Meine Vorgänge after the login")
	has(p, "Meine Vorgänge", "Anna Muster")

	// 2. "Formulare" → "Wohnsitzbestätigung bestellen", pay with TWINT.
	k.step("order and pay")
	p.Do(k.tap(`nav a[href^="` + formsURL + `"]`))
	p.WaitURL(formsURL + "/")
	p.Do(chromedp.WaitVisible(css(`a[href="/forms/wohnsitzbestaetigung"]`)))
	k.check(p, "Formulare")
	has(p, "Formulare", wohnsitz)
	p.Do(k.tap(`a[href="/forms/wohnsitzbestaetigung"]`))
	confirmation := order("Anna", "Muster", "17.05.1990", "Bärenplatz 1", "3011", "Bern")
	for _, want := range []string{x.S("forms.confirmation.paid", "CHF 20.00"), wohnsitz} {
		if !strings.Contains(confirmation, want) {
			t.Errorf("confirmation lacks %q:\n%s", want, confirmation)
		}
	}

	// 3. The case in "Meine Vorgänge".
	k.step("case in Meine Vorgänge")
	ref := caseIn(p, wohnsitz)
	p.Do(k.tap(`main .items a`), chromedp.WaitVisible(css(`main h1`)))
	k.check(p, "the case")
	has(p, "the case", ref, x.S("status.s.eingereicht"))
	if !w.full {
		k.step("done")
		return
	}

	// 4. The back office: in Bearbeitung, then abgeschlossen / gutgeheissen.
	k.step("back office")
	secret := k.backofficeSecret()
	backoffice := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		args = append([]string{"cases", "set-status", ref, "-issuer", idpURL, "-status-url", statusURL, "-documents-url", documentsURL,
			"-client-secret", secret}, args...)
		if err := runBackoffice(t.Context(), args, &out); err != nil {
			t.Fatalf("kundencenter backoffice %s: %v\n%s", strings.Join(args, " "), err, out.String())
		}
		return out.String()
	}
	if out := backoffice("-status", "in-bearbeitung"); !strings.Contains(out, ref+" is now in-bearbeitung") {
		t.Fatalf("set-status in-bearbeitung: %s", out)
	}
	p.Do(chromedp.Reload(), chromedp.WaitVisible(css(`main h1`)))
	k.check(p, "the case in progress")
	has(p, "the case in progress", x.S("status.s.in-bearbeitung"))
	notice, err := x.mails.Render("service_notice", w.lang, templates.MailData{Notice: "case-status-changed", Reference: ref})
	if err != nil {
		t.Fatal(err)
	}
	mail := mailWithSubject(t, p.Ctx, idpURL, anna, notice.Subject)
	if !strings.Contains(mail, statusURL) || strings.Contains(mail, wohnsitz) || strings.Contains(mail, x.S("status.s.in-bearbeitung")) {
		t.Errorf("status mail is not general:\n%s", mail)
	}
	out := backoffice("-status", "abgeschlossen", "-outcome", "gutgeheissen", "-given-name", "Anna", "-family-name", "Muster",
		"-birth-date", "1990-05-17", "-address", "Bärenplatz 1, 3011 Bern", "-since", "2020-04-01", "-lang", w.lang)
	m := regexp.MustCompile(`certificate delivered: \S+ \(SHA-256 ([0-9a-f]{64})\)`).FindStringSubmatch(out)
	if !strings.Contains(out, "is now abgeschlossen: gutgeheissen") || m == nil {
		t.Fatalf("set-status abgeschlossen:\n%s", out)
	}
	apiSHA := m[1]
	p.Do(chromedp.Reload(), chromedp.WaitVisible(css(`main h1`)))
	k.check(p, "the closed case")
	has(p, "the closed case", x.S("status.s.abgeschlossen"), x.S("status.o.gutgeheissen"))

	// 5. "Meine Dokumente": the sealed certificate; download it.
	k.step("Meine Dokumente")
	certificate := certificateTitle[w.lang]
	p.Do(k.tap(`nav a[href^="` + documentsURL + `"]`))
	p.WaitURL(documentsURL + "/")
	p.Do(chromedp.WaitVisible(css(`.items a`)))
	k.check(p, "Meine Dokumente")
	has(p, "Meine Dokumente", certificate, ref)
	p.Do(k.tap(`.items a`), chromedp.WaitVisible(css(`#sha256`)))
	k.check(p, "the document")
	if shown := p.Text("#sha256"); shown != apiSHA {
		t.Errorf("document page shows SHA-256 %s, the API said %s", shown, apiSHA)
	}
	res, err := chromedp.Run(p.Ctx, chromedp.Evaluate[[]string](`fetch(document.querySelector("#download").href).then(r => r.arrayBuffer()).then(async b => [
		[...new Uint8Array(await crypto.subtle.digest("SHA-256", b))].map(x => x.toString(16).padStart(2, "0")).join(""),
		btoa(Array.from(new Uint8Array(b), c => String.fromCharCode(c)).join(""))])`, chromedp.EvalAwaitPromise))
	if err != nil || len(res) != 2 {
		t.Fatalf("download: %v", err)
	}
	pdf, _ := base64.StdEncoding.DecodeString(res[1])
	if res[0] != apiSHA || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("downloaded SHA-256 %s (%d bytes), the API said %s", res[0], len(pdf), apiSHA)
	}
	file := filepath.Join(t.TempDir(), "wohnsitzbestaetigung.pdf")
	if err := os.WriteFile(file, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	// The certificate is written in the language the back office chose.
	if text, err := exec.Command("pdftotext", file, "-").Output(); err != nil || !strings.Contains(string(text), certificate) {
		t.Errorf("the certificate's text lacks its title %q (%v):\n%.600s", certificate, err, text)
	}

	// 6. Verify it on the public page (no login needed) and with pdfsig.
	k.step("verify")
	p.Do(chromedp.Navigate(documentsURL+"/pruefen"), chromedp.WaitVisible(css(`#file`)))
	k.check(p, "verification page")
	p.Do(chromedp.SetUploadFiles(css(`#file`), []string{file}), k.tap(`#verify`), chromedp.WaitVisible(css(`#verdict`)))
	k.check(p, "verification")
	if v := p.Attr("#verdict", "data-valid"); v != "true" {
		t.Fatalf("verification page: valid=%s\n%s", v, p.Text("main"))
	}
	has(p, "verification", x.S("documents.verify.valid"))
	if s, want := p.Text("#onrecord"), before(x.S("documents.verify.onrecord.yes")); !strings.HasPrefix(s, want) {
		t.Errorf("issued by this portal: %q, want %q…", s, want)
	}
	if out, _ := exec.Command(pdfsig, file).CombinedOutput(); !strings.Contains(string(out), "Signature is Valid.") {
		t.Errorf("pdfsig does not agree:\n%s", out)
	}

	// 7. Beat lets Anna represent him for the forms service.
	k.step("representation")
	b := k.browser() // Beat's
	register(b, "Beat", "Beispiel", beat)
	loginAt(b, idpURL+"/login", beat)
	b.WaitURL(idpURL + "/")
	b.Do(chromedp.Navigate(idpURL+"/representations/new"), chromedp.WaitVisible(css(`input[value="forms"]`)))
	k.check(b, "new representation")
	has(b, "new representation", x.T("client.forms"))
	b.Do(k.tap(`input[value="forms"]`), k.tap(`form:has(input[value="forms"]) button[type="submit"]`),
		chromedp.WaitVisible(css(`#access-code`)))
	k.check(b, "access code")
	code := strings.TrimSpace(b.Text(`#access-code`))
	// Anna enters the code and accepts.
	p = k.browser()
	loginAt(p, idpURL+"/login", anna)
	p.WaitURL(idpURL + "/")
	p.Do(chromedp.Navigate(idpURL+"/representations/enter"), chromedp.WaitVisible(css(`#code`)))
	k.check(p, "enter the code")
	p.Do(chromedp.SendKeys(css(`#code`), code), k.tap(`form:has(#code) button[type="submit"]`),
		chromedp.WaitVisible(css(`form[action="/representations/accept"]`)))
	k.check(p, "representation preview")
	has(p, "representation preview", "Beat Beispiel", x.T("client.forms"))
	p.Do(k.tap(`form[action="/representations/accept"] button`), chromedp.WaitVisible(css(`.notice`)))
	k.check(p, "accepted")
	// Beat confirms after seeing Anna's name.
	b = k.browser()
	loginAt(b, idpURL+"/login", beat)
	b.WaitURL(idpURL + "/")
	b.Do(chromedp.Navigate(idpURL+"/representations"), chromedp.WaitVisible(css(`main li a`)))
	k.check(b, "representations")
	b.Do(k.tap(`main li a`), chromedp.WaitVisible(css(`#confirm`)))
	k.check(b, "confirm the representation")
	has(b, "confirm the representation", "Anna Muster")
	b.Do(k.tap(`#confirm`), chromedp.WaitVisible(css(`.notice`)))
	k.check(b, "representation confirmed")
	has(b, "representation", x.T("rep.notice_confirmed"))

	// 8. Anna logs in to the forms service acting for Beat and orders a
	// certificate for him.
	k.step("acting for Beat")
	p = k.browser()
	loginAt(p, formsURL+"/", anna)
	p.Do(chromedp.WaitVisible(css(`input[name="acting"][value^="person:"]`)))
	k.check(p, "Für wen handeln Sie?")
	has(p, "Für wen handeln Sie?", "Beat Beispiel", x.T("client.forms"))
	p.Do(k.tap(`input[name="acting"][value^="person:"]`), k.tap(`form:has(input[name="acting"]) button[type="submit"]`))
	p.WaitURL(formsURL + "/")
	// The callback's redirect may still be under way: wait for the page
	// of the forms service that names Beat, then check it.
	waitMainOf(t, p, formsURL, "Beat Beispiel")
	k.check(p, "Formulare acting for Beat")
	has(p, "Formulare acting for Beat", "Beat Beispiel")
	p.Do(chromedp.Navigate(formsURL + "/forms/wohnsitzbestaetigung"))
	order("Beat", "Beispiel", "02.03.1985", "Marktgasse 5", "3011", "Bern")
	// Anna's own "Meine Vorgänge" does not list it.
	p.Do(chromedp.Navigate(statusURL+"/"), chromedp.WaitVisible(css(`main`)))
	annas := p.Text("main")

	// 9. The case is in Beat's "Meine Vorgänge" (and not in Anna's own).
	k.step("Beat's Meine Vorgänge")
	b = k.browser()
	loginAt(b, statusURL+"/", beat)
	b.WaitURL(statusURL + "/")
	beatRef := caseIn(b, wohnsitz)
	if beatRef == ref {
		t.Fatalf("Beat sees Anna's case %s", ref)
	}
	if strings.Contains(annas, beatRef) || !strings.Contains(annas, ref) {
		t.Errorf("Anna's own list (her case %s, not Beat's %s):\n%s", ref, beatRef, annas)
	}

	// 10. Beat's representation timeline at the IdP says, in his
	// language, what Anna sent for him (the form service's action
	// receipt, a job: poll briefly).
	k.step("Beat's timeline")
	sent := x.S("forms.action.sent", wohnsitz, beatRef)
	var timeline string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		b.Do(chromedp.Navigate(idpURL+"/representations"), chromedp.WaitVisible(css(`main li a`)),
			k.tap(`main li a`), chromedp.WaitVisible(css(`#timeline`)))
		if timeline = b.Text("#timeline"); strings.Contains(timeline, sent) {
			break
		}
	}
	k.check(b, "Beat's timeline")
	if !strings.Contains(timeline, sent) {
		t.Errorf("Beat's timeline lacks %q:\n%s", sent, timeline)
	}
	k.step("done")
}

// mailWithSubject waits for the newest dev-outbox mail to addr whose subject
// contains subject and returns its text; it reads the outbox in a tab of
// its own.
func mailWithSubject(t *testing.T, ctx context.Context, idpURL, addr, subject string) string {
	t.Helper()
	tab, cancel := chromedp.NewContext(ctx)
	defer cancel()
	q := &idptest.Page{T: t, Ctx: tab}
	deadline := time.Now().Add(20 * time.Second)
	for {
		q.Do(chromedp.Navigate(idpURL+"/dev/outbox"), chromedp.WaitVisible(chromedp.CSS(`main`)))
		href, err := chromedp.Run(tab, chromedp.Evaluate[string](`(() => {
			for (const tr of document.querySelectorAll("table tbody tr")) {
				const td = tr.querySelectorAll("td");
				if (td[1].textContent.trim() === `+jsString(addr)+` && td[2].textContent.includes(`+jsString(subject)+`)) return td[2].querySelector("a").href;
			}
			return "";
		})()`))
		if err != nil {
			t.Fatal(err)
		}
		if href != "" {
			q.Do(chromedp.Navigate(href), chromedp.WaitVisible(chromedp.CSS(`pre`)))
			return q.Text("pre")
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mail to %s with subject %q in the dev outbox", addr, subject)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

// waitMainOf waits (at most 20 s) until the tab shows a page of origin
// whose main element contains want; has then checks it with its message.
func waitMainOf(t *testing.T, p *idptest.Page, origin, want string) {
	t.Helper()
	js := fmt.Sprintf(`location.href.startsWith(%q) && !!document.querySelector('main') && document.querySelector('main').innerText.includes(%q)`, origin+"/", want)
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if ok, err := chromedp.Run(p.Ctx, chromedp.Evaluate[bool](js)); err == nil && ok {
			return
		}
	}
}
