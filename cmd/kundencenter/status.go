package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/kanton/kundencenter/services/rp"
	"github.com/kanton/kundencenter/services/status"
	"github.com/kanton/kundencenter/store/sqldb"
)

// defaultStatusClients are the API clients of the status service when
// KC_STATUS_API_CLIENTS is unset: the form service and the demo back office,
// for every service.
const defaultStatusClients = "forms=*;backoffice=*"

// serveNotifyWindow is the status service's notification window in the
// embedded mode (serve).
const serveNotifyWindow = 5 * time.Second

// statusHandler builds the status service with its own database:
// KC_STATUS_DATABASE_URL (postgres://… or sqlite:/path; default
// sqlite:status.db in the data folder) and its API clients,
// KC_STATUS_API_CLIENTS ("client=service,service;client=*"), and how long
// changes are gathered into one e-mail, KC_STATUS_NOTIFY_WINDOW (default 10m;
// 5s in the embedded mode, so a trial sees the e-mail).
func statusHandler(ctx context.Context, rc rp.Config, c serviceConfig, log *slog.Logger) (http.Handler, error) {
	dsn, schema, err := serviceDatabase("status", c)
	if err != nil {
		return nil, err
	}
	clients, err := parseStatusClients(cmp.Or(os.Getenv("KC_STATUS_API_CLIENTS"), defaultStatusClients))
	if err != nil {
		return nil, fmt.Errorf("KC_STATUS_API_CLIENTS: %w", err)
	}
	var window time.Duration // 0: status.DefaultNotifyWindow
	if c.DataDir != "" {
		window = serveNotifyWindow
	}
	if v := os.Getenv("KC_STATUS_NOTIFY_WINDOW"); v != "" {
		if window, err = time.ParseDuration(v); err != nil || window <= 0 {
			return nil, fmt.Errorf("KC_STATUS_NOTIFY_WINDOW: %q is not a positive duration such as 10m", v)
		}
	}
	db, err := sqldb.Open(ctx, dsn, schema)
	if err != nil {
		return nil, fmt.Errorf("KC_STATUS_DATABASE_URL: %w", err)
	}
	context.AfterFunc(ctx, func() { db.Close() })
	return status.New(ctx, status.Config{RP: rc, Links: c.Links, DB: db, Clients: clients, NotifyWindow: window,
		Log: log.With("service", "status")})
}

// parseStatusClients reads "forms=*;backoffice=wohnsitzbestaetigung,hundesteuer".
func parseStatusClients(s string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		id, services, ok := strings.Cut(part, "=")
		if !ok || strings.TrimSpace(id) == "" || strings.TrimSpace(services) == "" {
			return nil, fmt.Errorf("%q is not client=service,service", part)
		}
		for _, svc := range strings.Split(services, ",") {
			if svc = strings.TrimSpace(svc); svc != "" {
				out[strings.TrimSpace(id)] = append(out[strings.TrimSpace(id)], svc)
			}
		}
	}
	return out, nil
}
