package mfa

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// Errors of ParsePhone. They never contain the number itself.
var (
	// ErrPhoneInvalid means the input is not a phone number in a form we read.
	ErrPhoneInvalid = errors.New("not a valid phone number")
	// ErrPhoneCountry means the number belongs to a country that is not allowed.
	ErrPhoneCountry = errors.New("phone number of a country that is not allowed")
	// ErrPhoneNotMobile means the number is not in a mobile range and cannot receive SMS.
	ErrPhoneNotMobile = errors.New("not a mobile phone number")
)

// DefaultCountries are the regions whose numbers receive codes unless
// Config.Countries says otherwise: Switzerland and Liechtenstein.
var DefaultCountries = []string{"CH", "LI"}

// country is the part of a national numbering plan that ParsePhone checks.
type country struct {
	cc     string   // country calling code, digits only
	min    int      // shortest national significant number (NSN)
	max    int      // longest NSN
	trunk  bool     // national numbers are written with a leading 0
	mobile []string // NSN prefixes of mobile ranges
}

// countries are the regions that may be configured. Sources: ITU-T E.164
// assigned codes; the national numbering plans of OFCOM (CH: mobile 07x,
// NSN 9 digits), the Amt für Kommunikation (LI: mobile 6xx/7xx, NSN 7
// digits), RTR (AT: mobile 6xx), BNetzA (DE: mobile 15x/16x/17x), ARCEP
// (FR: mobile 6/7) and AGCOM (IT: mobile 3xx).
var countries = map[string]country{
	"CH": {cc: "41", min: 9, max: 9, trunk: true, mobile: []string{"7"}},
	"LI": {cc: "423", min: 7, max: 7, mobile: []string{"6", "7"}},
	"AT": {cc: "43", min: 10, max: 13, trunk: true, mobile: []string{"6"}},
	"DE": {cc: "49", min: 10, max: 11, trunk: true, mobile: []string{"15", "16", "17"}},
	"FR": {cc: "33", min: 9, max: 9, trunk: true, mobile: []string{"6", "7"}},
	"IT": {cc: "39", min: 9, max: 10, mobile: []string{"3"}},
}

// KnownCountry reports whether region (ISO 3166-1 alpha-2, e.g. "CH") may
// be listed in Config.Countries.
func KnownCountry(region string) bool {
	_, ok := countries[strings.ToUpper(region)]
	return ok
}

// PhoneNumber is a normalised mobile number. Its String and LogValue
// methods return the masked form, so that a number printed or logged by
// mistake does not leak; use E164 deliberately where the full number is
// needed (sending, storing sealed).
type PhoneNumber struct {
	// E164 is the number in E.164 form, e.g. "+41791234567".
	E164 string
	// Region is the ISO 3166-1 alpha-2 code of its country, e.g. "CH".
	Region string
}

// IsZero reports whether p holds no number.
func (p PhoneNumber) IsZero() bool { return p.E164 == "" }

// Masked returns the number with all but the first two and the last two
// digits of the national part hidden: "+41 79 *** ** 67".
func (p PhoneNumber) Masked() string { return MaskPhone(p.E164) }

// String returns the masked number.
func (p PhoneNumber) String() string { return p.Masked() }

// LogValue returns the masked number for log/slog.
func (p PhoneNumber) LogValue() slog.Value { return slog.StringValue(p.Masked()) }

// prefix is the number without its last four digits, the "number prefix"
// of the SMS-pumping budgets (many numbers of one range).
func (p PhoneNumber) prefix() string {
	if len(p.E164) <= 4 {
		return p.E164
	}
	return p.E164[:len(p.E164)-4]
}

// MaskPhone masks an E.164 number for display and logs: the country code,
// the first two and the last two digits of the national part stay, the
// rest becomes "*" in groups of three ("+41 79 *** ** 67"). Input that is
// not E.164 of a known country is masked entirely except its last two digits.
func MaskPhone(e164 string) string {
	digits := strings.TrimPrefix(e164, "+")
	cc := ""
	for _, c := range countries {
		if strings.HasPrefix(digits, c.cc) {
			cc = c.cc
			break
		}
	}
	if cc == "" || !allDigits(digits) || len(digits)-len(cc) < 5 {
		if len(digits) <= 2 {
			return "***"
		}
		return "*** " + digits[len(digits)-2:]
	}
	nsn := digits[len(cc):]
	hidden := len(nsn) - 4
	var groups []string
	for hidden > 0 {
		n := 3
		if hidden < 3 || hidden == 4 {
			n = min(hidden, 2)
		}
		groups = append(groups, strings.Repeat("*", n))
		hidden -= n
	}
	return "+" + cc + " " + nsn[:2] + " " + strings.Join(groups, " ") + " " + nsn[len(nsn)-2:]
}

