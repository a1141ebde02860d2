package main

import (
	"cmp"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kanton/kundencenter/services/api"
	"github.com/kanton/kundencenter/services/documents"
	"github.com/kanton/kundencenter/services/documents/seal"
	"github.com/kanton/kundencenter/services/documents/tsa"
	"github.com/kanton/kundencenter/services/rp"
	"github.com/kanton/kundencenter/store/sqldb"
)

// documentsHandler builds the document service from the environment:
//
//	KC_DOCUMENTS_DATABASE_URL  postgres://… or sqlite:/path (default sqlite:$KC_DATA_DIR/documents.db)
//	KC_SEAL_KEY_FILE           the seal key (PEM: PKCS#8, EC or PKCS#1)
//	KC_SEAL_CERT_FILE          the seal certificate and its intermediates (PEM, seal certificate first)
//	KC_SEAL_TRUST_FILE         trust anchors of the verification page (PEM); default the seal chain's last certificate
//	KC_TSA_URL                 the RFC 3161 timestamp authority
//	KC_DOCUMENTS_ISSUER        the issuing authority printed on generated documents
//	KC_DOCUMENTS_RETENTION     retention per kind, e.g. "receipt=720h,other=8760h"
//
// Without KC_SEAL_KEY_FILE on an http:// base URL (development, `serve`), a
// test certificate chain (document-signing EKU) and an in-process timestamp
// authority are used, generated once into $KC_DATA_DIR/documents-test-pki
// so that sealed documents still verify after a restart; on https:// the
// seal must be configured.
func documentsHandler(ctx context.Context, rc rp.Config, c serviceConfig, log *slog.Logger) (http.Handler, error) {
	dir := cmp.Or(c.DataDir, os.Getenv("KC_DATA_DIR"), "data")
	dsn, schema, err := serviceDatabase("documents", c)
	if err != nil {
		return nil, err
	}
	sealer, verifier, err := sealFromEnv(rc.Insecure, dir, log)
	if err != nil {
		return nil, err
	}
	retention, err := parseRetention(os.Getenv("KC_DOCUMENTS_RETENTION"))
	if err != nil {
		return nil, fmt.Errorf("KC_DOCUMENTS_RETENTION: %w", err)
	}
	db, err := sqldb.Open(ctx, dsn, schema)
	if err != nil {
		return nil, fmt.Errorf("KC_DOCUMENTS_DATABASE_URL: %w", err)
	}
	context.AfterFunc(ctx, func() { db.Close() })
	cc := api.ClientConfig{Issuer: c.Issuer, ClientID: c.ClientID, ClientSecret: c.ClientSecret, HTTPClient: rc.HTTPClient}
	return documents.New(ctx, documents.Config{
		RP: rc, Links: c.Links, DB: db, Sealer: sealer, Verifier: verifier,
		Issuer:    cmp.Or(os.Getenv("KC_DOCUMENTS_ISSUER"), "Kanton Beispiel, Einwohnerdienste"),
		Auth:      api.NewAuthenticator(api.AuthConfig{Issuer: c.Issuer, ClientID: c.ClientID, ClientSecret: c.ClientSecret, HTTPClient: rc.HTTPClient}),
		Notifier:  api.NewNotifier(cc),
		Retention: retention,
	})
}

// sealFromEnv builds the sealer and the verifier (see documentsHandler).
func sealFromEnv(insecure bool, dataDir string, log *slog.Logger) (*seal.Sealer, *seal.Verifier, error) {
	keyFile, certFile := os.Getenv("KC_SEAL_KEY_FILE"), os.Getenv("KC_SEAL_CERT_FILE")
	roots := x509.NewCertPool()
	if keyFile == "" {
		if !insecure {
			return nil, nil, errors.New("KC_SEAL_KEY_FILE, KC_SEAL_CERT_FILE and KC_TSA_URL: the document seal is not configured")
		}
		pki, err := devPKI(filepath.Join(dataDir, "documents-test-pki"))
		if err != nil {
			return nil, nil, err
		}
		roots.AddCert(pki.Root)
		auth := &tsa.Authority{Cert: pki.TSACert, Key: pki.TSAKey}
		log.Warn("documents: sealing with a generated TEST certificate and an in-process timestamp authority (set KC_SEAL_KEY_FILE for a real seal)")
		return &seal.Sealer{Key: pki.SealKey, Chain: pki.SealChain, Timestamp: auth.Stamp, Reason: "Amtliches Dokument"},
			&seal.Verifier{Roots: roots}, nil
	}
	key, chain, err := seal.LoadPEM(keyFile, certFile)
	if err != nil {
		return nil, nil, fmt.Errorf("KC_SEAL_KEY_FILE/KC_SEAL_CERT_FILE: %w", err)
	}
	tsaURL := os.Getenv("KC_TSA_URL")
	if tsaURL == "" {
		return nil, nil, errors.New("KC_TSA_URL: missing (the RFC 3161 timestamp authority of the seal)")
	}
	anchors := chain[len(chain)-1:]
	if f := os.Getenv("KC_SEAL_TRUST_FILE"); f != "" {
		if anchors, err = seal.LoadCertificates(f); err != nil {
			return nil, nil, fmt.Errorf("KC_SEAL_TRUST_FILE: %w", err)
		}
	}
	for _, c := range anchors {
		roots.AddCert(c)
	}
	return &seal.Sealer{Key: key, Chain: chain, Timestamp: tsa.Client(tsaURL, nil), Reason: "Amtliches Dokument"},
		&seal.Verifier{Roots: roots}, nil
}

// parseRetention reads "kind=duration,kind=duration".
func parseRetention(s string) (map[string]time.Duration, error) {
	out := map[string]time.Duration{}
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		kind, dur, ok := strings.Cut(part, "=")
		d, err := time.ParseDuration(strings.TrimSpace(dur))
		if !ok || err != nil || d <= 0 {
			return nil, fmt.Errorf("%q is not kind=duration (e.g. receipt=720h)", part)
		}
		out[strings.TrimSpace(kind)] = d
	}
	return out, nil
}

// devPKI loads the development test hierarchy from dir, or generates and
// saves it there.
func devPKI(dir string) (*seal.TestPKI, error) {
	if pki, err := seal.LoadTestPKI(dir); err == nil {
		return pki, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("documents test certificates in %s: %w", dir, err)
	}
	pki, err := seal.NewTestPKI("Kanton Beispiel (TEST)", seal.ECDSA, time.Now())
	if err != nil {
		return nil, err
	}
	return pki, pki.Save(dir)
}
