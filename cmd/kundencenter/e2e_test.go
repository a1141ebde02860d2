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
	base := freePorts(t)
	cfg := loadConfig()
	cfg.Issuer = "http://localhost:8080" // replaced by serve with the port below
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
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

func text(sel string, out *string) chromedp.Action { return chromedp.Text(sel, out, chromedp.ByQuery) }

// latestMailLink opens the dev outbox, the newest mail to addr, and returns
// the first link containing want.
func latestMailLink(t *testing.T, ctx context.Context, idpURL, addr, want string) (link, body string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		var rows string
		if err := chromedp.Run(ctx, chromedp.Navigate(idpURL+"/dev/outbox"), text("body", &rows)); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(rows, addr) {
			var href string
			err := chromedp.Run(ctx,
				chromedp.Click(`table tbody tr:first-child a`, chromedp.ByQuery),
				chromedp.WaitVisible(`pre`, chromedp.ByQuery),
				text("pre", &body),
				chromedp.AttributeValue(fmt.Sprintf(`pre a[href*=%q]`, want), "href", &href, nil, chromedp.ByQuery))
			if err != nil {
				t.Fatal(err)
			}
			if href != "" {
				return href, body
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
// service, logout that ends the IdP session, and "Passwort vergessen".
func TestEndToEnd(t *testing.T) {
	idpURL, formsURL, statusURL, _ := startServe(t)
	ctx, cancel := idptest.Chromium(t)
	defer cancel()
	const email = "anna.muster@example.ch"
	const password = "Sonnenblume-Aare-42"
	run := func(actions ...chromedp.Action) {
		t.Helper()
		if err := chromedp.Run(ctx, actions...); err != nil {
			var loc, body string
			chromedp.Run(ctx, chromedp.Location(&loc), text("body", &body))
			t.Fatalf("%v\nat %s:\n%.1500s", err, loc, body)
		}
	}
	var loc, body string

	// 1. The status service sends an anonymous visitor to the IdP's login page.
	run(chromedp.Navigate(statusURL+"/"), chromedp.WaitVisible(`#email`, chromedp.ByQuery), chromedp.Location(&loc))
	if !strings.HasPrefix(loc, idpURL+"/login?authRequestID=") {
		t.Fatalf("not on the IdP login page: %s", loc)
	}

	// 2. Register: a weak password is refused with a message per missing element.
	run(chromedp.Click(`a[href^="/register"]`, chromedp.ByQuery), chromedp.WaitVisible(`#given_name`, chromedp.ByQuery),
		chromedp.SendKeys(`#given_name`, "Anna", chromedp.ByQuery),
		chromedp.SendKeys(`#family_name`, "Muster", chromedp.ByQuery),
		chromedp.SendKeys(`#email`, email, chromedp.ByQuery),
		chromedp.SendKeys(`#password`, "kurz", chromedp.ByQuery),
		chromedp.SendKeys(`#password_repeat`, "kurz", chromedp.ByQuery),
		chromedp.Submit(`#password`, chromedp.ByQuery),
		chromedp.WaitVisible(`[aria-invalid="true"]`, chromedp.ByQuery),
		text("body", &body))
	for _, want := range []string{"12 Zeichen", "Grossbuchstaben", "Ziffer"} {
		if !strings.Contains(body, want) {
			t.Errorf("register error page lacks %q:\n%.2000s", want, body)
		}
	}
	var given string
	run(chromedp.Value(`#given_name`, &given, chromedp.ByQuery))
	if given != "Anna" {
		t.Errorf("entered name lost after an error: %q", given)
	}
	run(chromedp.SendKeys(`#password`, password, chromedp.ByQuery),
		chromedp.SendKeys(`#password_repeat`, password, chromedp.ByQuery),
		chromedp.Submit(`#password`, chromedp.ByQuery),
		chromedp.WaitNotPresent(`#password`, chromedp.ByQuery), text("main", &body))

	// 3. The activation mail in the dev outbox carries the link and the Konto-ID.
	link, mail := latestMailLink(t, ctx, idpURL, email, "/activate?token=")
	if !strings.Contains(mail, "Konto-ID") {
		t.Fatalf("activation mail without Konto-ID:\n%s", mail)
	}

	// 4. Activate, log in, land on the status service greeted by name.
	run(chromedp.Navigate(link), chromedp.WaitVisible(`main`, chromedp.ByQuery), text("main", &body))
	if !strings.Contains(body, "-") {
		t.Fatalf("activation page: %s", body)
	}
	run(chromedp.Click(`main a[href^="/login"]`, chromedp.ByQuery), chromedp.WaitVisible(`#password`, chromedp.ByQuery),
		chromedp.SendKeys(`#email`, email, chromedp.ByQuery),
		chromedp.SendKeys(`#password`, password, chromedp.ByQuery),
		chromedp.Submit(`#password`, chromedp.ByQuery),
		chromedp.Sleep(500*time.Millisecond), chromedp.WaitReady(`body`, chromedp.ByQuery),
		chromedp.Location(&loc), text("body", &body))
	if !strings.HasPrefix(loc, statusURL) || !strings.Contains(body, "Anna Muster") {
		t.Fatalf("after login at %s:\n%.1500s", loc, body)
	}

	// SSO: the forms service logs in without a password.
	run(chromedp.Navigate(formsURL+"/"), chromedp.Sleep(500*time.Millisecond), chromedp.WaitReady(`body`, chromedp.ByQuery),
		chromedp.Location(&loc), text("body", &body))
	if !strings.HasPrefix(loc, formsURL) || !strings.Contains(body, "Anna Muster") {
		t.Fatalf("no SSO into the forms service: at %s:\n%.1000s", loc, body)
	}

	// Logout at the status service ends the IdP session too.
	run(chromedp.Navigate(statusURL+"/"), chromedp.WaitVisible(`form[action="/logout"] button`, chromedp.ByQuery),
		chromedp.Click(`form[action="/logout"] button`, chromedp.ByQuery),
		chromedp.Sleep(500*time.Millisecond), chromedp.WaitReady(`body`, chromedp.ByQuery), chromedp.Location(&loc))
	if !strings.HasPrefix(loc, statusURL+"/logged-out") {
		t.Fatalf("logout ended at %s", loc)
	}
	run(chromedp.Navigate(statusURL+"/"), chromedp.WaitVisible(`#password`, chromedp.ByQuery), chromedp.Location(&loc))
	if !strings.HasPrefix(loc, idpURL+"/login") {
		t.Fatalf("IdP session survived logout: %s", loc)
	}

	// 5. Passwort vergessen: same answer for a known and an unknown address.
	answer := func(addr string) string {
		var out string
		run(chromedp.Navigate(idpURL+"/reset"), chromedp.WaitVisible(`#email`, chromedp.ByQuery),
			chromedp.SendKeys(`#email`, addr, chromedp.ByQuery), chromedp.Submit(`#email`, chromedp.ByQuery),
			chromedp.WaitNotPresent(`#email`, chromedp.ByQuery), text("main", &out))
		return out
	}
	if known, unknown := answer(email), answer("niemand@example.ch"); known != unknown {
		t.Fatalf("reset answers differ:\n%s\n---\n%s", known, unknown)
	}
	resetLink, _ := latestMailLink(t, ctx, idpURL, email, "/reset/confirm?token=")
	const newPassword = "Neues-Passwort-Rhein-77"
	run(chromedp.Navigate(resetLink), chromedp.WaitVisible(`#password`, chromedp.ByQuery),
		chromedp.SendKeys(`#password`, newPassword, chromedp.ByQuery),
		chromedp.SendKeys(`#password_repeat`, newPassword, chromedp.ByQuery),
		chromedp.Submit(`#password`, chromedp.ByQuery), chromedp.WaitNotPresent(`#password`, chromedp.ByQuery))
	// The link is single-use.
	run(chromedp.Navigate(resetLink), chromedp.WaitVisible(`#password`, chromedp.ByQuery),
		chromedp.SendKeys(`#password`, "Noch-ein-Passwort-Reuss-88", chromedp.ByQuery),
		chromedp.SendKeys(`#password_repeat`, "Noch-ein-Passwort-Reuss-88", chromedp.ByQuery),
		chromedp.Submit(`#password`, chromedp.ByQuery), chromedp.WaitVisible(`[role="alert"]`, chromedp.ByQuery))
	// The old password no longer works; the new one does.
	login := func(pw string) (string, string) {
		var l, b string
		run(chromedp.Navigate(statusURL+"/"), chromedp.WaitVisible(`#password`, chromedp.ByQuery),
			chromedp.SendKeys(`#email`, email, chromedp.ByQuery), chromedp.SendKeys(`#password`, pw, chromedp.ByQuery),
			chromedp.Submit(`#password`, chromedp.ByQuery), chromedp.Sleep(500*time.Millisecond),
			chromedp.WaitReady(`body`, chromedp.ByQuery), chromedp.Location(&l), text("body", &b))
		return l, b
	}
	if l, _ := login(password); strings.HasPrefix(l, statusURL) {
		t.Fatal("old password still works after reset")
	}
	if l, b := login(newPassword); !strings.HasPrefix(l, statusURL) || !strings.Contains(b, "Anna Muster") {
		t.Fatalf("new password: at %s:\n%.800s", l, b)
	}
}
