package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"github.com/kanton/kundencenter/services/page"
	"github.com/kanton/kundencenter/services/rp"
)

// serviceConfig is what one relying-party service needs.
type serviceConfig struct {
	Issuer, ClientID, ClientSecret, BaseURL, CookieKey string
	Links                                              page.Links
	DataDir                                            string // embedded mode: where a service keeps its SQLite file
}

// serviceLinks reads the services' public URLs for the navigation between
// them (KC_FORMS_URL, KC_STATUS_URL, KC_DOCUMENTS_URL) in production.
func serviceLinks() page.Links {
	return page.Links{Forms: os.Getenv("KC_FORMS_URL"), Status: os.Getenv("KC_STATUS_URL"), Documents: os.Getenv("KC_DOCUMENTS_URL")}
}

// serviceHandler builds one of the bundled relying parties. It blocks until
// the IdP answers discovery (or ctx ends).
func serviceHandler(ctx context.Context, name string, c serviceConfig, log *slog.Logger) (http.Handler, error) {
	key, err := key32(c.CookieKey)
	if err != nil {
		return nil, fmt.Errorf("cookie key: %w", err)
	}
	rc := rp.Config{Issuer: c.Issuer, ClientID: c.ClientID, ClientSecret: c.ClientSecret, BaseURL: c.BaseURL,
		CookieKey: key, Insecure: strings.HasPrefix(c.BaseURL, "http://"), Logger: log.With("service", name)}
	switch name {
	case "status":
		return statusHandler(ctx, rc, c, log)
	case "forms":
		return formsService(ctx, rc, c, log)
	case "documents":
		return documentsHandler(ctx, rc, c, log)
	}
	return nil, fmt.Errorf("unknown service %q", name)
}
