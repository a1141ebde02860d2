package forms

import (
	"context"
	"fmt"
	"net/http"

	"github.com/kanton/kundencenter/services/page"
	"github.com/kanton/kundencenter/services/rp"
)

// Config configures the form service.
type Config struct {
	RP    rp.Config  // login plumbing; RP.Pages is set by New
	Links page.Links // base URLs of the three services, for the navigation
}

// New builds the form service: "/" (login required), the login routes of
// package rp, "/logged-out", "/healthz" and "/static/". It blocks until the
// IdP's discovery document is found or ctx ends (see rp.New).
func New(ctx context.Context, cfg Config) (http.Handler, error) {
	site := page.Site{Kind: page.Forms, Links: cfg.Links}
	h, err := rp.NewSite(ctx, site, cfg.RP, func(pages *page.Renderer) http.Handler {
		s := &service{pages: pages}
		return http.HandlerFunc(s.home)
	})
	if err != nil {
		return nil, fmt.Errorf("form service: %w", err)
	}
	return h, nil
}

// service holds what the handlers need.
type service struct {
	pages *page.Renderer
}

// homePage is the view model of the start page.
type homePage struct {
	page.Layout
	Forms []formRow
}

// formRow is one form of the catalogue.
type formRow struct {
	Title       string
	Description string
	URL         string
}

// home shows the form catalogue (empty yet).
func (s *service) home(w http.ResponseWriter, r *http.Request) {
	sess, ok := rp.SessionFrom(r.Context())
	if !ok {
		http.Redirect(w, r, rp.LoginPath, http.StatusSeeOther)
		return
	}
	l := s.pages.Layout(r, "site.forms")
	l.User, l.For, l.CSRF = sess.DisplayName(), sess.For, sess.CSRF
	s.pages.Render(w, r, http.StatusOK, "forms", homePage{Layout: l})
}
