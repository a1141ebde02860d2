package mfa_test

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/kanton/kundencenter/mfa"
)

func TestParsePhone(t *testing.T) {
	t.Parallel()
	all := []string{"CH", "LI", "AT", "DE", "FR", "IT"}
	tests := []struct {
		name    string
		raw     string
		allowed []string
		want    string // E.164; "" when an error is expected
		region  string
		err     error
	}{
		{"E.164", "+41791234567", nil, "+41791234567", "CH", nil},
		{"national with spaces", "079 123 45 67", nil, "+41791234567", "CH", nil},
		{"00 prefix", "0041 79 123 45 67", nil, "+41791234567", "CH", nil},
		{"dots", "079.123.45.67", nil, "+41791234567", "CH", nil},
		{"dashes and slash", "079/123-45-67", nil, "+41791234567", "CH", nil},
		{"(0) after the country code", "+41 (0)79 123 45 67", nil, "+41791234567", "CH", nil},
		{"trunk 0 after the country code", "+41 079 123 45 67", nil, "+41791234567", "CH", nil},
		{"no-break spaces", "+41\u00a076\u00a0123\u00a045\u00a067", nil, "+41761234567", "CH", nil},
		{"075", "075 000 00 00", nil, "+41750000000", "CH", nil},
		{"Liechtenstein", "+423 660 12 34", nil, "+4236601234", "LI", nil},
		{"Liechtenstein 00", "00423 790 12 34", nil, "+4237901234", "LI", nil},
		{"Liechtenstein without prefix", "660 12 34", nil, "+4236601234", "LI", nil},
		{"Germany when allowed", "+49 151 23456789", all, "+4915123456789", "DE", nil},
		{"Austria when allowed", "+43 664 1234567", all, "+436641234567", "AT", nil},
		{"France when allowed", "+33 6 12 34 56 78", all, "+33612345678", "FR", nil},
		{"Italy when allowed", "+39 347 123 4567", all, "+393471234567", "IT", nil},
		{"national form uses the first allowed trunk country", "0151 23456789", []string{"LI", "DE"}, "+4915123456789", "DE", nil},

		{"CH landline", "044 123 45 67", nil, "", "", mfa.ErrPhoneNotMobile},
		{"CH premium rate", "+41 900 123 456", nil, "", "", mfa.ErrPhoneNotMobile},
		{"CH toll free", "0800 123 456", nil, "", "", mfa.ErrPhoneNotMobile},
		{"LI landline", "+423 230 12 34", nil, "", "", mfa.ErrPhoneNotMobile},
		{"German landline", "+49 30 1234567", all, "", "", mfa.ErrPhoneInvalid},
		{"German number by default", "+49 151 23456789", nil, "", "", mfa.ErrPhoneCountry},
		{"UK", "+44 7700 900123", nil, "", "", mfa.ErrPhoneCountry},
		{"US", "+1 415 555 2671", all, "", "", mfa.ErrPhoneCountry},
		{"satellite", "+882 16 1234567", nil, "", "", mfa.ErrPhoneCountry},
		{"Germany only: Swiss number", "+41 79 123 45 67", []string{"DE"}, "", "", mfa.ErrPhoneCountry},
		{"CH too short", "079 123 45 6", nil, "", "", mfa.ErrPhoneInvalid},
		{"CH too long", "079 123 45 678", nil, "", "", mfa.ErrPhoneInvalid},
		{"letters", "079 CALL ME", nil, "", "", mfa.ErrPhoneInvalid},
		{"plus in the middle", "41+791234567", nil, "", "", mfa.ErrPhoneInvalid},
		{"no country code", "791234567", nil, "", "", mfa.ErrPhoneInvalid},
		{"empty", "", nil, "", "", mfa.ErrPhoneInvalid},
		{"too many digits", "+4179123456789012345", nil, "", "", mfa.ErrPhoneInvalid},
		{"fullwidth digits", "０７９ １２３ ４５ ６７", nil, "", "", mfa.ErrPhoneInvalid},
		{"national form without a trunk country", "079 123 45 67", []string{"LI", "IT"}, "", "", mfa.ErrPhoneInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := mfa.ParsePhone(tt.raw, tt.allowed)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("ParsePhone(%q) = %v, %v; want %v", tt.raw, p.E164, err, tt.err)
				}
				digits := strings.Map(func(r rune) rune {
					if r >= '0' && r <= '9' {
						return r
					}
					return -1
				}, tt.raw)
				if len(digits) >= 6 && strings.Contains(err.Error(), digits[len(digits)-6:]) {
					t.Errorf("error %q contains the number", err)
				}
				return
			}
			if err != nil || p.E164 != tt.want || p.Region != tt.region {
				t.Fatalf("ParsePhone(%q) = %+v, %v; want %s in %s", tt.raw, p, err, tt.want, tt.region)
			}
		})
	}
}

func TestMaskPhone(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"CH", "+41791234567", "+41 79 *** ** 67"},
		{"LI", "+4236601234", "+423 66 *** 34"},
		{"DE 11 digits", "+4915123456789", "+49 15 *** ** ** 89"},
		{"FR", "+33612345678", "+33 61 *** ** 78"},
		{"unknown country", "+15551234567", "*** 67"},
		{"garbage", "x", "***"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mfa.MaskPhone(tt.in); got != tt.want {
				t.Errorf("MaskPhone(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestPhoneNumberPrintsMasked: a PhoneNumber printed or logged by mistake
// shows the masked form only.
func TestPhoneNumberPrintsMasked(t *testing.T) {
	t.Parallel()
	p, err := mfa.ParsePhone("079 123 45 67", nil)
	if err != nil {
		t.Fatal(err)
	}
	var b syncBuffer
	slog.New(slog.NewTextHandler(&b, nil)).Info("x", "phone", p)
	for _, out := range []string{fmt.Sprint(p), fmt.Sprintf("%v %s", p, p), b.String()} {
		if strings.Contains(out, "1234567") || !strings.Contains(out, "+41 79 *** ** 67") {
			t.Errorf("printed %q", out)
		}
	}
}
