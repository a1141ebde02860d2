package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/kanton/kundencenter/keyring"
	"github.com/kanton/kundencenter/services/api"
	"github.com/kanton/kundencenter/services/forms"
	"github.com/kanton/kundencenter/services/forms/datatrans"
	"github.com/kanton/kundencenter/services/forms/datatrans/datatranstest"
	"github.com/kanton/kundencenter/services/rp"
	"github.com/kanton/kundencenter/store/sqldb"
)

// formsService builds the form service and starts its job worker (which
// ends with ctx). Its configuration:
//
//   - KC_FORMS_DATABASE_URL: its own database (postgres://… or sqlite:/path);
//     default in production KC_DATABASE_URL (schema "forms"), in the
//     embedded mode (serve) the SQLite file forms.db in the data folder.
//   - KC_FORMS_KEYRING: seals answers and files; default KC_KEYRING (the
//     embedded mode keeps one in KC_DATA_DIR).
//   - KC_DATATRANS_API_URL, KC_DATATRANS_PAY_URL, KC_DATATRANS_MERCHANT_ID,
//     KC_DATATRANS_PASSWORD, KC_DATATRANS_SIGN_KEY: the payment provider.
//     Without them the embedded mode runs the fake Datatrans on loopback
//     (a local payment page with Pay, Cancel and Fail); production refuses.
//   - KC_STATUS_API_URL: the status service's API origin; default its
//     public URL (Links.Status).
//   - KC_FORMS_DRAFT_RETENTION: how long drafts are kept (default 2160h = 90 days).
func formsService(ctx context.Context, rc rp.Config, c serviceConfig, log *slog.Logger) (http.Handler, error) {
	cfg := loadConfig()
	embedded := c.DataDir != "" // serve passes its data folder; production does not
	if embedded {
		cfg.DataDir = c.DataDir
		if err := cfg.embeddedSecrets(); err != nil { // the keys serve loaded from the same folder
			return nil, err
		}
	}
	env := func(k, def string) string { return firstNonEmpty(os.Getenv(k), def) }
	var p problems
	dsn, schema, err := serviceDatabase("forms", c)
	if err != nil {
		p.add("%v", err)
	}
	ring, err := keyring.Parse(env("KC_FORMS_KEYRING", cfg.Keyring))
	if err != nil {
		p.add("KC_FORMS_KEYRING: %v", err)
	}
	retention, err := time.ParseDuration(env("KC_FORMS_DRAFT_RETENTION", "2160h"))
	if err != nil || retention < 24*time.Hour {
		p.add("KC_FORMS_DRAFT_RETENTION: %q is not a duration of a day or more (e.g. 2160h)", os.Getenv("KC_FORMS_DRAFT_RETENTION"))
	}
	statusURL := env("KC_STATUS_API_URL", c.Links.Status)
	if statusURL == "" {
		p.add("KC_STATUS_API_URL: missing (the status service's origin, for creating cases)")
	}
	dt := datatrans.Config{APIURL: os.Getenv("KC_DATATRANS_API_URL"), PayURL: os.Getenv("KC_DATATRANS_PAY_URL"),
		MerchantID: os.Getenv("KC_DATATRANS_MERCHANT_ID"), Password: os.Getenv("KC_DATATRANS_PASSWORD"), SignKey: os.Getenv("KC_DATATRANS_SIGN_KEY")}
	if dt.APIURL+dt.PayURL+dt.MerchantID+dt.Password+dt.SignKey == "" {
		if !embedded {
			p.add("KC_DATATRANS_*: missing (API and payment page URLs, merchant id, password, sign key)")
		} else if dt, err = startFakeDatatrans(ctx, log); err != nil {
			return nil, err
		}
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	provider, err := datatrans.New(dt)
	if err != nil {
		return nil, fmt.Errorf("KC_DATATRANS_*: %w", err)
	}
	db, err := sqldb.Open(ctx, dsn, schema)
	if err != nil {
		return nil, fmt.Errorf("form service database: %w", err)
	}
	cc := api.ClientConfig{Issuer: c.Issuer, ClientID: c.ClientID, ClientSecret: c.ClientSecret}
	svc, err := forms.New(ctx, forms.Config{
		RP: rc, Links: c.Links, DB: db, Ring: ring, Payments: provider, PaymentPage: dt.PayURL,
		Cases: forms.NewCaseClient(statusURL, cc), Notifier: api.NewNotifier(cc), Receipts: api.NewActionReceipts(cc),
		DraftRetention: retention, Logger: rc.Logger,
	})
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	go func() {
		defer db.Close()
		if err := svc.RunJobs(ctx); err != nil && !errors.Is(err, context.Canceled) {
			log.Error("form service jobs stopped", "error", err)
		}
	}()
	return svc, nil
}

// startFakeDatatrans serves the fake Datatrans on a loopback port until ctx
// ends (embedded mode only).
func startFakeDatatrans(ctx context.Context, log *slog.Logger) (datatrans.Config, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return datatrans.Config{}, fmt.Errorf("fake Datatrans: %w", err)
	}
	fake := datatranstest.New()
	base := "http://" + ln.Addr().String()
	fake.SetURL(base)
	srv := &http.Server{Handler: fake, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	log.Info("fake Datatrans for payments (no KC_DATATRANS_* set)", "url", base)
	return datatrans.Config{APIURL: base, PayURL: base, MerchantID: fake.MerchantID, Password: fake.Password, SignKey: fake.SignKeyHex()}, nil
}
