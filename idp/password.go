package idp

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// PasswordProblem names one reason why a new password is refused. The
// values are stable identifiers that the login pages translate into a reason
// and guidance (NIST SP 800-63B-4 §3.1.1.2: a rejection gives the reason).
type PasswordProblem string

// Password problems, in the order CheckPassword reports them.
const (
	PwTooShort PasswordProblem = "too_short" // fewer than MinPasswordLength code points
	PwNoUpper  PasswordProblem = "no_upper"  // no upper-case letter
	PwNoLower  PasswordProblem = "no_lower"  // no lower-case letter
	PwNoDigit  PasswordProblem = "no_digit"  // no digit
	PwCommon   PasswordProblem = "common"    // a common or breached password, or a thin disguise of one
	PwContext  PasswordProblem = "context"   // contains the user's name, e-mail local part or a service word
	PwTooLong  PasswordProblem = "too_long"  // more than MaxPasswordLength code points
)

// Password length limits, counted in Unicode code points after NFKC
// normalisation (NIST SP 800-63B-4 §3.1.1.2: each code point is one
// character). The maximum only guards against denial of service; it is far
// above any passphrase, and passwords are never truncated.
const (
	MinPasswordLength = 12
	MaxPasswordLength = 1024
)

// minCoreLength is the shortest "core" (the password without its leading and
// trailing digits and symbols) that the common-password check considers: a
// shorter core is just an ornament on an otherwise random password.
const minCoreLength = 4

// minContextToken is the shortest context word (a name, a part of the e-mail
// local part) that counts: shorter ones ("Li", "Eva") occur inside ordinary
// words too often to be refused.
const minContextToken = 4

// serviceWords are the context-specific words no password may contain
// (ASVS 5.0 6.1.2 and 6.2.11): the name of the service and of its operator,
// in the national languages ("canton" covers French "canton" and Italian
// "cantone").
var serviceWords = []string{"kundencenter", "kanton", "canton"}

// ServiceWords returns the context-specific words (service and operator
// names) that CheckPassword refuses inside any password, for documentation.
func ServiceWords() []string {
	return append([]string(nil), serviceWords...)
}

// localCommon supplements the shipped list with bases that are common in
// Switzerland but missing from it (the list spells "zurich" only).
var localCommon = []string{"zuerich", "zürich", "züri", "zueri", "fruehling", "frühling", "willkommen", "svizzera", "genf"}

//go:embed common-passwords.txt.gz
var commonPasswordsGz []byte

var (
	commonOnce sync.Once
	commonSet  map[string]struct{}
)

// commonPasswords returns the set of common passwords, loading the embedded
// list on first use. The list is part of the binary, so a failure to read it
// is a build defect and panics.
func commonPasswords() map[string]struct{} {
	commonOnce.Do(func() {
		set, err := loadCommon(commonPasswordsGz)
		if err != nil {
			panic(fmt.Sprintf("idp: embedded common-password list: %v", err))
		}
		for _, w := range localCommon {
			set[w] = struct{}{}
		}
		commonSet = set
	})
	return commonSet
}

// loadCommon reads a gzipped list with one password per line into a set.
func loadCommon(gz []byte) (map[string]struct{}, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("open gzip: %w", err)
	}
	defer zr.Close()
	set := make(map[string]struct{}, 50000)
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		if w := strings.TrimSpace(sc.Text()); w != "" {
			set[strings.ToLower(w)] = struct{}{}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read list: %w", err)
	}
	return set, nil
}

// NormalizePassword returns the NFKC normalisation of pw, so that a password
// typed with composed or decomposed accents ("é" as one code point or as "e"
// plus a combining accent) is the same password. CheckPassword counts and
// the Hasher hashes the normalised form.
func NormalizePassword(pw string) string {
	return norm.NFKC.String(pw)
}

