package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kanton/kundencenter/idp/idptest"
)

// freePorts finds a base port with base..base+3 free (IdP + three services).
func freePorts(t *testing.T) int {
	t.Helper()
	for range 50 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		base := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if base > 65000 {
			continue
		}
		ok := true
		for i := 1; i <= 3; i++ {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+i))
			if err != nil {
				ok = false
				break
			}
			l.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatal("no four consecutive free ports")
	return 0
}

// startServe runs `kundencenter serve` in-process (the same code path as the
// README's run command) on free ports and a temporary data folder.
func startServe(t *testing.T) (idp, forms, status, documents string) {
	t.Helper()
	return startServeIn(t, filepath.Join(t.TempDir(), "data"))
}

// startServeIn is startServe with the data folder dataDir.
func startServeIn(t *testing.T, dataDir string) (idp, forms, status, documents string) {
	t.Helper()
	base := freePorts(t)
	cfg := loadConfig()
	cfg.Issuer = "http://localhost:8080" // replaced by serve with the port below
	cfg.DataDir = dataDir
	cfg.SMTPURL, cfg.DatabaseURL, cfg.RedisURL, cfg.Keyring, cfg.TokenKey, cfg.CSRFKey, cfg.CookieKey = "", "", "", "", "", "", ""
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	go func() { done <- runServe(ctx, cfg, log, []string{"-port", fmt.Sprint(base)}) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("serve did not stop")
		}
	})
	u := func(i int) string { return fmt.Sprintf("http://localhost:%d", base+i) }
	for _, svc := range []string{u(0), u(1), u(2), u(3)} {
		deadline := time.Now().Add(30 * time.Second)
		for {
			resp, err := http.Get(svc + "/healthz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
			}
			select {
			case err := <-done:
				t.Fatalf("serve stopped: %v", err)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not ready: %v", svc, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return u(0), u(1), u(2), u(3)
}

// latestMailLink opens the dev outbox, the newest mail to addr, and returns
// the first link containing want, and the mail's text.
func latestMailLink(t *testing.T, p *idptest.Page, idpURL, addr, want string) (link, body string) {
	t.Helper()
	// The rows are newest first; other people's mail (a status mail that
	// is still on its way, say) may arrive after addr's, so the row is
	// chosen by its recipient, never by its place.
	find := `(() => {
		const hrefs = [];
		for (const tr of document.querySelectorAll("table tbody tr")) {
			const td = tr.querySelectorAll("td");
			if (td.length > 2 && td[1].textContent.trim() === ` + jsString(addr) + `) hrefs.push(td[2].querySelector("a").href);
		}
		return hrefs;
	})()`
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		p.Do(chromedp.Navigate(idpURL+"/dev/outbox"), chromedp.WaitVisible(chromedp.CSS(`main`)))
		hrefs, err := chromedp.Run(p.Ctx, chromedp.Evaluate[[]string](find))
		if err != nil {
			t.Fatal(err)
		}
		for _, href := range hrefs { // newest first
			p.Do(chromedp.Navigate(href), chromedp.WaitVisible(chromedp.CSS(`pre`)))
			body = p.Text("pre")
			if strings.Contains(body, want) {
				return p.Attr(fmt.Sprintf(`pre a[href*=%q]`, want), "href"), body
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("no mail to %s with a %q link in the dev outbox", addr, want)
	return "", ""
}

// TestEndToEnd walks the foundation's user story in real headless Chromium
// against the real `serve` wiring: register, activation mail in the dev
// outbox, activate, log in, greeted by the status service, SSO into the forms
// service, logout that ends the IdP session, and "Passwort vergessen". Every
// IdP page on the way is audited with axe-core (WCAG 2.1 AA).
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	idpURL, formsURL, statusURL, _ := startServe(t)
	ctx, cancel := idptest.Chromium(t)
	defer cancel()
	p := &idptest.Page{T: t, Ctx: ctx}
	const email = "anna.muster@example.ch"
	const password = "Sonnenblume-Aare-42"
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	audit := p.Audit

	// 1. The status service sends an anonymous visitor to the IdP's login page.
	p.Do(chromedp.Navigate(statusURL+"/"), chromedp.WaitVisible(css(`#email`)))
	if loc := p.Location(); !strings.HasPrefix(loc, idpURL+"/login?authRequestID=") {
		t.Fatalf("not on the IdP login page: %s", loc)
	}
	audit("login")

	// 2. Register: a weak password is refused with a message per missing element.
	p.Do(chromedp.Click(css(`a[href^="/register"]`)), chromedp.WaitVisible(css(`#given_name`)),
		chromedp.SendKeys(css(`#given_name`), "Anna"),
		chromedp.SendKeys(css(`#family_name`), "Muster"),
		chromedp.SendKeys(css(`#email`), email),
		chromedp.SendKeys(css(`#password`), "kurz"),
		chromedp.SendKeys(css(`#password_repeat`), "kurz"),
		chromedp.Submit(css(`#password`)),
		chromedp.WaitVisible(css(`[aria-invalid="true"]`)))
	body := p.Text("body")
	for _, want := range []string{"12 Zeichen", "Grossbuchstaben", "Ziffer"} {
		if !strings.Contains(body, want) {
			t.Errorf("register error page lacks %q:\n%.2000s", want, body)
		}
	}
	if given := p.Value(`#given_name`); given != "Anna" {
		t.Errorf("entered name lost after an error: %q", given)
	}
	audit("register with errors")
	p.Do(chromedp.SendKeys(css(`#password`), password),
		chromedp.SendKeys(css(`#password_repeat`), password),
		chromedp.Submit(css(`#password`)),
		chromedp.WaitNotPresent(css(`#password`)))
	audit("register done")

	// 3. The activation mail in the dev outbox carries the link and the Konto-ID.
	link, mail := latestMailLink(t, p, idpURL, email, "/activate?token=")
	if !strings.Contains(mail, "Konto-ID") {
		t.Fatalf("activation mail without Konto-ID:\n%s", mail)
	}

	// 4. Activate, log in, land on the status service greeted by name.
	// The link only shows the confirmation button (a mail scanner that
	// follows it activates nothing).
	p.Do(chromedp.Navigate(link), chromedp.WaitVisible(css(`form[action="/activate"] button`)))
	audit("activation")
	p.Do(chromedp.Click(css(`form[action="/activate"] button`)), chromedp.WaitVisible(css(`main a[href^="/login"]`)))
	audit("activation done")
	p.Do(chromedp.Click(css(`main a[href^="/login"]`)), chromedp.WaitVisible(css(`#password`)),
		chromedp.SendKeys(css(`#email`), email),
		chromedp.SendKeys(css(`#password`), password),
		chromedp.Submit(css(`#password`)))
	p.WaitURL(statusURL + "/")
	p.Do(chromedp.WaitVisible(css(`main`)))
	if body := p.Text("body"); !strings.Contains(body, "Anna Muster") {
		t.Fatalf("status service does not greet by name:\n%.1500s", body)
	}
	audit("status service")

	// SSO: the forms service logs in without a password.
	p.Do(chromedp.Navigate(formsURL + "/"))
	p.WaitURL(formsURL + "/")
	p.Do(chromedp.WaitVisible(css(`main`)))
	if body := p.Text("body"); !strings.Contains(body, "Anna Muster") {
		t.Fatalf("no SSO into the forms service:\n%.1000s", body)
	}

	// Logout at the status service ends the IdP session too.
	p.Do(chromedp.Navigate(statusURL+"/"), chromedp.WaitVisible(css(`form[action="/logout"] button`)),
		chromedp.Click(css(`form[action="/logout"] button`)))
	p.WaitURL(statusURL + "/logged-out")
	p.Do(chromedp.Navigate(statusURL+"/"), chromedp.WaitVisible(css(`#password`)))
	if loc := p.Location(); !strings.HasPrefix(loc, idpURL+"/login") {
		t.Fatalf("IdP session survived logout: %s", loc)
	}

	// 5. Passwort vergessen: same answer for a known and an unknown address.
	answer := func(addr string) string {
		p.Do(chromedp.Navigate(idpURL+"/reset"), chromedp.WaitVisible(css(`#email`)),
			chromedp.SendKeys(css(`#email`), addr), chromedp.Submit(css(`#email`)),
			chromedp.WaitNotPresent(css(`#email`)))
		return strings.ReplaceAll(p.Text("main"), addr, "ADDRESS")
	}
	if known, unknown := answer(email), answer("niemand@example.ch"); known != unknown {
		t.Fatalf("reset answers differ:\n%s\n---\n%s", known, unknown)
	}
	audit("reset requested")
	resetLink, _ := latestMailLink(t, p, idpURL, email, "/reset/confirm?token=")
	const newPassword = "Neues-Passwort-Rhein-77"
	p.Do(chromedp.Navigate(resetLink), chromedp.WaitVisible(css(`#password`)))
	audit("reset form")
	p.Do(chromedp.SendKeys(css(`#password`), newPassword),
		chromedp.SendKeys(css(`#password_repeat`), newPassword),
		chromedp.Submit(css(`#password`)), chromedp.WaitNotPresent(css(`#password`)))
	// The link is single-use.
	p.Do(chromedp.Navigate(resetLink), chromedp.WaitVisible(css(`#password`)),
		chromedp.SendKeys(css(`#password`), "Noch-ein-Passwort-Reuss-88"),
		chromedp.SendKeys(css(`#password_repeat`), "Noch-ein-Passwort-Reuss-88"),
		chromedp.Submit(css(`#password`)), chromedp.WaitVisible(css(`[role="alert"]`)))
	// The old password no longer works; the new one does.
	login := func(pw string) {
		p.Do(chromedp.Navigate(statusURL+"/"), chromedp.WaitVisible(css(`#password`)),
			chromedp.SendKeys(css(`#email`), email), chromedp.SendKeys(css(`#password`), pw),
			chromedp.Submit(css(`#password`)))
	}
	login(password)
	p.Do(chromedp.WaitVisible(css(`[role="alert"]`)))
	if loc := p.Location(); !strings.HasPrefix(loc, idpURL) || !strings.Contains(p.Text("main"), "Passwort ist falsch") {
		t.Fatalf("old password after reset: at %s", loc)
	}
	login(newPassword)
	p.WaitURL(statusURL + "/")
	p.Do(chromedp.WaitVisible(css(`main`)))
	if b := p.Text("body"); !strings.Contains(b, "Anna Muster") {
		t.Fatalf("new password:\n%.800s", b)
	}

	// 6. Second factor in embedded mode: the SMS codes land in the dev
	// outbox next to the e-mails (read in a second tab). Enrol a number,
	// switch on two-factor login, and log in again with the code.
	p.Do(chromedp.Navigate(idpURL+"/security"), chromedp.WaitVisible(css(`#phone`)))
	audit("security")
	p.Do(chromedp.SendKeys(css(`#phone`), "079 123 45 67"), chromedp.Submit(css(`#phone`)),
		chromedp.WaitVisible(css(`#code`)))
	audit("confirm number")
	p.Do(chromedp.SendKeys(css(`#code`), latestSMSCode(t, p, idpURL)), chromedp.Submit(css(`#code`)))
	p.WaitURL(idpURL + "/security?done=phone_added")
	p.Do(chromedp.Click(css(`form[action="/security/mfa"] button`)))
	// Without recovery codes, turning it on shows ten at once (issue 14).
	p.Do(chromedp.WaitVisible(css(`a[href="/security?done=mfa_on"]`)))
	audit("recovery codes after turning on two-factor login")
	p.Do(chromedp.Click(css(`a[href="/security?done=mfa_on"]`)))
	p.WaitURL(idpURL + "/security?done=mfa_on")
	p.Do(chromedp.Navigate(statusURL+"/"), chromedp.WaitVisible(css(`form[action="/logout"] button`)),
		chromedp.Click(css(`form[action="/logout"] button`)))
	p.WaitURL(statusURL + "/logged-out")
	login(newPassword)
	p.WaitURL(idpURL + "/login/mfa")
	audit("second factor")
	p.Do(chromedp.Click(css(`form[action="/login/mfa/sms"] button`)), chromedp.WaitVisible(css(`#code`)))
	p.Do(chromedp.SendKeys(css(`#code`), latestSMSCode(t, p, idpURL)), chromedp.Submit(css(`#code`)))
	p.WaitURL(statusURL + "/")
	p.Do(chromedp.WaitVisible(css(`main`)))
	if b := p.Text("body"); !strings.Contains(b, "Anna Muster") {
		t.Fatalf("login with SMS code:\n%.800s", b)
	}
}

// latestSMSCode reads the code of the newest SMS in the dev outbox, in a
// second tab so that the page in the first keeps its state.
func latestSMSCode(t *testing.T, p *idptest.Page, idpURL string) string {
	t.Helper()
	tab, cancel := chromedp.NewContext(p.Ctx)
	defer cancel()
	q := &idptest.Page{T: t, Ctx: tab}
	q.Do(chromedp.Navigate(idpURL+"/dev/outbox"), chromedp.WaitVisible(chromedp.CSS(`table`)),
		chromedp.Click(chromedp.CSS(`table tbody tr:first-child a`)), chromedp.WaitVisible(chromedp.CSS(`pre`)))
	m := regexp.MustCompile(`\b(\d{6})\b`).FindStringSubmatch(q.Text("pre"))
	if m == nil {
		t.Fatalf("newest dev-outbox message has no code: %q", q.Text("pre"))
	}
	return m[1]
}

// TestPhoneViewport renders the IdP's pages and a service page at phone
// size: no horizontal scrolling, touch targets at least 44 px high, no
// accessibility violations, in all four languages for the login page.
func TestPhoneViewport(t *testing.T) {
	t.Parallel()
	idpURL, _, statusURL, _ := startServe(t)
	ctx, cancel := idptest.Chromium(t)
	defer cancel()
	p := &idptest.Page{T: t, Ctx: ctx}
	p.Do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(3)))
	pages := []string{statusURL + "/", idpURL + "/register", idpURL + "/reset", idpURL + "/login?lang=fr",
		idpURL + "/login?lang=it", idpURL + "/login?lang=en"}
	for _, u := range pages {
		p.Do(chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS(`main`)))
		overflow, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
		if err != nil {
			t.Fatal(err)
		}
		if overflow {
			t.Errorf("%s scrolls sideways on a phone", u)
		}
		small, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('main button, main input:not([type=hidden])')]
			.filter(e => e.getBoundingClientRect().height < 44).map(e => e.outerHTML.slice(0, 80))`))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range small {
			t.Errorf("%s: touch target lower than 44 px: %s", u, s)
		}
		vs, err := idptest.Axe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vs {
			t.Errorf("accessibility on %s: %s", u, v)
		}
	}
}
