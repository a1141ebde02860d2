package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/kanton/kundencenter/connectors"
	"github.com/kanton/kundencenter/connectors/oidc"
	"github.com/kanton/kundencenter/connectors/swissid"
	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/web"
)

// connectorEntry is one upstream identity provider in KC_CONNECTORS_FILE, a
// JSON list such as
//
//	[{"id": "swissid", "type": "swissid", "issuer": "production",
//	  "client_id": "…", "auth_method": "client_secret_basic", "stepup": "upstream"}]
//
// The client secret comes from the environment variable
// KC_CONNECTOR_<ID>_SECRET (ID upper-cased, '-' as '_', e.g.
// KC_CONNECTOR_SWISSID_SECRET) or, if that is unset, from "client_secret"
// in the file. The redirect URL is always KC_ISSUER + /login/external/callback,
// to be registered at the provider.
type connectorEntry struct {
	ID            string            `json:"id"`
	Type          string            `json:"type"`
	DisplayName   string            `json:"display_name"`
	Issuer        string            `json:"issuer"`
	ClientID      string            `json:"client_id"`
	ClientSecret  string            `json:"client_secret"`
	AuthMethod    string            `json:"auth_method"`
	Scopes        []string          `json:"scopes"`
	ClaimMap      map[string]string `json:"claim_map"`
	LevelMap      map[string]string `json:"level_map"`
	ProofingClaim string            `json:"proofing_claim"`
	ProofingMap   map[string]string `json:"proofing_map"`
	// StepUp is "upstream" (default: ask the provider again at the level
	// the service needs) or "local" (ask the account's own second factor).
	StepUp string `json:"stepup"`
}

// connectorSecretVar is the environment variable of a connector's secret.
func connectorSecretVar(id string) string {
	return "KC_CONNECTOR_" + strings.ToUpper(strings.ReplaceAll(id, "-", "_")) + "_SECRET"
}

// connectorConfigs reads KC_CONNECTORS_FILE ("" = no connectors) and
// reports every problem at once.
func (c config) connectorConfigs() ([]connectors.Config, map[string]web.ConnectorOptions, error) {
	if c.ConnectorsFile == "" {
		return nil, nil, nil
	}
	raw, err := os.ReadFile(c.ConnectorsFile)
	if err != nil {
		return nil, nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var entries []connectorEntry
	if err := dec.Decode(&entries); err != nil {
		return nil, nil, fmt.Errorf("%s: not a JSON list of connectors: %w", c.ConnectorsFile, err)
	}
	var (
		cfgs []connectors.Config
		opts = map[string]web.ConnectorOptions{}
		errs []error
	)
	for _, e := range entries {
		secret := os.Getenv(connectorSecretVar(e.ID))
		if secret == "" {
			secret = e.ClientSecret
		}
		cfg := connectors.Config{ID: e.ID, Type: e.Type, DisplayName: e.DisplayName, Issuer: e.Issuer,
			ClientID: e.ClientID, ClientSecret: secret, AuthMethod: e.AuthMethod,
			RedirectURL: c.Issuer + web.CallbackPath, Scopes: e.Scopes, ClaimMap: e.ClaimMap, LevelMap: e.LevelMap,
			ProofingClaim: e.ProofingClaim, ProofingMap: e.ProofingMap}
		if cfg.Type == connectors.TypeSwissID {
			cfg = swissid.Defaults(cfg)
		}
		switch e.StepUp {
		case "", web.StepUpUpstream, web.StepUpLocal:
		default:
			errs = append(errs, fmt.Errorf("connector %q: stepup: must be %q or %q, not %q", e.ID, web.StepUpUpstream, web.StepUpLocal, e.StepUp))
		}
		if secret == "" {
			errs = append(errs, fmt.Errorf("connector %q: client secret missing (set %s)", e.ID, connectorSecretVar(e.ID)))
		}
		cfgs = append(cfgs, cfg)
		opts[e.ID] = web.ConnectorOptions{Type: e.Type, StepUp: e.StepUp}
	}
	if err := connectors.ValidateAll(cfgs); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	return cfgs, opts, nil
}

// buildFederation builds the configured connectors; nil without any.
func buildFederation(c config, eph idp.Ephemeral) (*web.Federation, error) {
	cfgs, opts, err := c.connectorConfigs()
	if err != nil {
		return nil, fmt.Errorf("KC_CONNECTORS_FILE: %w", err)
	}
	if len(cfgs) == 0 {
		return nil, nil
	}
	var cs []connectors.Connector
	for _, cfg := range cfgs {
		var (
			conn connectors.Connector
			err  error
		)
		if cfg.Type == connectors.TypeSwissID {
			conn, err = swissid.New(cfg, nil)
		} else {
			conn, err = oidc.New(cfg, oidc.Options{})
		}
		if err != nil {
			return nil, fmt.Errorf("connector %q: %w", cfg.ID, err)
		}
		cs = append(cs, conn)
	}
	reg, err := connectors.NewRegistry(cs...)
	if err != nil {
		return nil, err
	}
	return &web.Federation{Flow: &connectors.Flow{Connectors: reg, Ephemeral: eph}, Options: opts}, nil
}
