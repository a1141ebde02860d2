package swissid_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/kanton/kundencenter/connectors"
	"github.com/kanton/kundencenter/connectors/connectortest"
	"github.com/kanton/kundencenter/connectors/swissid"
	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/store/memory"
)

const redirectURL = "http://localhost:8080/login/swissid/callback"

// login runs one login through the flow against prov with the given
// connector configuration.
func login(t *testing.T, prov *connectortest.Provider, cfg connectors.Config, hc *http.Client) (connectors.Identity, error) {
	t.Helper()
	conn, err := swissid.New(cfg, hc)
	if err != nil {
		t.Fatalf("swissid.New: %v", err)
	}
	reg, err := connectors.NewRegistry(conn)
	if err != nil {
		t.Fatalf("NewRegistry: %v", err)
	}
	eph := memory.New(time.Now)
	t.Cleanup(func() { _ = eph.Close() })
	flow := &connectors.Flow{Connectors: reg, Ephemeral: eph}
	authURL, cookie, err := flow.Begin(t.Context(), cfg.ID, connectors.Request{ACR: idp.LevelLow})
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	id, _, err := flow.Finish(t.Context(), cookie, prov.Login(t, authURL))
	return id, err
}

func TestUserinfoSigning(t *testing.T) {
	prov := connectortest.New(t, connectortest.Options{RedirectURL: redirectURL})
	for _, how := range []string{connectortest.SignHS256, connectortest.SignRS256} {
		prov.SetKnobs(connectortest.Knobs{UserinfoSigning: how})
		id, err := login(t, prov, prov.Config("swissid"), prov.Client())
		if err != nil || id.Email != "anna.muster@example.ch" {
			t.Errorf("userinfo signed %s: %+v, %v; want accepted", how, id, err)
		}
	}
}

func TestClientSecretPost(t *testing.T) {
	prov := connectortest.New(t, connectortest.Options{RedirectURL: redirectURL})
	cfg := prov.Config("swissid")
	cfg.AuthMethod = connectors.AuthMethodPost
	if _, err := login(t, prov, cfg, prov.Client()); err != nil {
		t.Fatalf("login: %v", err)
	}
	if got := prov.TokenAuthMethods(); len(got) != 1 || got[0] != connectors.AuthMethodPost {
		t.Errorf("token endpoint authentication = %v, want client_secret_post", got)
	}
}