// CheckPassword reports every problem of a new password, in the order of the
// Pw* constants, or nil when the password is acceptable. context holds the
// user's own words (given name, family name, e-mail address); an e-mail
// address contributes its local part. The rule is the mission's: at least
// MinPasswordLength code points after NFKC with an upper-case letter, a
// lower-case letter and a digit, where "upper-case" and "lower-case" follow
// Unicode (unicode.IsUpper counts "Ä"). On top come the checks the standards
// demand: no common or breached password (also when disguised by leetspeak
// or wrapped in digits and symbols), no context word. A password longer than
// MaxPasswordLength is reported as PwTooLong alone, without further checks.
//
// The composition rule deviates from ASVS 5.0 6.2.5 and NIST SP 800-63B-4
// §3.1.1.2, which forbid composition rules; it is a contractual requirement
// and refuses all-lower-case passphrases such as "correct horse battery
// staple".
func CheckPassword(pw string, context ...string) []PasswordProblem {
	if utf8.RuneCountInString(pw) > MaxPasswordLength {
		return []PasswordProblem{PwTooLong}
	}
	pw = NormalizePassword(pw)
	if utf8.RuneCountInString(pw) > MaxPasswordLength {
		return []PasswordProblem{PwTooLong}
	}

	var problems []PasswordProblem
	if utf8.RuneCountInString(pw) < MinPasswordLength {
		problems = append(problems, PwTooShort)
	}
	var upper, lower, digit bool
	for _, r := range pw {
		upper = upper || unicode.IsUpper(r)
		lower = lower || unicode.IsLower(r)
		digit = digit || unicode.IsDigit(r)
	}
	if !upper {
		problems = append(problems, PwNoUpper)
	}
	if !lower {
		problems = append(problems, PwNoLower)
	}
	if !digit {
		problems = append(problems, PwNoDigit)
	}
	low := strings.ToLower(pw)
	if isCommon(low) {
		problems = append(problems, PwCommon)
	}
	if hasContext(low, context) {
		problems = append(problems, PwContext)
	}
	return problems
}

// leetI and leetL undo the common leetspeak substitutions; they differ only
// in what "1" stands for.
var (
	leetI = strings.NewReplacer("0", "o", "1", "i", "3", "e", "4", "a", "5", "s", "7", "t", "@", "a", "$", "s")
	leetL = strings.NewReplacer("0", "o", "1", "l", "3", "e", "4", "a", "5", "s", "7", "t", "@", "a", "$", "s")
)

// isLeet reports whether r is a character the leet replacers turn into a letter.
func isLeet(r rune) bool {
	return strings.ContainsRune("013457@$", r)
}

// maxLeetEdge is how many leet characters next to the letters of a password
// are tried as part of its core ("@dmin", "passw0rd$").
const maxLeetEdge = 4

// isCommon reports whether the lower-cased, normalised password is in the
// common list, or its core is: the core is the password without the digits
// and symbols around its letters, with leetspeak undone, and counts only
// when it has at least minCoreLength code points. Because a digit or symbol
// next to the letters may itself be leetspeak ("@dmin2024", "passw0rd1"), up
// to maxLeetEdge of them on each side are tried as part of the core.
func isCommon(low string) bool {
	set := commonPasswords()
	if _, ok := set[low]; ok {
		return true
	}
	runes := []rune(low)
	first, last := -1, -1
	for i, r := range runes {
		if unicode.IsLetter(r) {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return false
	}
	for lead := 0; lead <= maxLeetEdge && first-lead >= 0; lead++ {
		if lead > 0 && !isLeet(runes[first-lead]) {
			break
		}
		for trail := 0; trail <= maxLeetEdge && last+trail < len(runes); trail++ {
			if trail > 0 && !isLeet(runes[last+trail]) {
				break
			}
			core := string(runes[first-lead : last+trail+1])
			for _, r := range []*strings.Replacer{leetI, leetL} {
				c := r.Replace(core)
				if utf8.RuneCountInString(c) < minCoreLength {
					continue
				}
				if _, ok := set[c]; ok {
					return true
				}
			}
		}
	}
	return false
}

// hasContext reports whether the lower-cased, normalised password contains
// a service word or a word from the user's context, also after leetspeak is
// undone and with umlauts and accents written out or dropped.
func hasContext(low string, context []string) bool {
	candidates := []string{low, leetI.Replace(low), leetL.Replace(low)}
	words := append([]string(nil), serviceWords...)
	for _, c := range context {
		words = append(words, contextTokens(c)...)
	}
	for _, w := range words {
		for _, c := range candidates {
			if strings.Contains(c, w) {
				return true
			}
		}
	}
	return false
}

// contextTokens splits one context value into the words a password must not
// contain: for an e-mail address only the local part counts; the whole value
// and each of its letter-and-digit runs of at least minContextToken code
// points are returned, each also with umlauts written out ("müller" →
// "mueller") and with accents dropped ("müller" → "muller", "rené" → "rene").
func contextTokens(value string) []string {
	v := strings.ToLower(NormalizePassword(strings.TrimSpace(value)))
	if i := strings.LastIndexByte(v, '@'); i >= 0 {
		v = v[:i]
	}
	parts := strings.FieldsFunc(v, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	parts = append(parts, v)
	var tokens []string
	for _, p := range parts {
		if utf8.RuneCountInString(p) < minContextToken {
			continue
		}
		tokens = append(tokens, p, umlauts.Replace(p), stripMarks(p))
	}
	return tokens
}

// umlauts writes German umlauts out the way they are typed without them.
var umlauts = strings.NewReplacer("ä", "ae", "ö", "oe", "ü", "ue", "ß", "ss")

// stripMarks removes combining marks (accents) after canonical decomposition.
func stripMarks(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(r)
		}
	}
	return norm.NFC.String(b.String())
}
