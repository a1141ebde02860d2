package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/kanton/kundencenter/idp/idptest"
	"github.com/kanton/kundencenter/services/forms/definitions"
	"github.com/kanton/kundencenter/services/forms/form"
	"github.com/kanton/kundencenter/templates"
)

// storyWalk is one way through the README's story: a language, a width,
// how the language is chosen, and whether the whole story is walked.
type storyWalk struct {
	name  string
	lang  string // what the person reads
	width int    // of the viewport, CSS px; below 600 a phone (touch)
	// switchLang: the person chooses the language with the page's switch
	// (the browser asks for German); else the browser's Accept-Language
	// asks for it.
	switchLang bool
	full       bool // the whole story; else register, log in, order, pay, see the case
}

// storyTexts are the texts the walk clicks and expects, from the real
// catalogues in the walk's language.
type storyTexts struct {
	lang  string
	idp   *templates.Renderer
	svc   *templates.ServicePages
	mails *templates.Mails
	forms *form.Catalogue
}

func loadStoryTexts(t *testing.T, lang string) storyTexts {
	t.Helper()
	idp, err := templates.Parse()
	if err != nil {
		t.Fatal(err)
	}
	svc, err := templates.ParseServices()
	if err != nil {
		t.Fatal(err)
	}
	mails, err := templates.ParseMail()
	if err != nil {
		t.Fatal(err)
	}
	forms, err := form.Load(definitions.FS)
	if err != nil {
		t.Fatal(err)
	}
	return storyTexts{lang: lang, idp: idp, svc: svc, mails: mails, forms: forms}
}

// T is an IdP message, S a services' message, in the walk's language.
func (x storyTexts) T(key string, args ...any) string { return x.idp.T(x.lang, key, args...) }
func (x storyTexts) S(key string, args ...any) string { return x.svc.Message(x.lang, key, args...) }

// formTitle is the title of a form of the forms service.
func (x storyTexts) formTitle(t *testing.T, id string) string {
	d, ok := x.forms.Latest(id)
	if !ok {
		t.Fatalf("no form %q", id)
	}
	return d.Title.In(x.lang)
}

// before returns a message's text up to its first verb ("Ja, am %s" → "Ja, am").
func before(msg string) string {
	s, _, _ := strings.Cut(msg, "%")
	return strings.TrimSpace(s)
}

// walker drives one walk: its serve, its browsers, its checks.
type walker struct {
	t                                      *testing.T
	w                                      storyWalk
	x                                      storyTexts
	dataDir                                string
	idpURL, formsURL, statusURL, documents string
	chromium                               context.Context // the walk's browser, its first tab
	closeBrowser                           func()
	start                                  time.Time
}

func newWalker(t *testing.T, w storyWalk) *walker {
	k := &walker{t: t, w: w, x: loadStoryTexts(t, w.lang), dataDir: filepath.Join(t.TempDir(), "data"),
		closeBrowser: func() {}, start: time.Now()}
	k.idpURL, k.formsURL, k.statusURL, k.documents = startServeIn(t, k.dataDir)
	t.Cleanup(func() { k.closeBrowser() })
	return k
}

func (k *walker) phone() bool { return k.w.width < 600 }

func (k *walker) step(name string) {
	k.t.Logf("%5.1fs %s", time.Since(k.start).Seconds(), name)
}

// browser opens the browser of a new sitting at the computer (or the
// phone), closing the one before: a fresh browser context (no cookies) of
// the walk's Chromium, started once.
func (k *walker) browser() *idptest.Page {
	k.closeBrowser()
	o := idptest.BrowserOptions{Width: k.w.width, Touch: k.phone(), Timeout: 10 * time.Minute}
	if !k.w.switchLang && k.w.lang != "de" {
		o.Locale, o.AcceptLang = k.w.lang, k.w.lang+"-CH,"+k.w.lang // Chromium adds the q-values
	}
	if k.chromium == nil {
		ctx, cancel := idptest.ChromiumWith(k.t, o)
		k.chromium = ctx
		k.t.Cleanup(cancel)
	}
	ctx, cancel := chromedp.NewContext(k.chromium, chromedp.WithNewBrowserContext())
	k.closeBrowser = cancel
	p := &idptest.Page{T: k.t, Ctx: ctx}
	if o.Width != 1280 || o.Touch {
		p.Do(o.Emulate())
	}
	// The services' pages forbid fetch (CSP connect-src 'none'); the
	// test downloads in the page, so it bypasses the policy.
	p.Do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true})
		return err
	}))
	return p
}

// tap activates an element as the person would: a touch tap on a phone,
// a mouse click otherwise.
func (k *walker) tap(sel string) chromedp.Action[chromedp.Void] {
	if k.phone() {
		return chromedp.Tap(chromedp.CSS(sel))
	}
	return chromedp.Click(chromedp.CSS(sel))
}

// shape is what check measures on a page.
type shape struct {
	Lang   string `json:"lang"`
	Scroll int    `json:"scroll"`
	Inner  int    `json:"inner"`
	Touch  bool   `json:"touch"`
	URL    string `json:"url"`
}

// check checks the page the tab shows: it is in the walk's language
// (<html lang>), it does not scroll sideways, the viewport has the walk's
// width, and on a phone the page sees a touch screen.
func (k *walker) check(p *idptest.Page, where string) {
	k.t.Helper()
	s, err := chromedp.Run(p.Ctx, chromedp.Evaluate[shape](`({lang: document.documentElement.lang,
		scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
		touch: navigator.maxTouchPoints > 0 && matchMedia("(pointer: coarse)").matches, url: location.href})`))
	if err != nil {
		k.t.Fatalf("%s: %v", where, err)
	}
	if s.Lang != k.w.lang {
		k.t.Errorf("%s (%s): <html lang=%q>, want %q", where, s.URL, s.Lang, k.w.lang)
	}
	if s.Inner != k.w.width {
		k.t.Errorf("%s (%s): the viewport is %d px wide, want %d", where, s.URL, s.Inner, k.w.width)
	}
	if s.Scroll > s.Inner {
		k.t.Errorf("%s (%s): scrolls sideways (%d px of content in %d px)", where, s.URL, s.Scroll, s.Inner)
	}
	if s.Touch != k.phone() {
		k.t.Errorf("%s (%s): touch screen %v, want %v", where, s.URL, s.Touch, k.phone())
	}
}

// chooseLang chooses the walk's language with the page's language switch
// (when the walk does so) and waits for the page in it.
func (k *walker) chooseLang(p *idptest.Page) {
	k.t.Helper()
	if !k.w.switchLang {
		return
	}
	p.Do(k.tap(`nav.langs a[hreflang="`+k.w.lang+`"]`), chromedp.WaitVisible(chromedp.CSS(`html[lang="`+k.w.lang+`"] main`)))
}

// has checks that the tab's main element names every want.
func (k *walker) has(p *idptest.Page, where string, wants ...string) {
	k.t.Helper()
	body := p.Text("main")
	for _, w := range wants {
		if !strings.Contains(body, w) {
			k.t.Errorf("%s lacks %q:\n%.1500s", where, w, body)
		}
	}
}

// backofficeSecret reads the demo back office's secret that serve wrote
// into the walk's data folder (the subtests run in parallel: no
// KC_DATA_DIR in the environment).
func (k *walker) backofficeSecret() string {
	raw, err := os.ReadFile(filepath.Join(k.dataDir, backofficeSecretFile))
	if err != nil {
		k.t.Fatal(err)
	}
	return strings.TrimSpace(string(raw))
}