// TestRefusals: a provider answer that does not verify yields an error and
// no identity.
func TestRefusals(t *testing.T) {
	now := func() float64 { return float64(time.Now().Unix()) }
	tests := []struct {
		name  string
		knobs connectortest.Knobs
		cfg   func(*connectors.Config)
		step  string
	}{
		{name: "wrong iss", step: "id_token", knobs: connectortest.Knobs{IDToken: func(c map[string]any) { c["iss"] = "https://evil.example/idp/oauth2" }}},
		{name: "wrong aud", step: "id_token", knobs: connectortest.Knobs{IDToken: func(c map[string]any) { c["aud"] = []string{"someone-else"} }}},
		{name: "extra aud with other azp", step: "id_token", knobs: connectortest.Knobs{IDToken: func(c map[string]any) {
			c["aud"], c["azp"] = []any{"kundencenter", "someone-else"}, "someone-else"
		}}},
		// zitadel/oidc's Audience.UnmarshalJSON panics on this; the
		// connector turns the panic into a refusal.
		{name: "malformed aud", step: "id_token", knobs: connectortest.Knobs{IDToken: func(c map[string]any) { c["aud"] = []any{[]any{"kundencenter"}} }}},
		{name: "bad nonce", step: "id_token", knobs: connectortest.Knobs{IDToken: func(c map[string]any) { c["nonce"] = "not-the-nonce" }}},
		{name: "no nonce", step: "id_token", knobs: connectortest.Knobs{IDToken: func(c map[string]any) { delete(c, "nonce") }}},
		{name: "alg none", step: "id_token", knobs: connectortest.Knobs{IDTokenSigning: connectortest.SignNone}},
		{name: "HS256 ID token", step: "id_token", knobs: connectortest.Knobs{IDTokenSigning: connectortest.SignHS256}},
		{name: "ID token signed with another key", step: "id_token", knobs: connectortest.Knobs{IDTokenSigning: connectortest.SignOtherKey}},
		{name: "expired ID token", step: "id_token", knobs: connectortest.Knobs{IDToken: func(c map[string]any) {
			c["iat"], c["exp"] = now()-600, now()-60
		}}},
		{name: "ID token issued in the future", step: "id_token", knobs: connectortest.Knobs{IDToken: func(c map[string]any) {
			c["iat"], c["exp"] = now()+600, now()+900
		}}},
		{name: "stale ID token", step: "id_token", knobs: connectortest.Knobs{IDToken: func(c map[string]any) { c["iat"] = now() - 3600 }}},
		{name: "userinfo signed with the wrong secret", step: "userinfo", knobs: connectortest.Knobs{UserinfoSigning: connectortest.SignWrongHMAC}},
		{name: "userinfo signed with another key", step: "userinfo", knobs: connectortest.Knobs{UserinfoSigning: connectortest.SignOtherKey}},
		{name: "userinfo unsigned", step: "userinfo", knobs: connectortest.Knobs{UserinfoSigning: connectortest.SignNone}},
		{name: "userinfo as plain JSON", step: "userinfo", knobs: connectortest.Knobs{UserinfoSigning: connectortest.SignPlainJSON}},
		{name: "userinfo for another subject", step: "userinfo", knobs: connectortest.Knobs{Userinfo: func(c map[string]any) { c["sub"] = "someone-else" }}},
		{name: "userinfo for another client", step: "userinfo", knobs: connectortest.Knobs{Userinfo: func(c map[string]any) { c["aud"] = "someone-else" }}},
		{name: "userinfo from another issuer", step: "userinfo", knobs: connectortest.Knobs{Userinfo: func(c map[string]any) { c["iss"] = "https://evil.example" }}},
		{name: "wrong client secret", step: "token", cfg: func(c *connectors.Config) { c.ClientSecret = "wrong-secret" }},
	}
	prov := connectortest.New(t, connectortest.Options{RedirectURL: redirectURL})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prov.SetKnobs(tc.knobs)
			cfg := prov.Config("swissid")
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			id, err := login(t, prov, cfg, prov.Client())
			var ve *connectors.VerificationError
			if !errors.As(err, &ve) {
				t.Fatalf("login = %+v, %v; want a *VerificationError", id, err)
			}
			if ve.Step != tc.step {
				t.Errorf("refused at %q (%v), want %q", ve.Step, err, tc.step)
			}
			if id.Subject != "" || id.Issuer != "" {
				t.Errorf("a refused login returned identity %+v", id)
			}
		})
	}
	// The provider itself is fine: without knobs the login succeeds.
	prov.SetKnobs(connectortest.Knobs{})
	if _, err := login(t, prov, prov.Config("swissid"), prov.Client()); err != nil {
		t.Fatalf("control login: %v", err)
	}
}

// TestSameSubjectOtherIssuer: two providers assign the same "sub"; the
// identities differ by issuer, and a connector accepts tokens only from its
// own issuer.
func TestSameSubjectOtherIssuer(t *testing.T) {
	a := connectortest.New(t, connectortest.Options{RedirectURL: redirectURL})
	b := connectortest.New(t, connectortest.Options{RedirectURL: redirectURL})
	idA, err := login(t, a, a.Config("swissid"), a.Client())
	if err != nil {
		t.Fatalf("login at a: %v", err)
	}
	idB, err := login(t, b, b.Config("swissid"), b.Client())
	if err != nil {
		t.Fatalf("login at b: %v", err)
	}
	if idA.Subject != idB.Subject || idA.Issuer == idB.Issuer {
		t.Fatalf("want the same subject at two issuers: %s@%s, %s@%s", idA.Subject, idA.Issuer, idB.Subject, idB.Issuer)
	}
	// b's tokens carried to a connector configured for a are refused.
	b.SetKnobs(connectortest.Knobs{IDToken: func(c map[string]any) { c["iss"] = a.Issuer }})
	cfg := a.Config("swissid")
	cfg.Issuer = b.Issuer // discovery at b, but tokens claim to come from a
	if id, err := login(t, b, cfg, b.Client()); err == nil || id.Subject != "" {
		t.Errorf("tokens naming another issuer accepted: %+v", id)
	}
}

func TestDefaults(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"production", swissid.IssuerProduction},
		{"pre-production", swissid.IssuerPreProduction},
		{"https://login.example/idp/oauth2", "https://login.example/idp/oauth2"},
	} {
		cfg := swissid.Defaults(connectors.Config{Issuer: tc.in})
		if cfg.Issuer != tc.want || cfg.LevelMap[swissid.QoA2] != idp.LevelSubstantial ||
			cfg.ProofingMap[swissid.QoR2] != idp.ProofingVerifiedStrong || cfg.ClaimMap[connectors.FieldLocale] != "language" {
			t.Errorf("Defaults(%q) = %+v", tc.in, cfg)
		}
	}
}
