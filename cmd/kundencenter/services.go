package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
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

// serviceDatabase says where the bundled service name keeps its data:
// KC_<NAME>_DATABASE_URL (postgres://… or sqlite:/path) if set; in the
// embedded mode (serve) the SQLite file <name>.db in its data folder;
// otherwise KC_DATABASE_URL with the service's own schema <name>. For SQLite
// the folder is created and schema is "".
func serviceDatabase(name string, c serviceConfig) (dsn, schema string, err error) {
	key := "KC_" + strings.ToUpper(name) + "_DATABASE_URL"
	dsn, schema = os.Getenv(key), name
	switch {
	case dsn != "":
	case c.DataDir != "":
		dsn = "sqlite:" + filepath.Join(c.DataDir, name+".db")
	case os.Getenv("KC_DATABASE_URL") != "":
		dsn = os.Getenv("KC_DATABASE_URL")
	default:
		return "", "", fmt.Errorf("%s: missing (or set KC_DATABASE_URL; the %s service uses its own schema %q there)", key, name, name)
	}
	if path, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return "", "", fmt.Errorf("%s: %w", key, err)
		}
		schema = ""
	}
	return dsn, schema, nil
}
