package status

import (
	"fmt"
	"strconv"
	"strings"
)

// A reference number names a case to people: "2026-000123-4" is the year
// of creation, a running number per year (unique per installation: the
// store counts it in the creation's transaction) and a check digit.
// The check digit is Damm's (quasigroup of order 10), computed over the
// digits of year and number: it catches every single wrong digit and every
// swap of two neighbouring digits, the usual slips when a number is read
// out on the phone or typed from a letter.

// dammTable is the weakly totally anti-symmetric quasigroup of Damm (2004).
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

// damm returns the check digit of a string of decimal digits.
func damm(digits string) byte {
	var interim byte
	for i := 0; i < len(digits); i++ {
		interim = dammTable[interim][digits[i]-'0']
	}
	return interim
}

// FormatReference returns the reference number of the n-th case of year.
// The number has at least six digits.
func FormatReference(year int, n int64) string {
	body := fmt.Sprintf("%04d%06d", year, n)
	return fmt.Sprintf("%04d-%06d-%c", year, n, '0'+damm(body))
}

// ValidReference reports whether s is a well-formed reference number with a
// correct check digit.
func ValidReference(s string) bool {
	parts := strings.Split(s, "-")
	if len(parts) != 3 || len(parts[0]) != 4 || len(parts[1]) < 6 || len(parts[2]) != 1 {
		return false
	}
	// Only the canonical form (FormatReference): zeros pad to six digits, no further.
	if len(parts[1]) > 6 && parts[1][0] == '0' {
		return false
	}
	for _, p := range parts {
		if _, err := strconv.ParseUint(p, 10, 64); err != nil {
			return false
		}
	}
	return damm(parts[0]+parts[1]+parts[2]) == 0
}
