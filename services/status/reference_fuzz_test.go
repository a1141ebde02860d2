package status

import (
	"strconv"
	"strings"
	"testing"
)

// FuzzValidReference checks the reference-number parser on arbitrary
// input: an accepted reference has the documented shape, and formatting
// its year and number again gives exactly the input (so one case has one
// spelling); every reference FormatReference makes is valid.
func FuzzValidReference(f *testing.F) {
	for _, s := range []string{
		FormatReference(2026, 1), FormatReference(2026, 123), FormatReference(2027, 1234567),
		"2026-000123-0", "2026-000123", "2026--000123-4", "+026-000123-4", "2026-+00123-4", "2026-00012a-4",
		"２０２６-000123-4", "2026-000123-4-1", "", "----", "2026-99999999999999999999-1", "0000-000000-0",
	} {
		f.Add(s)
	}
	f.Add(FormatReference(9999, 999999999))
	f.Fuzz(func(t *testing.T, s string) {
		if !ValidReference(s) {
			return
		}
		parts := strings.Split(s, "-")
		year, err1 := strconv.Atoi(parts[0])
		n, err2 := strconv.ParseInt(parts[1], 10, 64)
		if err1 != nil || err2 != nil || n < 0 {
			t.Fatalf("ValidReference(%q) = true, but its parts do not parse (%v, %v)", s, err1, err2)
		}
		if again := FormatReference(year, n); again != s {
			t.Fatalf("ValidReference(%q) = true, but FormatReference(%d, %d) = %q", s, year, n, again)
		}
	})
}
