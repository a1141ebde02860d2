package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kanton/kundencenter/connectors/swissid"
	"github.com/kanton/kundencenter/idp/web"
)

func writeConnectors(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "connectors.json")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConnectorsFile(t *testing.T) {
	t.Run("valid, secret from the environment", func(t *testing.T) {
		t.Setenv("KC_CONNECTOR_SWISSID_PRE_SECRET", "from-env")
		c := config{Issuer: "https://login.kanton.example", ConnectorsFile: writeConnectors(t,
			`[{"id": "swissid-pre", "type": "swissid", "issuer": "pre-production", "client_id": "kc", "stepup": "local"}]`)}
		cfgs, opts, err := c.connectorConfigs()
		if err != nil {
			t.Fatal(err)
		}
		if len(cfgs) != 1 || cfgs[0].ClientSecret != "from-env" || cfgs[0].Issuer != swissid.IssuerPreProduction ||
			cfgs[0].RedirectURL != "https://login.kanton.example"+web.CallbackPath {
			t.Fatalf("%+v", cfgs)
		}
		if opts["swissid-pre"].StepUp != web.StepUpLocal || opts["swissid-pre"].Type != "swissid" {
			t.Fatalf("%+v", opts)
		}
	})
	t.Run("every problem at once", func(t *testing.T) {
		c := config{Issuer: "https://login.kanton.example", ConnectorsFile: writeConnectors(t,
			`[{"id": "swissid", "type": "swissid", "issuer": "production", "client_id": "kc", "stepup": "sometimes"},
			  {"id": "swissid", "type": "oidc", "issuer": "http://agov.example", "client_id": "kc", "client_secret": "x"}]`)}
		_, _, err := c.connectorConfigs()
		if err == nil {
			t.Fatal("no error")
		}
		for _, want := range []string{"stepup", "KC_CONNECTOR_SWISSID_SECRET", "configured twice", "https"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q:\n%v", want, err)
			}
		}
		if err := c.validateProduction(); err == nil || !strings.Contains(err.Error(), "KC_CONNECTORS_FILE: ") {
			t.Errorf("validateProduction: %v", err)
		}
	})
	t.Run("unknown field", func(t *testing.T) {
		c := config{Issuer: "https://login.kanton.example", ConnectorsFile: writeConnectors(t, `[{"id": "x", "secret": "y"}]`)}
		if _, _, err := c.connectorConfigs(); err == nil || !strings.Contains(err.Error(), "secret") {
			t.Errorf("%v", err)
		}
	})
	t.Run("none", func(t *testing.T) {
		fed, err := buildFederation(config{}, nil)
		if err != nil || fed != nil {
			t.Fatalf("%v %v", fed, err)
		}
	})
}
