package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kanton/kundencenter/idp/idptest"
)

// TestOrgsEndToEnd drives the organisation pages in headless Chromium with
// two users: Anna creates an organisation (after a validation error),
// invites Beat by Konto-ID, Beat accepts under "Organisationen", Anna
// assigns him a service and reads the history. Every page is audited with
// axe-core (WCAG 2.1 AA).
func TestOrgsEndToEnd(t *testing.T) {
	t.Parallel()
	e := startOrgs(t)
	e.CreateAccount(t, "Anna", "Muster", "anna@example.ch", pw)
	beat := e.CreateAccount(t, "Beat", "Geheim", "beat.geheim@example.ch", pw)
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
		p.Do(chromedp.WaitVisible(css(`a[href="/orgs"]`)))
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

	// 1. Anna creates an organisation; a wrong UID is refused first.
	login("anna@example.ch")
	audit("account with link")
	p.Do(chromedp.Click(css(`a[href="/orgs"]`)), chromedp.WaitVisible(css(`a[href="/orgs/new"]`)))
	audit("organisations (empty)")
	p.Do(chromedp.Click(css(`a[href="/orgs/new"]`)), chromedp.WaitVisible(css(`#name`)))
	audit("new organisation")
	p.Do(chromedp.SendKeys(css(`#name`), "Muster AG"),
		chromedp.SendKeys(css(`#uid`), "CHE-116.281.711"),
		chromedp.SendKeys(css(`#street_0`), "Bahnhofstrasse 1"),
		chromedp.SendKeys(css(`#postal_code_0`), "5000"),
		chromedp.SendKeys(css(`#town_0`), "Aarau"),
		chromedp.Submit(css(`#name`)),
		chromedp.WaitVisible(css(`.error-summary`)))
	has("form with errors", "Bitte geben Sie eine gültige UID ein")
	if v := p.Value(`#town_0`); v != "Aarau" {
		t.Errorf("entered town lost after an error: %q", v)
	}
	audit("new organisation with errors")
	p.Do(chromedp.Clear(css(`#uid`)), chromedp.SendKeys(css(`#uid`), "CHE-116.281.710"),
		chromedp.Submit(css(`#name`)))
	p.Do(chromedp.WaitVisible(css(`#konto_id`)))
	orgURL, done := strings.CutSuffix(p.WaitURL(e.URL+"/orgs/"), "?done=created")
	if !done {
		t.Fatalf("after creating: %s", orgURL)
	}
	has("organisation", "Muster AG", "Die Organisation wurde angelegt.", "CHE-116.281.710")
	audit("organisation (admin)")

	// 2. Invite Beat by Konto-ID: Anna sees the Konto-ID, never his address.
	p.Do(chromedp.SendKeys(css(`#konto_id`), beat.KontoID), chromedp.Submit(css(`#konto_id`)))
	p.WaitURL(orgURL + "?done=invited")
	p.Do(chromedp.WaitVisible(css(`.notice`)))
	has("organisation after inviting", beat.KontoID, "Offene Einladungen")
	if strings.Contains(p.Text("body"), "geheim") {
		t.Error("the inviter sees the invitee's e-mail address")
	}
	audit("organisation with a pending invitation")
	logout()

	// 3. Beat accepts under "Organisationen".
	login("beat.geheim@example.ch")
	p.Do(chromedp.Navigate(e.URL+"/orgs"), chromedp.WaitVisible(css(`button[value="accept"]`)))
	has("Beat's organisations", "Muster AG lädt Sie ein als Mitglied")
	audit("organisations with an invitation")
	p.Do(chromedp.Click(css(`button[value="accept"]`)))
	p.WaitURL(orgURL + "?done=accepted")
	p.Do(chromedp.WaitVisible(css(`.notice`)))
	has("organisation (member)", "Sie sind jetzt Mitglied dieser Organisation.", "Ihnen wurden noch keine Dienstleistungen zugewiesen.")
	audit("organisation (member)")
	logout()

	// 4. Anna assigns Beat the forms service and reads the history.
	login("anna@example.ch")
	p.Do(chromedp.Navigate(orgURL), chromedp.WaitVisible(css(`#svc_1_1`)))
	if id := p.Attr(`#svc_1_1`, "value"); id != "forms" {
		t.Fatalf("second service checkbox of the second member is %q", id)
	}
	p.Do(chromedp.Click(css(`#svc_1_1`)), chromedp.Submit(css(`#svc_1_1`)))
	p.WaitURL(orgURL + "?done=services")
	p.Do(chromedp.WaitVisible(css(`.notice`)))
	d, err := e.Orgs.MayAct(t.Context(), beat.ID, strings.TrimPrefix(orgURL, e.URL+"/orgs/"), "forms")
	if err != nil || !d.Allowed {
		t.Fatalf("MayAct after the assignment in the browser = %+v, %v", d, err)
	}
	p.Do(chromedp.Click(css(`a[href$="/history"]`)), chromedp.WaitVisible(css(`ol`)))
	has("history", "hat die Organisation angelegt", "hat eingeladen", beat.KontoID, "Beat Geheim: hat die Einladung angenommen",
		"hat eine Dienstleistung zugewiesen")
	audit("history")
	// The phone viewport gets the same pages without violations.
	p.Do(chromedp.EmulateViewport(390, 844), chromedp.Navigate(orgURL), chromedp.WaitVisible(css(`#konto_id`)))
	audit("organisation on a phone")
}
