package idptest

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Chromium starts a headless Debian Chromium for a test and returns a
// chromedp context: a German (de-CH) desktop browser, 1280 px wide, that
// gives the test three minutes. It fails (never skips) when no browser is
// installed: set KC_TEST_CHROMIUM or `apt-get install chromium`.
func Chromium(t testing.TB) (context.Context, context.CancelFunc) {
	t.Helper()
	return ChromiumWith(t, BrowserOptions{})
}

// BrowserOptions say which browser ChromiumWith starts; the zero value is
// Chromium's.
type BrowserOptions struct {
	// Locale is the browser's UI language (--lang), "de-CH" if empty.
	Locale string
	// AcceptLang is the Accept-Language list the browser sends,
	// "de-CH,de" if empty.
	AcceptLang string
	// Width is the viewport's width in CSS pixels, 1280 if zero. With
	// Touch the page is shown as on a phone: a mobile viewport (844 px
	// high, device scale 3) and touch events instead of a mouse.
	Width int
	// Touch emulates a phone's touch screen: taps are sent as touch
	// events (Page.Tap) and the page sees a coarse pointer.
	Touch bool
	// Timeout bounds the whole browser, 3 minutes if zero.
	Timeout time.Duration
}

// Emulate shows the tab's pages at o's width, on a phone's touch screen
// with Touch. ChromiumWith does it for its first tab; a tab of a new
// browser context (chromedp.WithNewBrowserContext) needs it again.
func (o BrowserOptions) Emulate() chromedp.Action[chromedp.Void] {
	var vo []chromedp.EmulateViewportOption
	if o.Touch {
		vo = append(vo, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulateScale(3))
	}
	return chromedp.EmulateViewport(int64(cmp.Or(o.Width, 1280)), 844, vo...)
}

// ChromiumWith is Chromium with another language, width, input or time
// limit.
func ChromiumWith(t testing.TB, o BrowserOptions) (context.Context, context.CancelFunc) {
	t.Helper()
	path := os.Getenv("KC_TEST_CHROMIUM")
	if path == "" {
		for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
			if p, err := exec.LookPath(name); err == nil {
				path = p
				break
			}
		}
	}
	if path == "" {
		t.Fatal("Chromium is required for the end-to-end tests: apt-get install -y chromium (or set KC_TEST_CHROMIUM)")
	}
	o.Locale = cmp.Or(o.Locale, "de-CH")
	o.AcceptLang = cmp.Or(o.AcceptLang, "de-CH,de")
	o.Width = cmp.Or(o.Width, 1280)
	o.Timeout = cmp.Or(o.Timeout, 3*time.Minute)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // as root in CI
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter"),
		chromedp.WindowSize(max(o.Width, 800), 900),
		chromedp.Flag("lang", o.Locale),
		chromedp.Flag("accept-lang", o.AcceptLang),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, o.Timeout)
	cancel := func() { cancelTimeout(); cancelCtx(); cancelAlloc() }
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		t.Fatalf("start Chromium %s: %v", path, err)
	}
	if o.Touch || o.Width != 1280 {
		if err := chromedp.Do(ctx, o.Emulate()); err != nil {
			cancel()
			t.Fatalf("emulate a %d px viewport: %v", o.Width, err)
		}
	}
	return ctx, cancel
}

// Page drives one Chromium tab in a test; every method fails the test on
// error, printing where the browser was and what it showed.
type Page struct {
	T   testing.TB
	Ctx context.Context
}

func (p *Page) fail(err error) {
	p.T.Helper()
	loc, _ := chromedp.Run(p.Ctx, chromedp.Location())
	body, _ := chromedp.Run(p.Ctx, chromedp.Text(chromedp.CSS("body"), chromedp.AtLeast(0)))
	p.T.Fatalf("%v\nat %s:\n%.1500s", err, loc, body)
}

// Do runs steps in order.
func (p *Page) Do(steps ...chromedp.Action[chromedp.Void]) {
	p.T.Helper()
	if err := chromedp.Do(p.Ctx, steps...); err != nil {
		p.fail(err)
	}
}

// Navigate loads url. Chromium may report net::ERR_ABORTED for a
// navigation that was overtaken by another one under way in the tab (a
// form's answer, a link's fragment): then the page counts as loaded if the
// tab shows url after all, and else url is loaded once more.
func (p *Page) Navigate(url string) {
	p.T.Helper()
	err := chromedp.Do(p.Ctx, chromedp.Navigate(url))
	if err != nil && strings.Contains(err.Error(), "ERR_ABORTED") {
		if loc, lerr := chromedp.Run(p.Ctx, chromedp.Location()); lerr == nil && strings.Split(loc, "#")[0] == url {
			return
		}
		err = chromedp.Do(p.Ctx, chromedp.Navigate(url))
	}
	if err != nil {
		p.fail(err)
	}
}

// Text returns the visible text of the first element matching a CSS selector.
func (p *Page) Text(css string) string {
	p.T.Helper()
	s, err := query(p, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		p.fail(err)
	}
	return s
}

// query runs a query of the tab's document. A query that raced with the
// document being replaced (a navigation that had not quite finished: CDP
// "No node with given id found") is asked again of the new document.
func query[T any](p *Page, q chromedp.Action[T]) (T, error) {
	var (
		v   T
		err error
	)
	for range 5 {
		v, err = chromedp.Run(p.Ctx, q)
		if err == nil || !strings.Contains(err.Error(), "No node with given id found") {
			return v, err
		}
		time.Sleep(100 * time.Millisecond)
	}
	return v, err
}

// Value returns the value of the first input matching a CSS selector.
func (p *Page) Value(css string) string {
	p.T.Helper()
	s, err := query(p, chromedp.Value(chromedp.CSS(css)))
	if err != nil {
		p.fail(err)
	}
	return s
}

// Attr returns an attribute of the first element matching a CSS selector.
func (p *Page) Attr(css, name string) string {
	p.T.Helper()
	r, err := query(p, chromedp.AttributeValue(chromedp.CSS(css), name))
	if err != nil {
		p.fail(err)
	}
	return r.Value
}

// Location returns the current URL.
func (p *Page) Location() string {
	p.T.Helper()
	s, err := chromedp.Run(p.Ctx, chromedp.Location())
	if err != nil {
		p.fail(err)
	}
	return s
}

// WaitURL waits (up to 15 s) until the current URL starts with prefix and
// returns it; it fails the test otherwise.
func (p *Page) WaitURL(prefix string) string {
	p.T.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		loc, err := chromedp.Run(p.Ctx, chromedp.Location())
		if err == nil && strings.HasPrefix(loc, prefix) {
			if done, err := chromedp.Run(p.Ctx, chromedp.Evaluate[bool](`document.readyState === "complete"`)); err == nil && done {
				return loc
			}
		}
		if time.Now().After(deadline) {
			p.fail(fmt.Errorf("waited 15 s for a URL starting with %s", prefix))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Audit runs axe-core (WCAG 2.1 AA) on the tab's current page and reports
// every violation as a test error naming page.
func (p *Page) Audit(page string) {
	p.T.Helper()
	vs, err := Axe(p.Ctx)
	if err != nil {
		p.T.Fatalf("axe on %s: %v", page, err)
	}
	for _, v := range vs {
		p.T.Errorf("accessibility on %s: %s", page, v)
	}
}
