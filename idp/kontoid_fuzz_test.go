package idp

import (
	"strings"
	"testing"
)

// FuzzParseKontoID checks the Konto-ID parser on arbitrary input: an
// accepted input yields the canonical grouped form with a correct check
// digit, parsing that form again gives it back, a rejected input yields
// nothing, and changing one digit of an accepted ID makes it rejected.
func FuzzParseKontoID(f *testing.F) {
	id := NewKontoID()
	for _, s := range []string{
		id, strings.ReplaceAll(id, "-", ""), strings.ReplaceAll(id, "-", " "), strings.ReplaceAll(id, "-", "."),
		"5724-0000-0000", "0000-0000-0000", "1234 5678 9012", "１２３４-５６７８-９０１２", "1234\u20135678\u20149012",
		"", "-", "12345678901", "1234567890123", "1234-5678-901x", "\xff\xfe", "\u00b9\u00b2\u00b3",
		strings.Repeat("0", 64), strings.Repeat("0", 65), "0\u0300000-0000-0000",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := ParseKontoID(s)
		if !ok {
			if got != "" {
				t.Fatalf("ParseKontoID(%q) = %q, false: a rejected input yields a value", s, got)
			}
			return
		}
		if !kontoIDFormat.MatchString(got) {
			t.Fatalf("ParseKontoID(%q) = %q, not canonical", s, got)
		}
		plain := strings.ReplaceAll(got, "-", "")
		if damm(plain) != 0 {
			t.Fatalf("ParseKontoID(%q) = %q with a wrong check digit", s, got)
		}
		if again, ok := ParseKontoID(got); !ok || again != got {
			t.Fatalf("ParseKontoID(%q) = %q, %v; want it back", got, again, ok)
		}
		// Damm: every single-digit change is detected.
		for i := range len(plain) {
			b := []byte(plain)
			b[i] = '0' + (b[i]-'0'+1)%10
			if _, ok := ParseKontoID(string(b)); ok {
				t.Fatalf("ParseKontoID(%q) accepted after changing digit %d of %q", b, i, plain)
			}
		}
	})
}
