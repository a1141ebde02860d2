package web_test

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kanton/kundencenter/idp/idptest"
)

// TestPortalPagesEndToEnd audits the portal's pages with axe-core (WCAG 2.1
// AA) in headless Chromium at 1280 and 390 px, and checks that a radio
// button sits beside its label with a large target.
func TestPortalPagesEndToEnd(t *testing.T) {
	t.Parallel()
	p := startPortal(t)
	ctx, cancel := idptest.Chromium(t)
	defer cancel()
	pg := &idptest.Page{T: t, Ctx: ctx}
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	pg.Do(chromedp.EmulateViewport(1280, 900), chromedp.Navigate(p.env.URL+"/login"), chromedp.WaitVisible(css(`#password`)),
		chromedp.SendKeys(css(`#email`), portalEmail), chromedp.SendKeys(css(`#password`), portalPassword),
		chromedp.Submit(css(`#password`)))
	pg.WaitURL(p.env.URL + "/")
	pages := []struct{ path, wait string }{
		{"/overview", `.main-nav`},
		{"/services", `#q`},
		{"/services?q=z%C3%BCgeln", `#results-title`},
		{"/services/steuererklaerung", `#enablement-title`},
		{"/contact", `#message`},
		{"/accessibility", `main h1`},
		{"/privacy", `main h1`},
		{"/imprint", `main h1`},
		{"/integration", `.guide h2`},
	}
	for _, w := range []int64{1280, 390} {
		pg.Do(chromedp.EmulateViewport(w, 844))
		for _, x := range pages {
			pg.Do(chromedp.Navigate(p.env.URL+x.path), chromedp.WaitVisible(css(x.wait)))
			pg.Audit(fmt.Sprintf("%s at %d px", x.path, w))
		}
		// The contact form with errors: the summary takes the focus.
		pg.Do(chromedp.Navigate(p.env.URL+"/contact"), chromedp.WaitVisible(css(`#message`)),
			chromedp.Clear(css(`#email`)), chromedp.Submit(css(`#message`)), chromedp.WaitVisible(css(`.error-summary`)))
		pg.Audit(fmt.Sprintf("contact with errors at %d px", w))
		focused, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.className`))
		if err != nil {
			t.Fatal(err)
		}
		if focused != "error-summary" {
			t.Errorf("at %d px the focus is on %q, want the error summary", w, focused)
		}
		// A radio button: at least 24 px, its label to its right on the same line.
		geo, err := chromedp.Run(ctx, chromedp.Evaluate[struct{ BoxW, BoxRight, LabelLeft, TopDiff float64 }](`(() => { const i = document.querySelector('#topic-0').getBoundingClientRect();
			const l = document.querySelector('label[for=topic-0]').getBoundingClientRect();
			return {BoxW: i.width, BoxRight: i.right, LabelLeft: l.left, TopDiff: Math.abs(l.top - i.top)}; })()`))
		if err != nil {
			t.Fatal(err)
		}
		if geo.BoxW < 24 || geo.LabelLeft < geo.BoxRight || geo.TopDiff > 12 {
			t.Errorf("at %d px the radio button is not beside its label with a large target: %+v", w, geo)
		}
	}
}
