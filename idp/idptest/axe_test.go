package idptest

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestAxeFindsViolations shows the audit used by the end-to-end tests can
// fail: a page with an unlabelled input and an image without alt text.
func TestAxeFindsViolations(t *testing.T) {
	ctx, cancel := Chromium(t)
	defer cancel()
	page := `data:text/html,<html><body><img src="x.png"><input type="text"></body></html>`
	if err := chromedp.Do(ctx, chromedp.Navigate(page)); err != nil {
		t.Fatal(err)
	}
	vs, err := Axe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, v := range vs {
		found[v.ID] = true
	}
	for _, want := range []string{"image-alt", "label", "html-has-lang"} {
		if !found[want] {
			t.Errorf("axe did not report %s; got %v", want, vs)
		}
	}
}