// ParsePhone normalises a mobile number typed by a person to E.164 and
// checks that it belongs to one of the allowed regions (ISO 3166-1 alpha-2
// codes; DefaultCountries if none) and to a mobile range there.
//
// It reads "+41 79 123 45 67", "0041 79 123 45 67", "+41 (0)79 123 45 67"
// and, for the first allowed region with a trunk prefix, national numbers
// such as "079 123 45 67"; spaces, dots, dashes, slashes and parentheses
// are ignored. A number without any prefix is read as a Liechtenstein
// number when LI is allowed (LI numbers have no trunk prefix). Errors wrap
// ErrPhoneInvalid, ErrPhoneCountry or ErrPhoneNotMobile and never contain
// the number.
func ParsePhone(raw string, allowed []string) (PhoneNumber, error) {
	if len(allowed) == 0 {
		allowed = DefaultCountries
	}
	s := strings.TrimSpace(raw)
	s = strings.ReplaceAll(s, "(0)", "")
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == ' ' || r == '\u00a0' || r == '.' || r == '-' || r == '/' || r == '(' || r == ')':
		default:
			return PhoneNumber{}, fmt.Errorf("phone number: unexpected character: %w", ErrPhoneInvalid)
		}
	}
	s = b.String()

	var intl string // country code and NSN, digits only
	switch {
	case strings.HasPrefix(s, "+"):
		intl = s[1:]
	case strings.HasPrefix(s, "00"):
		intl = s[2:]
	case strings.HasPrefix(s, "0"):
		region, ok := firstTrunkRegion(allowed)
		if !ok {
			return PhoneNumber{}, fmt.Errorf("phone number: national form without a country code: %w", ErrPhoneInvalid)
		}
		intl = countries[region].cc + s[1:]
	default:
		if contains(allowed, "LI") && len(s) == countries["LI"].min {
			intl = countries["LI"].cc + s
		} else {
			return PhoneNumber{}, fmt.Errorf("phone number: no country code: %w", ErrPhoneInvalid)
		}
	}
	// E.164 numbers have at most 15 digits; the shortest allowed ones 10.
	if len(intl) < 8 || len(intl) > 16 { // 16: "+41 079…" before the 0 is dropped
		return PhoneNumber{}, fmt.Errorf("phone number: %d digits: %w", len(intl), ErrPhoneInvalid)
	}

	for _, region := range allowed {
		region = strings.ToUpper(region)
		c, ok := countries[region]
		if !ok || !strings.HasPrefix(intl, c.cc) {
			continue
		}
		nsn := intl[len(c.cc):]
		if c.trunk && strings.HasPrefix(nsn, "0") {
			nsn = nsn[1:] // "+41 079 …": the trunk 0 written after the country code
		}
		if len(nsn) < c.min || len(nsn) > c.max || len(c.cc)+len(nsn) > 15 {
			return PhoneNumber{}, fmt.Errorf("phone number: %d digits for %s: %w", len(nsn), region, ErrPhoneInvalid)
		}
		mobile := false
		for _, p := range c.mobile {
			mobile = mobile || strings.HasPrefix(nsn, p)
		}
		if !mobile {
			return PhoneNumber{}, fmt.Errorf("phone number: %s: %w", region, ErrPhoneNotMobile)
		}
		return PhoneNumber{E164: "+" + c.cc + nsn, Region: region}, nil
	}
	return PhoneNumber{}, fmt.Errorf("phone number: %w (allowed: %s)", ErrPhoneCountry, strings.Join(allowed, ", "))
}

func firstTrunkRegion(allowed []string) (string, bool) {
	for _, r := range allowed {
		r = strings.ToUpper(r)
		if c, ok := countries[r]; ok && c.trunk {
			return r, true
		}
	}
	return "", false
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if strings.EqualFold(s, v) {
			return true
		}
	}
	return false
}

func allDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
