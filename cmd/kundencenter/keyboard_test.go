package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/kanton/kundencenter/idp/idptest"
)

// focusStep is what one Tab press did.
type focusStep struct {
	Desc    string // the focused element's start tag
	Body    bool   // nothing focused (back at the document)
	Visible bool   // a focus indicator: an outline or a box shadow
	Ordered bool   // after the previously focused element in document order
	Match   bool   // matches the selector looked for
	InMain  bool
}

// TestKeyboardWalk walks with the keyboard alone in Chromium through the
// login (on the IdP, started at the forms service), a form and the
// overview (issue 14, WCAG 2.1 2.1.1, 2.4.1, 2.4.3, 2.4.7, 1.4.10, 3.1.1):
// the first Tab reaches the skip link and Enter puts the focus into main;
// every focused element shows a focus indicator and the focus moves in
// document order; after a failed submit the error summary has the focus;
// at 200 % zoom (640 CSS px) no page scrolls sideways; every page names
// its language.
func TestKeyboardWalk(t *testing.T) {
	t.Parallel()
	idpURL, formsURL, _, _ := startServe(t)
	ctx, cancel := idptest.Chromium(t)
	defer cancel()
	p := &idptest.Page{T: t, Ctx: ctx}
	const email, pw = "kim.tastatur@example.ch", "Sonnenblume-Aare-63"
	registerAccount(t, p, idpURL, "Kim", "Tastatur", email, pw)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	run := func(js string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js)); err != nil {
			t.Fatal(err)
		}
	}
	eval := func(js string) focusStep {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[focusStep](js))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// tab presses Tab and describes the newly focused element.
	tab := func(sel string) focusStep {
		t.Helper()
		p.Do(chromedp.KeyEvent("\t"))
		return eval(fmt.Sprintf(`(() => { const e = document.activeElement, cs = getComputedStyle(e);
			const prev = window.__kcPrev; window.__kcPrev = e;
			return {Desc: e.outerHTML.slice(0, e.outerHTML.indexOf('>') + 1).slice(0, 160), Body: e === document.body,
				Visible: (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0) || cs.boxShadow !== 'none',
				Ordered: !prev || !prev.isConnected || prev === document.body || !!(prev.compareDocumentPosition(e) & Node.DOCUMENT_POSITION_FOLLOWING),
				Match: %s !== '' && e.matches(%[1]s), InMain: !!e.closest('main')}; })()`, jsString(sel)))
	}
	// tabTo presses Tab until sel has the focus (if it has not already),
	// checking every stop.
	tabTo := func(where, sel string) {
		t.Helper()
		if eval(fmt.Sprintf(`({Match: document.activeElement.matches(%s)})`, jsString(sel))).Match {
			return // there already
		}
		for range 80 {
			s := tab(sel)
			if s.Body {
				t.Fatalf("%s: the focus left the page before reaching %s", where, sel)
			}
			if !s.Visible {
				t.Errorf("%s: no visible focus on %s", where, s.Desc)
			}
			if !s.Ordered {
				t.Errorf("%s: the focus jumped backwards to %s", where, s.Desc)
			}
			if s.Match {
				return
			}
		}
		t.Fatalf("%s: 80 Tab presses did not reach %s", where, sel)
	}
	// skipLink: the first Tab of a fresh page reaches the skip link, Enter
	// moves the focus into main, and the next Tab stays there.
	skipLink := func(where string) {
		t.Helper()
		run(`window.__kcPrev = null; document.activeElement.blur(); true`)
		if s := tab(`a.skip-link`); !s.Match || !s.Visible {
			t.Errorf("%s: the first Tab reached %s (visible focus %v), want the skip link", where, s.Desc, s.Visible)
		}
		p.Do(chromedp.KeyEvent("\r"))
		if id := eval(`({Desc: document.activeElement.id})`).Desc; id != "main" {
			t.Errorf("%s: after the skip link the focus is on %q, want main", where, id)
		}
		if s := tab(""); !s.InMain {
			t.Errorf("%s: the Tab after the skip link went to %s, outside main", where, s.Desc)
		}
	}
	lang := func(where, want string) {
		t.Helper()
		if got := p.Attr("html", "lang"); got != want {
			t.Errorf("%s: <html lang=%q>, want %q", where, got, want)
		}
	}
	typeInto := func(where, sel, text string) {
		t.Helper()
		tabTo(where, sel)
		p.Do(chromedp.KeyEvent(text))
	}
	summaryHasFocus := func(where string) {
		t.Helper()
		p.Do(chromedp.WaitVisible(css(`.error-summary`)))
		if ok := eval(`({Match: document.activeElement.classList.contains('error-summary')})`).Match; !ok {
			t.Errorf("%s: the error summary does not have the focus", where)
		}
	}
	noSideScroll := func(where string) {
		t.Helper()
		p.Do(chromedp.EmulateViewport(640, 900, chromedp.EmulateScale(2)))
		over, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > document.documentElement.clientWidth`))
		if err != nil {
			t.Fatal(err)
		}
		if over {
			t.Errorf("%s scrolls sideways at 200 %% zoom (640 CSS px)", where)
		}
		p.Do(chromedp.EmulateViewport(1280, 900))
	}

	// 1. The login, started at the forms service; a wrong password first.
	p.Do(chromedp.EmulateViewport(1280, 900), chromedp.Navigate(formsURL+"/"), chromedp.WaitVisible(css(`#password`)))
	lang("login", "de")
	noSideScroll("login")
	skipLink("login")
	typeInto("login", `#email`, email)
	typeInto("login", `#password`, "falsch-falsch-falsch")
	p.Do(chromedp.KeyEvent("\r"))
	summaryHasFocus("login with a wrong password")
	lang("login with errors", "de")
	run(`window.__kcPrev = null; document.getElementById('password').value = ''; true`)
	typeInto("login again", `#password`, pw)
	p.Do(chromedp.KeyEvent("\r"))
	p.WaitURL(formsURL + "/")
	p.Do(chromedp.WaitVisible(css(`main`)))

	// 2. A form: from the catalogue to its first page, sent empty.
	lang("forms catalogue", "de")
	skipLink("forms catalogue")
	tabTo("forms catalogue", `main a[href="/forms/wohnsitzbestaetigung"]`)
	p.Do(chromedp.KeyEvent("\r"), chromedp.WaitVisible(css(`main form button`)))
	lang("form start", "de")
	skipLink("form start")
	tabTo("form start", `main form button`)
	p.Do(chromedp.KeyEvent("\r"))
	p.WaitURL(formsURL + "/drafts/")
	p.Do(chromedp.WaitVisible(css(`button[value="continue"]`)))
	noSideScroll("question page")
	skipLink("question page")
	tabTo("question page", `button[value="continue"]`)
	p.Do(chromedp.KeyEvent("\r"))
	summaryHasFocus("question page sent empty")
	// The summary's first link takes the focus to its field.
	run(`window.__kcPrev = null; true`)
	tabTo("error summary", `.error-summary a`)
	target := strings.TrimPrefix(p.Attr(`.error-summary a`, "href"), "#")
	// Enter as a keyboard sends it: one keyDown that carries the text, so
	// that Chromium drops the character once the link handled the key
	// (chromedp.KeyEvent sends a separate char event, which would land in
	// the field the link just focused and submit its form).
	for _, ev := range []input.DispatchKeyEventParams{
		{Type: input.DispatchKeyEventTypeKeyDown, Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13, Text: "\r"},
		{Type: input.DispatchKeyEventTypeKeyUp, Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13},
	} {
		if _, err := chromedp.Call(ctx, input.DispatchKeyEvent, ev); err != nil {
			t.Fatal(err)
		}
	}
	// The link's fragment navigation moves the focus: wait until it landed
	// (at most 5 s) before reading where.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if eval(`({Desc: document.activeElement ? document.activeElement.id : ''})`).Desc == target {
			break
		}
	}
	if id := eval(`({Desc: document.activeElement ? document.activeElement.id : ''})`).Desc; id != target {
		t.Errorf("the error summary's link moved the focus to %q, want %q", id, target)
	}

	// 3. The overview, in French too.
	p.Navigate(idpURL + "/overview")
	p.Do(chromedp.WaitVisible(css(`.main-nav`)))
	lang("overview", "de")
	noSideScroll("overview")
	skipLink("overview")
	p.Navigate(idpURL + "/overview")
	p.Do(chromedp.WaitVisible(css(`.main-nav`)))
	tabTo("overview", `.main-nav a[aria-current]`)
	tabTo("overview", `footer a[href$="/integration"]`)
	p.Navigate(idpURL + "/overview?lang=fr")
	p.Do(chromedp.WaitVisible(css(`.main-nav`)))
	lang("overview in French", "fr")
	noSideScroll("overview in French")
}
