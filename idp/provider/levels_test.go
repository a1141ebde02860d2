package provider_test

import (
	"testing"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/provider"
)

func TestRequiredLevel(t *testing.T) {
	low, sub, high := idp.LevelLow, idp.LevelSubstantial, idp.LevelHigh
	tests := []struct {
		name      string
		client    string
		requested []string
		want      string
	}{
		{"nothing asked", "", nil, low},
		{"client minimum", sub, nil, sub},
		{"acr_values raise it", "", []string{high}, high},
		{"acr_values never lower the client's minimum", high, []string{low}, high},
		{"the lowest known requested value counts", "", []string{high, sub}, sub},
		{"unknown requested values are ignored", "", []string{"qoa9", sub}, sub},
		{"only unknown requested values", sub, []string{"urn:other:loa:4"}, sub},
		{"an unknown client level fails safe", "substantial", nil, high},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := &provider.AuthRequest{RequiredACR: tc.client, ACRValues: tc.requested}
			if got := a.RequiredLevel(provider.DefaultLevels); got != tc.want {
				t.Fatalf("RequiredLevel = %s, want %s", got, tc.want)
			}
		})
	}
}
