package delegation

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// uidWeights are the weights of the first eight digits of a UID (BFS,
// "Berechnung der Prüfziffer", Verordnung über die UID Art. 5): the check
// digit is 11 minus the weighted sum modulo 11, 0 when that is 11; a UID
// whose check digit would be 10 is never issued.
var uidWeights = [8]int{5, 4, 3, 2, 7, 6, 5, 4}

// uidCheckDigit returns the check digit for eight digits, or -1 if no UID
// with these digits exists.
func uidCheckDigit(digits string) int {
	sum := 0
	for i, w := range uidWeights {
		sum += int(digits[i]-'0') * w
	}
	c := 11 - sum%11
	switch c {
	case 11:
		return 0
	case 10:
		return -1
	}
	return c
}

// ParseUID reads a Swiss business identification number (UID,
// "Unternehmens-Identifikationsnummer") as people write it — "CHE-123.456.789",
// "CHE123456789", "che 123 456 789", with an optional "MWST"/"TVA"/"IVA"/"HR"
// suffix — and returns its canonical form "CHE-123.456.789" and true if it
// has nine digits with a correct check digit.
func ParseUID(s string) (string, bool) {
	if len(s) > 64 {
		return "", false
	}
	s = strings.ToUpper(strings.TrimSpace(norm.NFKC.String(s)))
	for _, suffix := range []string{"MWST", "TVA", "IVA", "VAT", "HR", "RC", "RI"} {
		if t, ok := strings.CutSuffix(s, suffix); ok {
			s = strings.TrimSpace(t)
			break
		}
	}
	rest, ok := strings.CutPrefix(s, "CHE")
	if !ok {
		return "", false
	}
	digits := make([]byte, 0, 9)
	for _, r := range rest {
		switch {
		case r >= '0' && r <= '9':
			if len(digits) == 9 {
				return "", false
			}
			digits = append(digits, byte(r))
		case r == '.' || r == '-' || unicode.IsSpace(r):
		default:
			return "", false
		}
	}
	if len(digits) != 9 {
		return "", false
	}
	if c := uidCheckDigit(string(digits[:8])); c < 0 || c != int(digits[8]-'0') {
		return "", false
	}
	d := string(digits)
	return "CHE-" + d[0:3] + "." + d[3:6] + "." + d[6:9], true
}
