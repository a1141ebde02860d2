package idp

import (
	"crypto/rand"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// A Konto-ID is the account number a citizen reads out on the phone or types
// into a form: 11 random digits and one check digit, shown in groups of four
// as "1234-5678-9012". It is not a secret and not the OIDC subject.
//
// The check digit follows the Damm algorithm (H. Michael Damm, 2004): it is
// computed with a totally anti-symmetric quasigroup of order 10, and so it
// detects every single-digit error and every transposition of two adjacent
// digits, which are the common mistakes when copying a number.
const (
	kontoIDDigits = 12 // 11 random digits plus the check digit
	kontoIDGroup  = 4  // digits per group in the canonical form
	kontoIDMaxLen = 64 // longest input ParseKontoID looks at
)

// dammTable is the quasigroup of the Damm algorithm: the interim digit
// after digit d with interim i is dammTable[i][d].
var dammTable = [10][10]byte{
	{0, 3, 1, 7, 5, 9, 8, 6, 4, 2},
	{7, 0, 9, 2, 1, 5, 4, 8, 6, 3},
	{4, 2, 0, 6, 8, 7, 1, 3, 5, 9},
	{1, 7, 5, 0, 9, 8, 3, 4, 2, 6},
	{6, 1, 2, 3, 0, 4, 5, 9, 7, 8},
	{3, 6, 7, 4, 2, 0, 9, 5, 8, 1},
	{5, 8, 6, 9, 7, 2, 0, 1, 3, 4},
	{8, 9, 4, 5, 3, 6, 2, 0, 1, 7},
	{9, 4, 3, 8, 6, 1, 7, 2, 0, 5},
	{2, 5, 8, 1, 4, 3, 6, 7, 9, 0},
}

// damm returns the Damm interim digit of the ASCII digits in s: the check
// digit to append when s has none, and 0 when s ends in a correct one.
func damm(s string) byte {
	var interim byte
	for i := 0; i < len(s); i++ {
		interim = dammTable[interim][s[i]-'0']
	}
	return interim
}

// NewKontoID returns a fresh random Konto-ID in its canonical grouped form
// ("1234-5678-9012"). Uniqueness is the store's job (ErrConflict on a
// clash); with 10^11 values a retry is rare.
func NewKontoID() string {
	digits := make([]byte, 0, kontoIDDigits)
	var buf [16]byte
	for len(digits) < kontoIDDigits-1 {
		rand.Read(buf[:]) // crypto/rand.Read never fails
		for _, b := range buf {
			// Rejection sampling: 250 is the largest multiple of 10 below
			// 256, so every digit is equally likely.
			if b < 250 && len(digits) < kontoIDDigits-1 {
				digits = append(digits, '0'+b%10)
			}
		}
	}
	digits = append(digits, '0'+damm(string(digits)))
	return groupKontoID(string(digits))
}

// ParseKontoID reads a Konto-ID as a person types it: digits in any
// grouping, separated by spaces, dashes or dots (full-width digits and other
// compatibility forms are normalised first). It returns the canonical
// grouped form and true when there are exactly 12 digits with a correct
// check digit, and "" and false otherwise.
func ParseKontoID(s string) (string, bool) {
	if len(s) > kontoIDMaxLen {
		return "", false
	}
	digits := make([]byte, 0, kontoIDDigits)
	for _, r := range norm.NFKC.String(s) {
		switch {
		case r >= '0' && r <= '9':
			if len(digits) == kontoIDDigits {
				return "", false
			}
			digits = append(digits, byte(r))
		case r == '.' || unicode.IsSpace(r) || unicode.Is(unicode.Pd, r):
		default:
			return "", false
		}
	}
	if len(digits) != kontoIDDigits || damm(string(digits)) != 0 {
		return "", false
	}
	return groupKontoID(string(digits)), true
}

// groupKontoID writes 12 digits as three dash-separated groups of four.
func groupKontoID(digits string) string {
	var b strings.Builder
	for i := 0; i < len(digits); i += kontoIDGroup {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(digits[i : i+kontoIDGroup])
	}
	return b.String()
}
