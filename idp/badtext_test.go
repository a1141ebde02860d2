package idp_test

import (
	"errors"
	"testing"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
)

func TestBadText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in  string
		bad bool
	}{
		{"Zoë Müller-Grünig", false},
		{"O'Brien d’Alembert", false},
		{"李小龍", false},
		{"Anna\x00", true},
		{"Anna\nMuster", true},
		{"Anna\tMuster", true},
		{"<script>", true},
		{"Anna \u202eretsuM", true},  // right-to-left override
		{"Anna \u2066x\u2069", true}, // isolates
		{"Anna\u2028", true},
		{"\xff\xfe", true}, // invalid UTF-8
	}
	for _, tt := range tests {
		if got := idp.BadText(tt.in); got != tt.bad {
			t.Errorf("BadText(%q) = %v, want %v", tt.in, got, tt.bad)
		}
	}
}

func TestRegisterRefusesControlCharacters(t *testing.T) {
	t.Parallel()
	env := idptest.Start(t, idptest.Options{})
	err := env.Service.Register(t.Context(), idp.RegisterInput{GivenName: "Anna\u202e", FamilyName: "Muster\x00",
		Email: "anna@example.ch", Password: "Korrekt-Pferd-42", PasswordRepeat: "Korrekt-Pferd-42", IP: "203.0.113.1"})
	var ve *idp.ValidationError
	if !errors.As(err, &ve) || len(ve.Fields["given_name"]) == 0 || len(ve.Fields["family_name"]) == 0 ||
		ve.Fields["given_name"][0] != "err.invalid_chars" {
		t.Fatalf("Register = %v (%+v), want invalid_chars for both names", err, ve)
	}
}
