package main

import (
	"fmt"
	"testing"
)

func TestParseStatusClients(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string
		bad  bool
	}{
		{in: defaultStatusClients, want: "map[backoffice:[*] forms:[*]]"},
		{in: " egov = wohnsitzbestaetigung, hundesteuer ; ", want: "map[egov:[wohnsitzbestaetigung hundesteuer]]"},
		{in: "egov", bad: true},
		{in: "=x", bad: true},
		{in: "egov=", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseStatusClients(tt.in)
			if tt.bad != (err != nil) || (!tt.bad && fmt.Sprint(got) != tt.want) {
				t.Fatalf("parseStatusClients(%q) = %v, %v", tt.in, got, err)
			}
		})
	}
}
