package idptest

import (
	"bytes"
	"compress/gzip"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/chromedp/chromedp"
)

// axe-core 4.14.1 (MPL-2.0, from the npm registry; licence in axe/LICENSE),
// the accessibility rules engine, gzipped.
//
//go:embed axe/axe.min.js.gz
var axeGz []byte

var axeSource = sync.OnceValue(func() string {
	r, err := gzip.NewReader(bytes.NewReader(axeGz))
	if err != nil {
		panic(err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		panic(err)
	}
	return string(b)
})

// Violation is one failed axe rule on a page.
type Violation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any `json:"target"`
	} `json:"nodes"`
}

func (v Violation) String() string {
	var targets []string
	for _, n := range v.Nodes {
		targets = append(targets, fmt.Sprint(n.Target...))
	}
	return fmt.Sprintf("%s (%s): %s at %s", v.ID, v.Impact, v.Help, strings.Join(targets, ", "))
}

// Serious reports whether a violation is serious or critical, the impacts
// issue 14 allows none of.
func (v Violation) Serious() bool { return v.Impact == "serious" || v.Impact == "critical" }

// Axe runs the axe-core WCAG 2.1 A/AA rules on the current page. The script
// is evaluated through DevTools, which the pages' CSP does not restrict.
func Axe(ctx context.Context) ([]Violation, error) {
	// Inject the engine unless this document has it already (a second run
	// at another viewport width).
	if loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof axe === "object"`)); err != nil || !loaded {
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](axeSource()+";true")); err != nil {
			return nil, fmt.Errorf("inject axe: %w", err)
		}
	}
	script := `axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a','wcag2aa','wcag21a','wcag21aa']}, resultTypes: ['violations']})
		.then(r => JSON.stringify(r.violations))`
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](script, chromedp.EvalAwaitPromise))
	if err != nil {
		return nil, fmt.Errorf("run axe: %w", err)
	}
	var out []Violation
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		return nil, err
	}
	return out, nil
}
