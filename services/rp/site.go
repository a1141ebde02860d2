package rp

import (
	"context"
	"net/http"

	"github.com/kanton/kundencenter/services/page"
)

// NewSite builds the handler of a bundled service: the pages of site (which
// also draw the client's error and logged-out pages, so cfg.Pages is
// replaced), the login routes (see Client.Mount), the static assets and
// health check (see page.Renderer.Mount) and "GET /", answered after login by
// the handler home builds from the site's renderer. Every response carries
// the security headers (see Client.SecureHeaders). Like New, it blocks until
// the IdP's discovery document is found or ctx ends.
func NewSite(ctx context.Context, site page.Site, cfg Config, home func(*page.Renderer) http.Handler) (http.Handler, error) {
	if site.Links.IdP == "" {
		site.Links.IdP = cfg.Issuer // the portal navigation's IdP pages
	}
	pages, err := page.New(site, cfg.Logger)
	if err != nil {
		return nil, err
	}
	cfg.Pages = pages
	client, err := New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	client.Mount(mux)
	pages.Mount(mux)
	mux.Handle("GET /{$}", client.RequireLogin(home(pages)))
	return client.SecureHeaders(mux), nil
}
