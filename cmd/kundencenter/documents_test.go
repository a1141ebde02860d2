package main

import (
	"log/slog"
	"testing"
	"time"
)

func TestParseRetention(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want map[string]time.Duration
		err  bool
	}{
		{"", map[string]time.Duration{}, false},
		{"receipt=720h, other=8760h", map[string]time.Duration{"receipt": 720 * time.Hour, "other": 8760 * time.Hour}, false},
		{"receipt", nil, true},
		{"receipt=-1h", nil, true},
		{"receipt=soon", nil, true},
	}
	for _, tt := range tests {
		got, err := parseRetention(tt.in)
		if (err != nil) != tt.err || (!tt.err && len(got) != len(tt.want)) {
			t.Errorf("%q: %v %v", tt.in, got, err)
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("%q: %s = %v, want %v", tt.in, k, got[k], v)
			}
		}
	}
}

func TestSealFromEnv(t *testing.T) {
	t.Setenv("KC_SEAL_KEY_FILE", "")
	log := slog.New(slog.DiscardHandler)
	if _, _, err := sealFromEnv(false, t.TempDir()+"/x", log); err == nil {
		t.Error("production without a configured seal was accepted")
	}
	dir := t.TempDir()
	s1, _, err := sealFromEnv(true, dir, log)
	if err != nil {
		t.Fatal(err)
	}
	s2, v, err := sealFromEnv(true, dir, log)
	if err != nil {
		t.Fatal(err)
	}
	if !s1.Chain[0].Equal(s2.Chain[0]) || v.Roots == nil {
		t.Error("the development seal changed between starts")
	}
	t.Setenv("KC_SEAL_KEY_FILE", dir+"/documents-test-pki/seal-key.pem")
	t.Setenv("KC_SEAL_CERT_FILE", dir+"/documents-test-pki/seal.pem")
	t.Setenv("KC_TSA_URL", "")
	if _, _, err := sealFromEnv(false, dir, log); err == nil {
		t.Error("a seal without a timestamp authority was accepted")
	}
	t.Setenv("KC_TSA_URL", "http://tsa.example")
	t.Setenv("KC_SEAL_TRUST_FILE", dir+"/documents-test-pki/root.pem")
	if s, v, err := sealFromEnv(false, dir, log); err != nil || s.Timestamp == nil || v.Roots == nil {
		t.Errorf("configured seal: %v", err)
	}
}
