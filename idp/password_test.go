package idp

import (
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

func TestCheckPassword(t *testing.T) {
	self := []string{"Hans", "Müller", "hans.mueller@example.ch"}
	tests := []struct {
		name    string
		pw      string
		context []string
		want    []PasswordProblem
	}{
		{name: "good", pw: "Gletscher7Wanderung", want: nil},
		{name: "exactly twelve", pw: "Gipfel9Rauch", want: nil},
		{name: "eleven", pw: "Gipfel9Rauc", want: []PasswordProblem{PwTooShort}},
		{name: "empty", pw: "", want: []PasswordProblem{PwTooShort, PwNoUpper, PwNoLower, PwNoDigit}},
		{name: "no upper", pw: "gletscher7wanderung", want: []PasswordProblem{PwNoUpper}},
		{name: "no lower", pw: "GLETSCHER7WANDERUNG", want: []PasswordProblem{PwNoLower}},
		{name: "no digit", pw: "GletscherWanderung", want: []PasswordProblem{PwNoDigit}},
		{name: "umlaut counts as upper", pw: "Äpfelbäume9xyz", want: nil},
		{name: "umlaut counts as lower", pw: "ÄPFELBÄUME9XYö", want: nil},
		{name: "only umlaut upper", pw: "äpfelbäume9xyz", want: []PasswordProblem{PwNoUpper}},
		{name: "letters without case", pw: "登山口登山口登山口9Ab", want: nil},
		{name: "all problems but length", pw: "password", want: []PasswordProblem{PwTooShort, PwNoUpper, PwNoDigit, PwCommon}},

		// Length counts code points after NFKC: the ligature "ﬁ" is two.
		{name: "ligature reaches twelve", pw: "Gipfel9ﬁxxy", want: nil},
		{name: "decomposed accents count once", pw: "Cafe\u0301Creme\u0300xy9", want: nil},
		{name: "sixty-four", pw: strings.Repeat("Wald9Berg", 7) + "X", want: nil},
		{name: "one hundred twenty-eight", pw: strings.Repeat("Wald9Berg", 14) + "Xy", want: nil},
		{name: "at the maximum", pw: strings.Repeat("Ab9ö", MaxPasswordLength/4), want: nil},
		{name: "over the maximum", pw: strings.Repeat("Ab9ö", MaxPasswordLength/4) + "x", want: []PasswordProblem{PwTooLong}},
		{name: "over the maximum after NFKC", pw: strings.Repeat("Ab9ö", MaxPasswordLength/4-1) + "Ab9ﬃ", want: []PasswordProblem{PwTooLong}},

		// Common and breached passwords, also in disguise.
		{name: "leet with trailing digits", pw: "Passw0rd1234", want: []PasswordProblem{PwCommon}},
		{name: "leet with symbols", pw: "P@ssw0rd!2024", want: []PasswordProblem{PwCommon}},
		{name: "leading symbols and leet edge", pw: "!!@dm1n1strat0r99", want: []PasswordProblem{PwNoUpper, PwCommon}},
		{name: "leet one as l", pw: "Ba5eba11-2024", want: []PasswordProblem{PwCommon}},
		{name: "common with capital", pw: "Football12345", want: []PasswordProblem{PwCommon}},
		{name: "listed as is", pw: "Qwertyuiop123", want: []PasswordProblem{PwCommon}},
		{name: "local supplement", pw: "Zuerich2025!", want: []PasswordProblem{PwCommon}},
		{name: "local supplement with umlaut", pw: "Zürich20251!", want: []PasswordProblem{PwCommon}},
		{name: "German word", pw: "Schatzi123456", want: []PasswordProblem{PwCommon}},
		{name: "short core is only ornament", pw: "7Abc9Xyzw8Qr", want: nil},
		{name: "passphrase containing a common word", pw: "Password Gletscher 9 Wald", want: nil},
		{name: "digits only", pw: "123456789012", want: []PasswordProblem{PwNoUpper, PwNoLower, PwCommon}},

		// Context words.
		{name: "service word", pw: "Kanton2024Zug!", want: []PasswordProblem{PwContext}},
		{name: "service word upper-case", pw: "KUNDENCENTER9a", want: []PasswordProblem{PwContext}},
		{name: "service word in French", pw: "CantonDeVaud9", want: []PasswordProblem{PwContext}},
		{name: "service word in leet", pw: "K4nt0nZug2024", want: []PasswordProblem{PwContext}},
		{name: "given name", pw: "Hans2024Gipfel", context: self, want: []PasswordProblem{PwContext}},
		{name: "family name written out", pw: "Mueller9Gipfel", context: self, want: []PasswordProblem{PwContext}},
		{name: "family name without accent", pw: "Muller9Gipfelx", context: self, want: []PasswordProblem{PwContext}},
		{name: "family name as typed", pw: "MÜLLER9gipfel", context: self, want: []PasswordProblem{PwContext}},
		{name: "e-mail local part", pw: "Gipfel9hans.mueller", context: self, want: []PasswordProblem{PwContext}},
		{name: "e-mail domain is fine", pw: "Example9Gipfel", context: self, want: nil},
		{name: "short context word ignored", pw: "Evangelium9Xy", context: []string{"Eva"}, want: nil},
		{name: "blank context", pw: "Gletscher7Wanderung", context: []string{"", " "}, want: nil},
		{name: "several kinds at once", pw: "kanton1234", want: []PasswordProblem{PwTooShort, PwNoUpper, PwContext}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CheckPassword(tt.pw, tt.context...)
			if !slices.Equal(got, tt.want) {
				t.Errorf("CheckPassword(%q) = %v, want %v", tt.pw, got, tt.want)
			}
		})
	}
}

