// Command screenshots regenerates the README's screenshots of the portal's
// main pages at 1280 and 390 px into docs/screenshots/, from a running
// `kundencenter serve` (default http://localhost:8080):
//
//	go run ./cmd/kundencenter serve &
//	go run ./scripts/screenshots [-issuer http://localhost:8080] [-out docs/screenshots]
//
// It needs Chromium (KC_TEST_CHROMIUM or chromium on PATH).
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/chromedp/chromedp"
)

func main() {
	issuer := flag.String("issuer", "http://localhost:8080", "the IdP of a running kundencenter serve")
	out := flag.String("out", "docs/screenshots", "folder for the PNG files")
	flag.Parse()
	if err := run(*issuer, *out); err != nil {
		log.Fatal(err)
	}
}

// pages are the main pages, named as their files.
var pages = []struct{ name, path string }{
	{"login", "/login"},
	{"register", "/register"},
	{"services", "/services"},
	{"search", "/services?q=z%C3%BCgeln"},
	{"service", "/services/umzug-melden"},
	{"contact", "/contact"},
	{"accessibility", "/accessibility"},
}

func run(issuer, out string) error {
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
		return fmt.Errorf("chromium not found: apt-get install -y chromium (or set KC_TEST_CHROMIUM)")
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "kc-screenshots")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.UserDataDir(dir), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true), chromedp.Flag("lang", "de-CH"), chromedp.Flag("accept-lang", "de-CH,de"))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	defer cancelTimeout()
	for _, w := range []int64{1280, 390} {
		for _, p := range pages {
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(w, 900), chromedp.Navigate(issuer+p.path), chromedp.WaitVisible(chromedp.CSS("main h1"))); err != nil {
				return fmt.Errorf("%s: %w", p.path, err)
			}
			png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100: PNG
			if err != nil {
				return fmt.Errorf("screenshot %s: %w", p.path, err)
			}
			file := filepath.Join(out, fmt.Sprintf("%s-%d.png", p.name, w))
			if err := os.WriteFile(file, png, 0o644); err != nil {
				return err
			}
			log.Printf("wrote %s", file)
		}
	}
	return nil
}
