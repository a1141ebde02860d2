package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/store/sqlite"
)

// TestAdminClientsSubjectType registers pairwise clients with the admin
// command: redirect URIs on several hosts need a sector identifier (OIDC
// Core §8.1), and "clients list" shows the subject type and sector.
func TestAdminClientsSubjectType(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := config{Issuer: "http://localhost:8080", DataDir: t.TempDir()}
	twoHosts := []string{"-redirect", "https://steuern.example.ch/cb", "-redirect", "https://www.steuern.example.ch/cb"}
	err := runAdmin(ctx, cfg, append([]string{"clients", "add", "-id", "tax", "-subject-type", "pairwise"}, twoHosts...))
	if err == nil || !strings.Contains(err.Error(), "sector identifier") {
		t.Fatalf("pairwise client over two hosts without a sector: %v", err)
	}
	for _, args := range [][]string{
		{"-id", "bad1", "-subject-type", "secret", "-redirect", "https://a.example.ch/cb"},
		{"-id", "bad2", "-sector-identifier", "example.ch", "-redirect", "https://a.example.ch/cb"},
		{"-id", "bad3", "-subject-type", "pairwise", "-sector-identifier", "https://example.ch/", "-redirect", "https://a.example.ch/cb"},
	} {
		if err := runAdmin(ctx, cfg, append([]string{"clients", "add"}, args...)); err == nil {
			t.Errorf("clients add %v accepted", args)
		}
	}
	if err := runAdmin(ctx, cfg, append([]string{"clients", "add", "-id", "tax", "-subject-type", "pairwise",
		"-sector-identifier", "steuern.example.ch"}, twoHosts...)); err != nil {
		t.Fatal(err)
	}
	if err := runAdmin(ctx, cfg, []string{"clients", "add", "-id", "dogs", "-subject-type", "pairwise",
		"-redirect", "https://Hunde.example.ch/cb"}); err != nil {
		t.Fatal(err)
	}
	if err := runAdmin(ctx, cfg, []string{"clients", "add", "-id", "forms", "-redirect", "https://forms.example.ch/cb"}); err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "kundencenter.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	list, err := st.ListClients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := writeClients(&out, list); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"SUBJECT", "pairwise:hunde.example.ch", "pairwise:steuern.example.ch", "public"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("clients list lacks %q:\n%s", want, out.String())
		}
	}
}

// TestLoadClientsFileSubjectType reads subject_type and sector_identifier
// from KC_CLIENTS_FILE and refuses a pairwise client that spans hosts.
func TestLoadClientsFileSubjectType(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "kc.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hash := strings.Repeat("ab", 32)
	good := filepath.Join(dir, "good.json")
	if err := os.WriteFile(good, []byte(`[{"id":"tax","secret_sha256":"`+hash+`","grant_types":["authorization_code"],
		"redirect_uris":["https://a.example.ch/cb","https://b.example.ch/cb"],"subject_type":"pairwise","sector_identifier":"example.ch"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := loadClientsFile(ctx, st, good); err != nil {
		t.Fatal(err)
	}
	c, err := st.GetClient(ctx, "tax")
	if err != nil || c.SubjectType != idp.SubjectPairwise || c.SectorIdentifier != "example.ch" {
		t.Fatalf("client %+v %v", c, err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`[{"id":"spread","secret_sha256":"`+hash+`","grant_types":["authorization_code"],
		"redirect_uris":["https://a.example.ch/cb","https://b.example.ch/cb"],"subject_type":"pairwise"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := loadClientsFile(ctx, st, bad); err == nil || !strings.Contains(err.Error(), "sector identifier") {
		t.Fatalf("pairwise client over two hosts without a sector: %v", err)
	}
	if _, err := st.GetClient(ctx, "spread"); err == nil {
		t.Fatal("refused client was stored")
	}
}