func TestCommonPasswordList(t *testing.T) {
	set := commonPasswords()
	// 49,233 lines in the shipped list plus the local supplement (some of
	// which the list may already hold).
	if n := len(set); n < 49233 || n > 49233+len(localCommon) {
		t.Errorf("common set has %d entries, want about 49233", n)
	}
	for _, w := range []string{"password", "123456", "passwort", "zurich", "zuerich"} {
		if _, ok := set[w]; !ok {
			t.Errorf("%q missing from the common set", w)
		}
	}
}

func TestNormalizePassword(t *testing.T) {
	tests := []struct {
		name string
		a, b string
	}{
		{name: "composed and decomposed", a: "Caf\u00e9", b: "Cafe\u0301"},
		{name: "full-width digits", a: "Abc１２３", b: "Abc123"},
		{name: "ligature", a: "ﬁx", b: "fix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if NormalizePassword(tt.a) != NormalizePassword(tt.b) {
				t.Errorf("NormalizePassword(%q) != NormalizePassword(%q)", tt.a, tt.b)
			}
		})
	}
}

func TestServiceWordsIsACopy(t *testing.T) {
	w := ServiceWords()
	w[0] = "changed"
	if ServiceWords()[0] == "changed" {
		t.Error("ServiceWords exposes the package's slice")
	}
}

// referenceProblems states the length and character-class rules as plainly
// as possible, for the fuzz test to hold CheckPassword against.
func referenceProblems(pw string) []PasswordProblem {
	if utf8.RuneCountInString(pw) > MaxPasswordLength {
		return []PasswordProblem{PwTooLong}
	}
	runes := []rune(norm.NFKC.String(pw))
	if len(runes) > MaxPasswordLength {
		return []PasswordProblem{PwTooLong}
	}
	var out []PasswordProblem
	if len(runes) < MinPasswordLength {
		out = append(out, PwTooShort)
	}
	if !slices.ContainsFunc(runes, unicode.IsUpper) {
		out = append(out, PwNoUpper)
	}
	if !slices.ContainsFunc(runes, unicode.IsLower) {
		out = append(out, PwNoLower)
	}
	if !slices.ContainsFunc(runes, unicode.IsDigit) {
		out = append(out, PwNoDigit)
	}
	return out
}

var problemRank = map[PasswordProblem]int{
	PwTooShort: 1, PwNoUpper: 2, PwNoLower: 3, PwNoDigit: 4, PwCommon: 5, PwContext: 6, PwTooLong: 7,
}

func FuzzCheckPassword(f *testing.F) {
	for _, s := range []string{"", "Passw0rd1234", "Gletscher7Wanderung", "Äpfelbäume9xyz", "Gipfel9ﬁxxy",
		"\xff\xfeAb1", "K4nt0nZug2024", strings.Repeat("Ab9ﬃ", 300)} {
		f.Add(s, "Hans")
	}
	f.Fuzz(func(t *testing.T, pw, name string) {
		got := CheckPassword(pw, name, name+"@example.ch")
		var classes []PasswordProblem
		last := 0
		for _, p := range got {
			r, ok := problemRank[p]
			if !ok {
				t.Fatalf("unknown problem %q", p)
			}
			if r <= last {
				t.Fatalf("problems out of order or repeated: %v", got)
			}
			last = r
			if p != PwCommon && p != PwContext {
				classes = append(classes, p)
			}
		}
		if want := referenceProblems(pw); !slices.Equal(classes, want) {
			t.Fatalf("CheckPassword(%q) length/class problems = %v, want %v", pw, classes, want)
		}
	})
}
