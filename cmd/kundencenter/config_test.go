package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/store/sqlite"
)

func TestValidateProductionReportsEverything(t *testing.T) {
	t.Parallel()
	cfg := config{Issuer: "http://kundencenter.example.ch", DatabaseURL: "mysql://x", RedisURL: "",
		Keyring: "garbage", TokenKey: "short", SMTPURL: "smtp://", Proxies: "10.0.0.0/33"}
	err := cfg.validateProduction()
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"KC_ISSUER", "KC_DATABASE_URL", "KC_REDIS_URL", "KC_KEYRING", "KC_TOKEN_KEY", "KC_CSRF_KEY",
		"KC_SMTP_URL", "KC_TRUSTED_PROXIES", "KC_TWILIO_ACCOUNT_SID"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("problem with %s not reported:\n%v", want, err)
		}
	}
	// A Twilio account without a sender, and an unknown SMS country.
	cfg.TwilioAccountSID, cfg.TwilioAuthToken, cfg.SMSCountries = "AC0123456789abcdef0123456789abcdef", "s3cr3t-twilio-token", "CH,XX"
	cfg.Issuer, cfg.PasskeyRPID = "https://konto.kanton.example", "other.example"
	err = cfg.validateProduction()
	for _, want := range []string{"KC_TWILIO_*", "KC_SMS_COUNTRIES", "KC_PASSKEY_RP_ID"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("problem with %s not reported:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "s3cr3t-twilio-token") {
		t.Error("the Twilio auth token is echoed in the error")
	}
}

func TestValidateClient(t *testing.T) {
	t.Parallel()
	good := idp.Client{ID: "svc", RedirectURIs: []string{"https://svc.example.ch/cb"}, GrantTypes: []string{idp.GrantAuthorizationCode}}
	if err := validateClient(good); err != nil {
		t.Fatal(err)
	}
	for _, l := range idp.Levels {
		good.Level = l
		if err := validateClient(good); err != nil {
			t.Fatalf("level %s: %v", l, err)
		}
	}
	good.Level = ""
	// A back office or an API: client_credentials without redirect URIs.
	api := idp.Client{ID: "status", GrantTypes: []string{idp.GrantClientCredentials},
		Scopes: []string{"notifications:send"}, APIScopes: []string{"cases:write", "cases:read"}}
	if err := validateClient(api); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(*idp.Client){
		"http off localhost": func(c *idp.Client) { c.RedirectURIs = []string{"http://svc.example.ch/cb"} },
		"fragment":           func(c *idp.Client) { c.RedirectURIs = []string{"https://svc.example.ch/cb#x"} },
		"user info":          func(c *idp.Client) { c.RedirectURIs = []string{"https://a@svc.example.ch/cb"} },
		"relative":           func(c *idp.Client) { c.RedirectURIs = []string{"/cb"} },
		"custom scheme":      func(c *idp.Client) { c.RedirectURIs = []string{"javascript:alert(1)"} },
		"no redirect":        func(c *idp.Client) { c.RedirectURIs = nil },
		"implicit grant":     func(c *idp.Client) { c.GrantTypes = []string{"implicit"} },
		"colon in id":        func(c *idp.Client) { c.ID = "a:b" },
		"public with secret": func(c *idp.Client) { c.Public, c.SecretHash = true, []byte{1} },
		"unknown level":      func(c *idp.Client) { c.Level = "substantial" },
		"scope with space":   func(c *idp.Client) { c.Scopes = []string{"cases:write cases:read"} },
		"openid as scope":    func(c *idp.Client) { c.Scopes = []string{"openid"} },
		"empty api scope":    func(c *idp.Client) { c.APIScopes = []string{""} },
	} {
		t.Run(name, func(t *testing.T) {
			c := good
			mutate(&c)
			if validateClient(c) == nil {
				t.Fatalf("accepted %+v", c)
			}
		})
	}
}

func TestParseSMTPURL(t *testing.T) {
	t.Parallel()
	c, err := parseSMTPURL("smtp://user:p%40ss@mail.example.ch:587?from=noreply@example.ch&tls=starttls")
	if err != nil {
		t.Fatal(err)
	}
	if c.Host != "mail.example.ch" || c.Port != 587 || c.Username != "user" || c.Password != "p@ss" || c.From != "noreply@example.ch" {
		t.Fatalf("%+v", c)
	}
	for _, bad := range []string{"http://x", "smtp://", "smtp://h:port?from=a@b.ch", "smtp://u:p@remote.example.ch:25?from=a@b.ch&tls=none"} {
		if _, err := parseSMTPURL(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// TestAdminClientsAndKeys drives the admin subcommand on an embedded data
// folder: add a client, rotate the signing keys.
func TestAdminClientsAndKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := config{Issuer: "http://localhost:8080", DataDir: t.TempDir()}
	if err := runAdmin(ctx, cfg, []string{"clients", "add", "-id", "svc", "-name", "Service",
		"-redirect", "https://svc.example.ch/cb", "-grant", "authorization_code"}); err != nil {
		t.Fatal(err)
	}
	if err := runAdmin(ctx, cfg, []string{"clients", "add", "-id", "backoffice", "-grant", "client_credentials",
		"-scope", "cases:write", "-scope", "cases:read", "-api-scope", "backoffice:read"}); err != nil {
		t.Fatal(err)
	}
	if err := runAdmin(ctx, cfg, []string{"clients", "add", "-id", "bad", "-redirect", "http://evil.example/cb"}); err == nil {
		t.Fatal("http redirect accepted")
	}
	// First start publishes active + next; rotate once (forced) and look.
	st, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "kundencenter.db"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := st.GetClient(ctx, "svc")
	if err != nil || len(c.SecretHash) != 32 || c.Name != "Service" {
		t.Fatalf("client %+v %v", c, err)
	}
	c, err = st.GetClient(ctx, "backoffice")
	if err != nil || !slices.Equal(c.Scopes, []string{"cases:write", "cases:read"}) || !slices.Equal(c.APIScopes, []string{"backoffice:read"}) {
		t.Fatalf("client %+v %v", c, err)
	}
	st.Close()
	if err := runAdmin(ctx, cfg, []string{"keys", "rotate", "-force"}); err == nil {
		t.Fatal("rotation without a published next key accepted")
	}
}

func TestLoadClientsFileScopes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "clients.json")
	if err := os.WriteFile(path, []byte(`[{"id":"documents","secret_sha256":"`+strings.Repeat("ab", 32)+`",
		"grant_types":["client_credentials"],"scopes":["notifications:send"],"api_scopes":["documents:write","documents:read"]}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "kc.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := loadClientsFile(ctx, st, path); err != nil {
		t.Fatal(err)
	}
	c, err := st.GetClient(ctx, "documents")
	if err != nil || !slices.Equal(c.Scopes, []string{"notifications:send"}) ||
		!slices.Equal(c.APIScopes, []string{"documents:write", "documents:read"}) {
		t.Fatalf("client %+v %v", c, err)
	}
}
