package idp

import (
	"regexp"
	"strings"
	"testing"
)

func TestDammReference(t *testing.T) {
	// The worked example of the Damm algorithm: 572 gets check digit 4.
	if got := damm("572"); got != 4 {
		t.Errorf("damm(572) = %d, want 4", got)
	}
	if got := damm("5724"); got != 0 {
		t.Errorf("damm(5724) = %d, want 0", got)
	}
}

var kontoIDFormat = regexp.MustCompile(`^[0-9]{4}-[0-9]{4}-[0-9]{4}$`)

func TestNewKontoID(t *testing.T) {
	seen := make(map[string]bool)
	for range 1000 {
		id := NewKontoID()
		if !kontoIDFormat.MatchString(id) {
			t.Fatalf("NewKontoID() = %q, not in the form 1234-5678-9012", id)
		}
		if got, ok := ParseKontoID(id); !ok || got != id {
			t.Fatalf("ParseKontoID(%q) = %q, %v", id, got, ok)
		}
		if seen[id] {
			t.Fatalf("NewKontoID repeated %q within 1000 draws", id)
		}
		seen[id] = true
	}
}

func TestNewKontoIDDigitsUniform(t *testing.T) {
	// A coarse check that the random digits are all used, not a
	// statistical test: 2000 IDs give 22,000 random digits.
	var count [10]int
	for range 2000 {
		for _, c := range strings.ReplaceAll(NewKontoID(), "-", "")[:kontoIDDigits-1] {
			count[c-'0']++
		}
	}
	for d, n := range count {
		if n < 1500 || n > 2900 { // expectation 2200
			t.Errorf("digit %d drawn %d times of 22000", d, n)
		}
	}
}

func TestParseKontoID(t *testing.T) {
	const canon = "1234-5678-9018"
	tests := []struct {
		name string
		in   string
		want string
		ok   bool
	}{
		{name: "canonical", in: canon, want: canon, ok: true},
		{name: "bare digits", in: "123456789018", want: canon, ok: true},
		{name: "spaces", in: " 1234 5678 9018 ", want: canon, ok: true},
		{name: "dots", in: "1234.5678.9018", want: canon, ok: true},
		{name: "odd grouping", in: "123-456-789-018", want: canon, ok: true},
		{name: "full-width digits", in: "１２３４－５６７８－９０１８", want: canon, ok: true},
		{name: "no-break spaces", in: "1234\u00a05678\u00a09018", want: canon, ok: true},
		{name: "en dashes", in: "1234–5678–9018", want: canon, ok: true},
		{name: "wrong check digit", in: "1234-5678-9019", ok: false},
		{name: "too few digits", in: "1234-5678-918", ok: false},
		{name: "too many digits", in: "1234-5678-90180", ok: false},
		{name: "letters", in: "1234-5678-901A", ok: false},
		{name: "prefix", in: "KC-1234-5678-9018", ok: false},
		{name: "other script digits", in: "١٢٣٤٥٦٧٨٩٠١٨", ok: false},
		{name: "slashes", in: "1234/5678/9018", ok: false},
		{name: "empty", in: "", ok: false},
		{name: "only separators", in: " - . ", ok: false},
		{name: "over-long input", in: strings.Repeat(" ", 100) + canon, ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseKontoID(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Errorf("ParseKontoID(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// TestKontoIDDetectsTypos checks the Damm property on fixed and random IDs:
// every single-digit substitution and every transposition of two different
// adjacent digits fails the check.
func TestKontoIDDetectsTypos(t *testing.T) {
	ids := []string{"1234-5678-9018", "5724-0000-0000", "0000-0000-0000"}
	for range 20 {
		ids = append(ids, NewKontoID())
	}
	for _, id := range ids {
		t.Run(id, func(t *testing.T) {
			digits := []byte(strings.ReplaceAll(id, "-", ""))
			if _, ok := ParseKontoID(string(digits)); !ok {
				t.Fatalf("%s itself is not valid", id)
			}
			for i := range digits {
				for d := byte('0'); d <= '9'; d++ {
					if d == digits[i] {
						continue
					}
					typo := append([]byte(nil), digits...)
					typo[i] = d
					if _, ok := ParseKontoID(string(typo)); ok {
						t.Errorf("substitution %s accepted", typo)
					}
				}
			}
			for i := 0; i+1 < len(digits); i++ {
				if digits[i] == digits[i+1] {
					continue
				}
				typo := append([]byte(nil), digits...)
				typo[i], typo[i+1] = typo[i+1], typo[i]
				if _, ok := ParseKontoID(string(typo)); ok {
					t.Errorf("transposition %s accepted", typo)
				}
			}
		})
	}
}
