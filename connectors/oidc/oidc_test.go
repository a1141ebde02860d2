package oidc_test

import (
	"strings"
	"testing"
	"time"

	"github.com/kanton/kundencenter/connectors"
	"github.com/kanton/kundencenter/connectors/connectortest"
	"github.com/kanton/kundencenter/connectors/oidc"
	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/store/memory"
)

const redirectURL = "http://localhost:8080/login/agov/callback"

// TestCustomMapping drives the generic connector against the stand-in
// provider with its own claim, level and proofing maps, and plain JSON
// userinfo (which the generic connector accepts).
func TestCustomMapping(t *testing.T) {
	prov := connectortest.New(t, connectortest.Options{RedirectURL: redirectURL})
	prov.SetUser(connectortest.User{Subject: "agov-7", Email: "c@example.ch", EmailVerified: true, GivenName: "Carla",
		FirstName: "Carla Maria", FamilyName: "Rossi", Language: "fr-CH", QoR: "qor1", DateOfBirth: "1990-12-31"})
	prov.SetKnobs(connectortest.Knobs{UserinfoSigning: connectortest.SignPlainJSON})
	cfg := connectors.Config{
		ID: "agov", Type: connectors.TypeOIDC, DisplayName: "AGOV", Issuer: prov.Issuer,
		ClientID: prov.ClientID(), ClientSecret: prov.ClientSecret(), RedirectURL: redirectURL,
		Scopes: []string{"openid", "profile", "email"},
		ClaimMap: map[string]string{connectors.FieldGivenName: "urn:swissid:first_name", connectors.FieldLocale: "language",
			connectors.FieldBirthDate: "urn:swissid:date_of_birth"},
		LevelMap:      map[string]string{"qoa1": idp.LevelLow, "qoa2": idp.LevelHigh},
		ProofingClaim: "urn:swissid:qor",
		ProofingMap:   map[string]string{"qor0": idp.ProofingSelfDeclared, "qor1": idp.ProofingVerifiedStrong},
	}
	conn, err := oidc.New(cfg, oidc.Options{HTTPClient: prov.Client()})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	reg, _ := connectors.NewRegistry(conn)
	eph := memory.New(time.Now)
	t.Cleanup(func() { _ = eph.Close() })
	flow := &connectors.Flow{Connectors: reg, Ephemeral: eph}

	// substantial is reached only by qoa2 (mapped to high).
	authURL, cookie, err := flow.Begin(t.Context(), "agov", connectors.Request{ACR: idp.LevelSubstantial, MaxAge: 300})
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	if !strings.Contains(authURL, "acr_values=qoa2") || !strings.Contains(authURL, "max_age=300") {
		t.Errorf("authorize URL %s lacks acr_values=qoa2 or max_age=300", authURL)
	}
	id, _, err := flow.Finish(t.Context(), cookie, prov.Login(t, authURL))
	if err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if id.Connector != "agov" || id.Subject != "agov-7" || id.GivenName != "Carla Maria" || id.Locale != "fr" ||
		id.AuthLevel != idp.LevelHigh || id.ProofingLevel != idp.ProofingVerifiedStrong ||
		id.BirthDate != "1990-12-31" || !id.BirthDateVerified || !id.EmailVerified {
		t.Errorf("identity = %+v", id)
	}

	// An acr the map does not know counts as low.
	prov.SetKnobs(connectortest.Knobs{ACR: "urn:unknown", UserinfoSigning: connectortest.SignPlainJSON})
	authURL, cookie, err = flow.Begin(t.Context(), "agov", connectors.Request{})
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	if strings.Contains(authURL, "acr_values") {
		t.Errorf("authorize URL %s asks for a level nobody wanted", authURL)
	}
	id, _, err = flow.Finish(t.Context(), cookie, prov.Login(t, authURL))
	if err != nil || id.AuthLevel != idp.LevelLow || id.Claims["acr"] != "urn:unknown" {
		t.Errorf("unknown acr: %+v, %v; want level low", id, err)
	}
}

func TestUpstreamACR(t *testing.T) {
	base := connectors.Config{ID: "x", Type: connectors.TypeOIDC, Issuer: "https://idp.example", ClientID: "c",
		ClientSecret: "s", RedirectURL: "https://kc.example/cb"}
	for _, tc := range []struct {
		name    string
		levels  map[string]string
		want    string
		wantACR string
		wantOK  bool
	}{
		{"no map, any", nil, "", "", true},
		{"no map, low", nil, idp.LevelLow, "", true},
		{"no map, substantial", nil, idp.LevelSubstantial, "", false},
		{"eIAM-like, substantial", map[string]string{"urn:qoa:10": idp.LevelLow, "urn:qoa:30": idp.LevelSubstantial, "urn:qoa:40": idp.LevelSubstantial, "urn:qoa:60": idp.LevelHigh}, idp.LevelSubstantial, "urn:qoa:30", true},
		{"eIAM-like, high", map[string]string{"urn:qoa:10": idp.LevelLow, "urn:qoa:60": idp.LevelHigh}, idp.LevelHigh, "urn:qoa:60", true},
		{"only low", map[string]string{"a": idp.LevelLow}, idp.LevelHigh, "", false},
	} {
		cfg := base
		cfg.LevelMap = tc.levels
		c, err := oidc.New(cfg, oidc.Options{})
		if err != nil {
			t.Fatalf("%s: New: %v", tc.name, err)
		}
		if acr, ok := c.UpstreamACR(tc.want); acr != tc.wantACR || ok != tc.wantOK {
			t.Errorf("%s: UpstreamACR(%q) = %q, %v; want %q, %v", tc.name, tc.want, acr, ok, tc.wantACR, tc.wantOK)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	bad := connectors.Config{
		ID: "Bad ID", Type: "saml", Issuer: "http://idp.example", AuthMethod: "private_key_jwt",
		RedirectURL: "/callback", Scopes: []string{"profile"},
		ClaimMap:    map[string]string{"shoe_size": "x"},
		LevelMap:    map[string]string{"qoa9": "urn:other:loa"},
		ProofingMap: map[string]string{"x": "y"},
	}
	err := bad.Validate()
	if err == nil {
		t.Fatal("Validate accepted a bad configuration")
	}
	for _, field := range []string{"ID:", "Type:", "Issuer:", "ClientID:", "ClientSecret:", "AuthMethod:", "RedirectURL:",
		"Scopes:", "ClaimMap:", "LevelMap:", "ProofingMap:", "ProofingClaim:"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("Validate does not report %s:\n%v", field, err)
		}
	}
	good := connectors.Config{ID: "swissid", Type: connectors.TypeSwissID, Issuer: "pre-production", ClientID: "c",
		ClientSecret: "s", RedirectURL: "https://kc.example/login/swissid/callback"}
	if err := good.Validate(); err != nil {
		t.Errorf("Validate(good) = %v", err)
	}
	if err := connectors.ValidateAll([]connectors.Config{good, good}); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("ValidateAll with a duplicate ID = %v", err)
	}
	if _, err := oidc.New(bad, oidc.Options{}); err == nil {
		t.Error("oidc.New accepted a bad configuration")
	}
}
