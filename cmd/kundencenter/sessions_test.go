package main

import (
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestSessionLimitsConfig: KC_SESSION_IDLE and KC_SESSION_MAX default to
// 60m and 12h, are read as Go durations and must satisfy idle <= max within
// the bounds (1m <= idle, 5m <= max <= 24h); a bad value is a
// configuration problem that names the variable, and stops `serve` and
// `idp` before anything starts.
func TestSessionLimitsConfig(t *testing.T) {
	t.Parallel()
	idle, absolute, err := config{}.sessionLimits()
	if err != nil || idle != 60*time.Minute || absolute != 12*time.Hour {
		t.Fatalf("defaults: %v %v %v, want 60m 12h", idle, absolute, err)
	}
	idle, absolute, err = config{SessionIdle: "15m", SessionMax: "8h"}.sessionLimits()
	if err != nil || idle != 15*time.Minute || absolute != 8*time.Hour {
		t.Fatalf("15m/8h: %v %v %v", idle, absolute, err)
	}
	bad := []struct{ idle, absolute, want string }{
		{"2h", "1h", "longer than the absolute lifetime"},
		{"13h", "", "longer than the absolute lifetime"}, // against the 12h default
		{"30s", "", "shorter than 1m0s"},
		{"", "2m", "shorter than 5m0s"},
		{"", "48h", "longer than 24h0m0s"},
		{"-5m", "", "shorter"},
		{"soon", "", "KC_SESSION_IDLE: \"soon\" is not a duration"},
		{"", "12", "KC_SESSION_MAX: \"12\" is not a duration"},
	}
	for _, tc := range bad {
		cfg := config{Issuer: "http://localhost:8080", SessionIdle: tc.idle, SessionMax: tc.absolute}
		if _, _, err := cfg.sessionLimits(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("KC_SESSION_IDLE=%q KC_SESSION_MAX=%q: %v, want %q", tc.idle, tc.absolute, err, tc.want)
		}
		if err := cfg.validateProduction(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("validateProduction with KC_SESSION_IDLE=%q KC_SESSION_MAX=%q does not report it: %v", tc.idle, tc.absolute, err)
		}
		// serve stops before it opens or writes anything.
		cfg.DataDir = t.TempDir() + "/never"
		if err := runServe(t.Context(), cfg, slog.New(slog.DiscardHandler), nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("serve with KC_SESSION_IDLE=%q KC_SESSION_MAX=%q: %v", tc.idle, tc.absolute, err)
		}
	}
}
