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

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/kanton/kundencenter/idp/idptest"
)

// TestNewcomerStory walks the README's "Try the whole story" in real
// headless Chromium against the real `serve` wiring, step by step as the
// README tells a newcomer: Anna registers and activates her account (mail in
// the dev outbox), logs in, opens "Formulare", orders a Wohnsitzbestätigung
// and pays with TWINT on the fake Datatrans, sees the confirmation and the
// case in "Meine Vorgänge". The back office (`kundencenter backoffice cases
// set-status`, the real subcommand in-process) moves the case to "in
// Bearbeitung" — a general e-mail without case content arrives — and
// closes it as gutgeheissen, which delivers the sealed certificate to "Meine
// Dokumente". Anna downloads it (the bytes' SHA-256 is what the documents
// API reported), verifies it on the public page (valid, issued by this
// portal) and pdfsig agrees. Then Beat lets Anna
// represent him for the forms service (IdP pages /representations); Anna
// logs in to the forms service acting for Beat and orders a certificate for
// him, which lands in Beat's "Meine Vorgänge".
func TestNewcomerStory(t *testing.T) {
	pdfsig, err := exec.LookPath("pdfsig")
	if err != nil {
		t.Fatal("pdfsig is missing: apt-get install poppler-utils (scripts/test installs it)")
	}
	dataDir := filepath.Join(t.TempDir(), "data")
	t.Setenv("KC_DATA_DIR", dataDir) // as a newcomer's shell: serve and backoffice share it
	idpURL, formsURL, statusURL, documentsURL := startServeIn(t, dataDir)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	const pw = "Sonnenblume-Aare-42"
	const anna, beat = "anna.muster@example.ch", "beat.beispiel@example.ch"

	start := time.Now()
	step := func(name string) { t.Logf("%5.1fs %s", time.Since(start).Seconds(), name) }
	// Each sitting of a person at the computer gets a browser of its own
	// (idptest.Chromium gives a browser three minutes).
	closeBrowser := func() {}
	defer func() { closeBrowser() }()
	browser := func() *idptest.Page {
		closeBrowser()
		ctx, cancel := idptest.Chromium(t)
		closeBrowser = cancel
		q := &idptest.Page{T: t, Ctx: ctx}
		// The services' pages forbid fetch (CSP connect-src 'none'); the
		// test downloads in the page, so it bypasses the policy.
		q.Do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true})
			return err
		}))
		return q
	}
	p := browser() // Anna's
	has := func(p *idptest.Page, where string, wants ...string) {
		t.Helper()
		body := p.Text("main")
		for _, w := range wants {
			if !strings.Contains(body, w) {
				t.Errorf("%s lacks %q:\n%.1500s", where, w, body)
			}
		}
	}
	register := func(p *idptest.Page, given, family, email string) {
		t.Helper()
		registerAccount(t, p, idpURL, given, family, email, pw) // a11y_test.go
	}
	// loginAt opens a service page and logs in on the IdP's login page. It
	// returns once the login page is gone: a WaitURL for the IdP's origin
	// alone would match the login page itself, and the next navigation
	// would race the login's redirect.
	loginAt := func(p *idptest.Page, start, email string) {
		t.Helper()
		p.Do(chromedp.Navigate(start), chromedp.WaitVisible(css(`#password`)),
			chromedp.SendKeys(css(`#email`), email), chromedp.SendKeys(css(`#password`), pw),
			chromedp.Submit(css(`#password`)), chromedp.WaitNotPresent(css(`#password`)))
	}
	next := func() { p.Do(chromedp.Click(css(`button[value="continue"]`))) }
	// order fills "Wohnsitzbestätigung bestellen" from its start page and
	// pays with TWINT on the fake Datatrans; it returns the confirmation.
	order := func(given, family, birth, street, postalCode, locality string) string {
		t.Helper()
		p.Do(chromedp.WaitVisible(css(`main form button`)), chromedp.Click(css(`main form button`)))
		p.WaitURL(formsURL + "/drafts/")
		p.Do(chromedp.WaitVisible(css(`#f-geburtsdatum`)),
			chromedp.SetValue(css(`#f-vorname`), given), chromedp.SetValue(css(`#f-nachname`), family),
			chromedp.SetValue(css(`#f-geburtsdatum`), birth))
		next()
		p.Do(chromedp.WaitVisible(css(`#f-wohnadresse-street`)),
			chromedp.SetValue(css(`#f-wohnadresse-street`), street),
			chromedp.SetValue(css(`#f-wohnadresse-postal_code`), postalCode),
			chromedp.SetValue(css(`#f-wohnadresse-locality`), locality),
			chromedp.SetValue(css(`#f-zweck`), "arbeitgeber"))
		next()
		p.Do(chromedp.WaitVisible(css(`#f-declaration`)), chromedp.Click(css(`#f-declaration`)),
			chromedp.Click(css(`main form button.primary`)), chromedp.WaitVisible(css(`#m-TWI`)),
			chromedp.Click(css(`#m-TWI`)), chromedp.Click(css(`button[value="success"]`)))
		p.WaitURL(formsURL + "/submissions/")
		p.Do(chromedp.WaitVisible(css(`.panel`)))
		return p.Text("main")
	}
	refRE := regexp.MustCompile(`\b\d{4}-\d{6}-\d\b`)
	// caseIn waits until "Meine Vorgänge" lists a case with title and
	// returns its reference number.
	caseIn := func(p *idptest.Page, title string) string {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			p.Do(chromedp.Navigate(statusURL+"/"), chromedp.WaitVisible(css(`main`)))
			if body := p.Text("main"); strings.Contains(body, title) {
				if ref := refRE.FindString(body); ref != "" {
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
	step("register, activate, log in")
	register(p, "Anna", "Muster", anna)
	loginAt(p, statusURL+"/", anna)
	p.WaitURL(statusURL + "/")
	has(p, "Meine Vorgänge", "Anna Muster")

	// 2. "Formulare" → "Wohnsitzbestätigung bestellen", pay with TWINT.
	step("order and pay")
	p.Do(chromedp.Click(css(`nav a[href^="` + formsURL + `"]`)))
	p.WaitURL(formsURL + "/")
	p.Do(chromedp.WaitVisible(css(`a[href="/forms/wohnsitzbestaetigung"]`)))
	has(p, "Formulare", "Wohnsitzbestätigung bestellen")
	p.Do(chromedp.Click(css(`a[href="/forms/wohnsitzbestaetigung"]`)))
	confirmation := order("Anna", "Muster", "17.05.1990", "Bärenplatz 1", "3011", "Bern")
	for _, want := range []string{"Bezahlt: CHF 20.00", "Wohnsitzbestätigung"} {
		if !strings.Contains(confirmation, want) {
			t.Errorf("confirmation lacks %q:\n%s", want, confirmation)
		}
	}

	// 3. The case in "Meine Vorgänge".
	step("case in Meine Vorgänge")
	ref := caseIn(p, "Wohnsitzbestätigung")
	p.Do(chromedp.Click(css(`main .items a`)), chromedp.WaitVisible(css(`main h1`)))
	has(p, "the case", ref, "Eingereicht")

	// 4. The back office: in Bearbeitung, then abgeschlossen / gutgeheissen.
	step("back office")
	backoffice := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		args = append([]string{"cases", "set-status", ref, "-issuer", idpURL, "-status-url", statusURL, "-documents-url", documentsURL}, args...)
		if err := runBackoffice(t.Context(), args, &out); err != nil {
			t.Fatalf("kundencenter backoffice %s: %v\n%s", strings.Join(args, " "), err, out.String())
		}
		return out.String()
	}
	if out := backoffice("-status", "in-bearbeitung"); !strings.Contains(out, ref+" is now in-bearbeitung") {
		t.Fatalf("set-status in-bearbeitung: %s", out)
	}
	p.Do(chromedp.Reload(), chromedp.WaitVisible(css(`main h1`)))
	has(p, "the case in progress", "In Bearbeitung")
	mail := mailWithSubject(t, p.Ctx, idpURL, anna, "Der Status Ihres Vorgangs")
	if !strings.Contains(mail, "Der Status Ihres Vorgangs hat sich geändert.") || !strings.Contains(mail, statusURL) ||
		strings.Contains(mail, "Wohnsitz") || strings.Contains(mail, "Bearbeitung") {
		t.Errorf("status mail is not general:\n%s", mail)
	}
	out := backoffice("-status", "abgeschlossen", "-outcome", "gutgeheissen", "-given-name", "Anna", "-family-name", "Muster",
		"-birth-date", "1990-05-17", "-address", "Bärenplatz 1, 3011 Bern", "-since", "2020-04-01")
	m := regexp.MustCompile(`certificate delivered: \S+ \(SHA-256 ([0-9a-f]{64})\)`).FindStringSubmatch(out)
	if !strings.Contains(out, "is now abgeschlossen: gutgeheissen") || m == nil {
		t.Fatalf("set-status abgeschlossen:\n%s", out)
	}
	apiSHA := m[1]
	p.Do(chromedp.Reload(), chromedp.WaitVisible(css(`main h1`)))
	has(p, "the closed case", "Abgeschlossen", "gutgeheissen")

	// 5. "Meine Dokumente": the sealed certificate; download it.
	step("Meine Dokumente")
	p.Do(chromedp.Click(css(`nav a[href^="` + documentsURL + `"]`)))
	p.WaitURL(documentsURL + "/")
	p.Do(chromedp.WaitVisible(css(`.items a`)))
	has(p, "Meine Dokumente", "Wohnsitzbestätigung", ref)
	p.Do(chromedp.Click(css(`.items a`)), chromedp.WaitVisible(css(`#sha256`)))
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

	// 6. Verify it on the public page (no login needed) and with pdfsig.
	step("verify")
	p.Do(chromedp.Navigate(documentsURL+"/pruefen"), chromedp.WaitVisible(css(`#file`)),
		chromedp.SetUploadFiles(css(`#file`), []string{file}), chromedp.Click(css(`#verify`)),
		chromedp.WaitVisible(css(`#verdict`)))
	if v := p.Attr("#verdict", "data-valid"); v != "true" {
		t.Fatalf("verification page: valid=%s\n%s", v, p.Text("main"))
	}
	has(p, "verification", "Siegel gültig")
	if s := p.Text("#onrecord"); !strings.HasPrefix(s, "Ja, am") {
		t.Errorf("issued by this portal: %q", s)
	}
	if out, _ := exec.Command(pdfsig, file).CombinedOutput(); !strings.Contains(string(out), "Signature is Valid.") {
		t.Errorf("pdfsig does not agree:\n%s", out)
	}

	// 7. Beat lets Anna represent him for the forms service.
	step("representation")
	b := browser() // Beat's
	register(b, "Beat", "Beispiel", beat)
	loginAt(b, idpURL+"/login", beat)
	b.WaitURL(idpURL + "/")
	b.Do(chromedp.Navigate(idpURL+"/representations/new"), chromedp.WaitVisible(css(`input[value="forms"]`)),
		chromedp.Click(css(`input[value="forms"]`)), chromedp.Submit(css(`input[value="forms"]`)),
		chromedp.WaitVisible(css(`#access-code`)))
	code := strings.TrimSpace(b.Text(`#access-code`))
	// Anna enters the code and accepts.
	p = browser()
	loginAt(p, idpURL+"/login", anna)
	p.WaitURL(idpURL + "/")
	p.Do(chromedp.Navigate(idpURL+"/representations/enter"), chromedp.WaitVisible(css(`#code`)),
		chromedp.SendKeys(css(`#code`), code), chromedp.Submit(css(`#code`)),
		chromedp.WaitVisible(css(`form[action="/representations/accept"]`)))
	has(p, "representation preview", "Beat Beispiel")
	p.Do(chromedp.Submit(css(`form[action="/representations/accept"] button`)), chromedp.WaitVisible(css(`.notice`)))
	// Beat confirms after seeing Anna's name.
	b = browser()
	loginAt(b, idpURL+"/login", beat)
	b.WaitURL(idpURL + "/")
	b.Do(chromedp.Navigate(idpURL+"/representations"), chromedp.WaitVisible(css(`main li a`)),
		chromedp.Click(css(`main li a`)), chromedp.WaitVisible(css(`#confirm`)))
	has(b, "confirm the representation", "Anna Muster")
	b.Do(chromedp.Click(css(`#confirm`)), chromedp.WaitVisible(css(`.notice`)))
	has(b, "representation", "Die Vertretung ist jetzt aktiv.")

	// 8. Anna logs in to the forms service acting for Beat and orders a
	// certificate for him.
	step("acting for Beat")
	p = browser()
	loginAt(p, formsURL+"/", anna)
	p.Do(chromedp.WaitVisible(css(`input[name="acting"][value^="person:"]`)))
	has(p, "Für wen handeln Sie?", "Beat Beispiel")
	p.Do(chromedp.Click(css(`input[name="acting"][value^="person:"]`)), chromedp.Submit(css(`input[name="acting"]`)))
	p.WaitURL(formsURL + "/")
	// The callback's redirect may still be under way: wait for the page
	// of the forms service that names Beat, then check it.
	waitMainOf(t, p, formsURL, "Beat Beispiel")
	has(p, "Formulare acting for Beat", "Beat Beispiel")
	p.Do(chromedp.Navigate(formsURL + "/forms/wohnsitzbestaetigung"))
	order("Beat", "Beispiel", "02.03.1985", "Marktgasse 5", "3011", "Bern")
	// Anna's own "Meine Vorgänge" does not list it.
	p.Do(chromedp.Navigate(statusURL+"/"), chromedp.WaitVisible(css(`main`)))
	annas := p.Text("main")

	// 9. The case is in Beat's "Meine Vorgänge" (and not in Anna's own).
	step("Beat's Meine Vorgänge")
	b = browser()
	loginAt(b, statusURL+"/", beat)
	b.WaitURL(statusURL + "/")
	beatRef := caseIn(b, "Wohnsitzbestätigung")
	if beatRef == ref {
		t.Fatalf("Beat sees Anna's case %s", ref)
	}
	if strings.Contains(annas, beatRef) || !strings.Contains(annas, ref) {
		t.Errorf("Anna's own list (her case %s, not Beat's %s):\n%s", ref, beatRef, annas)
	}

	// 10. Beat's representation timeline at the IdP says what Anna sent
	// for him (the form service's action receipt, a job: poll briefly).
	step("Beat's timeline")
	var timeline string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		b.Do(chromedp.Navigate(idpURL+"/representations"), chromedp.WaitVisible(css(`main li a`)),
			chromedp.Click(css(`main li a`)), chromedp.WaitVisible(css(`#timeline`)))
		if timeline = b.Text("#timeline"); strings.Contains(timeline, "gesendet ("+beatRef+")") {
			break
		}
	}
	if !strings.Contains(timeline, "gesendet ("+beatRef+")") {
		t.Errorf("Beat's timeline lacks the sending of %s:\n%s", beatRef, timeline)
	}
	step("done")
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
