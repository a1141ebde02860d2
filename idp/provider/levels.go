package provider

import (
	"slices"

	"github.com/kanton/kundencenter/idp"
)

// Levels is the ordered list of authentication levels (acr values), weakest
// first, following eCH-0170's quality-of-authentication vocabulary (see
// idp.Levels for what each level means).
type Levels []string

// DefaultLevels are the acr values the provider advertises.
var DefaultLevels = Levels(idp.Levels)

func (l Levels) rank(acr string) int { return slices.Index(l, acr) }

// Meets reports whether a session at level have satisfies requested: the
// session must reach the lowest of the requested values that the provider
// knows (OIDC Core §5.5.1.1 treats acr_values as voluntary; unknown values
// are ignored, and a request naming only unknown values is met by any level).
func (l Levels) Meets(have string, requested []string) bool {
	need := -1
	for _, r := range requested {
		if i := l.rank(r); i >= 0 && (need < 0 || i < need) {
			need = i
		}
	}
	return need < 0 || l.rank(have) >= need
}

// Max returns the higher of two levels.
func (l Levels) Max(a, b string) string {
	if l.rank(b) > l.rank(a) {
		return b
	}
	return a
}
