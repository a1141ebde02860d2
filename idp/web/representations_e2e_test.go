package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kanton/kundencenter/idp/idptest"
)

// TestRepresentationsEndToEnd drives the handshake in headless Chromium
// with two users: Paula creates an access code for one service (after a
// validation error), Ruedi enters it in his own account and accepts,
// Paula confirms after seeing his name and Konto-ID — the representation
// is active — and then ends it. Every page is audited with axe-core.
func TestRepresentationsEndToEnd(t *testing.T) {
	t.Parallel()
	e := startOrgs(t)
	paula := e.CreateAccount(t, "Paula", "Prinzipal", "paula@example.ch", pw)
	ruedi := e.CreateAccount(t, "Ruedi", "Vertreter", "ruedi@example.ch", pw)
	ctx, cancel := idptest.Chromium(t)
	defer cancel()
	p := &idptest.Page{T: t, Ctx: ctx}
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	audit := p.Audit
	login := func(email string) {
		t.Helper()
		p.Do(chromedp.Navigate(e.URL+"/login"), chromedp.WaitVisible(css(`#password`)),
			chromedp.SendKeys(css(`#email`), email),
			chromedp.SendKeys(css(`#password`), pw),
			chromedp.Submit(css(`#password`)))
		p.WaitURL(e.URL + "/")
		p.Do(chromedp.WaitVisible(css(`a[href="/representations"]`)))
	}
	logout := func() {
		t.Helper()
		p.Do(chromedp.Submit(css(`.header-logout button`)))
		p.WaitURL(e.URL + "/")
		p.Do(chromedp.WaitVisible(css(`main`)))
	}
	has := func(page string, wants ...string) {
		t.Helper()
		body := p.Text("main")
		for _, w := range wants {
			if !strings.Contains(body, w) {
				t.Errorf("%s lacks %q:\n%.1500s", page, w, body)
			}
		}
	}
	mayRepresent := func(want bool) {
		t.Helper()
		d, err := e.Orgs.MayRepresent(t.Context(), ruedi.ID, paula.ID, "forms")
		if err != nil || d.Allowed != want {
			t.Fatalf("MayRepresent = %+v, %v; want allowed %v", d, err, want)
		}
	}

	// 1. Paula creates a code for the forms service; none chosen is refused first.
	login("paula@example.ch")
	p.Do(chromedp.Click(css(`a[href="/representations"]`)), chromedp.WaitVisible(css(`a[href="/representations/new"]`)))
	has("representations (empty)", "Niemand vertritt Sie.")
	audit("representations (empty)")
	p.Do(chromedp.Click(css(`a[href="/representations/new"]`)), chromedp.WaitVisible(css(`#valid_until`)))
	audit("create code")
	p.Do(chromedp.Submit(css(`#valid_until`)), chromedp.WaitVisible(css(`.error-summary`)))
	has("create code with errors", "Bitte wählen Sie mindestens eine Dienstleistung.")
	audit("create code with errors")
	if id := p.Attr(`#svc_1`, "value"); id != "forms" {
		t.Fatalf("second service checkbox is %q", id)
	}
	p.Do(chromedp.Click(css(`#svc_1`)), chromedp.Submit(css(`#svc_1`)), chromedp.WaitVisible(css(`#access-code`)))
	code := strings.TrimSpace(p.Text(`#access-code`))
	if len(code) != 19 {
		t.Fatalf("access code %q", code)
	}
	has("code page", "Formulare", "nur jetzt angezeigt")
	audit("code page")
	p.Do(chromedp.Click(css(`main a[href^="/representations/"]`)), chromedp.WaitVisible(css(`#rep-state`)))
	repURL := p.Location()
	has("detail (created)", "Zugangscode erstellt", "hat den Zugangscode erstellt")
	audit("detail (created)")
	logout()

	// 2. Ruedi enters the code (in lower case, with spaces) and accepts.
	login("ruedi@example.ch")
	p.Do(chromedp.Navigate(e.URL+"/representations/enter"), chromedp.WaitVisible(css(`#code`)))
	audit("enter code")
	p.Do(chromedp.SendKeys(css(`#code`), "ZZZZ ZZZZ ZZZZ ZZZZ"), chromedp.Submit(css(`#code`)), chromedp.WaitVisible(css(`.error-summary`)))
	has("wrong code", "Dieser Zugangscode ist nicht gültig.")
	audit("wrong code")
	p.Do(chromedp.Clear(css(`#code`)), chromedp.SendKeys(css(`#code`), strings.ToLower(strings.ReplaceAll(code, "-", " "))),
		chromedp.Submit(css(`#code`)), chromedp.WaitVisible(css(`form[action="/representations/accept"]`)))
	has("preview", "Sie würden Paula Prinzipal vertreten.", "Formulare")
	audit("preview")
	p.Do(chromedp.Submit(css(`form[action="/representations/accept"] button`)))
	p.WaitURL(repURL + "?done=accepted")
	p.Do(chromedp.WaitVisible(css(`.notice`)))
	has("detail (accepted, R)", "Die vertretene Person muss die Vertretung noch bestätigen.", "Paula Prinzipal")
	audit("detail (accepted, R)")
	mayRepresent(false)
	logout()

	// 3. Paula sees Ruedi's name and Konto-ID and confirms: active.
	login("paula@example.ch")
	p.Do(chromedp.Navigate(e.URL+"/representations"), chromedp.WaitVisible(css(`main li a`)))
	has("list (to confirm)", "Ruedi Vertreter", "bitte bestätigen oder ablehnen")
	audit("list (to confirm)")
	p.Do(chromedp.Click(css(`main li a`)), chromedp.WaitVisible(css(`#confirm`)))
	has("confirm", "Ruedi Vertreter", ruedi.KontoID)
	audit("confirm")
	p.Do(chromedp.Click(css(`#confirm`)))
	p.WaitURL(repURL + "?done=confirmed")
	p.Do(chromedp.WaitVisible(css(`.notice`)))
	if s := p.Attr(`#rep-state`, "data-state"); s != "confirmed" {
		t.Fatalf("state after confirming: %q", s)
	}
	has("active", "Die Vertretung ist jetzt aktiv.", "Aktiv", "Sie: hat die Vertretung bestätigt")
	audit("active")
	mayRepresent(true)

	// 4. Paula ends it.
	p.Do(chromedp.Click(css(`#end`)))
	p.WaitURL(repURL + "?done=ended")
	p.Do(chromedp.WaitVisible(css(`.notice`)))
	if s := p.Attr(`#rep-state`, "data-state"); s != "revoked" {
		t.Fatalf("state after ending: %q", s)
	}
	has("ended", "Die Vertretung ist beendet.", "Sie: hat die Vertretung beendet")
	audit("ended")
	mayRepresent(false)
	// The phone viewport gets the same pages without violations.
	p.Do(chromedp.EmulateViewport(390, 844), chromedp.Navigate(e.URL+"/representations"), chromedp.WaitVisible(css(`main li a`)))
	audit("representations on a phone")
}
