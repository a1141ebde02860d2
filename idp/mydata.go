package idp

import (
	"context"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// PurposeEmailChange is the action token of the link that confirms a new
// e-mail address.
const PurposeEmailChange ActionPurpose = "email_change"

// EmailChangeTTL is how long the confirmation link of a new address is valid.
const EmailChangeTTL = 24 * time.Hour

// Locales are the languages an account can choose (pages and e-mails).
var Locales = []string{"de", "fr", "it", "en"}

// Country values of the address: Switzerland, Liechtenstein, or another
// country by name.
const (
	CountrySwitzerland   = "CH"
	CountryLiechtenstein = "LI"
)

// Rate limits of the account console: password checks and mails per
// account (the password is guessable through these forms, too).
var (
	emailChangeRule = Rule{Name: "email_change", Limit: 5, Window: time.Hour}
	deleteRule      = Rule{Name: "delete_acct", Limit: 5, Window: 15 * time.Minute}
)

// DataInput is what "Meine Daten" submits. Country is "CH", "LI" or
// "other" (then CountryName names it).
type DataInput struct {
	GivenName, FamilyName                     string
	Street, HouseNumber, PostalCode, Locality string
	Country, CountryName                      string
	BirthDate                                 string // TT.MM.JJJJ as typed (see ParseDate) or YYYY-MM-DD
	Locale                                    string
}

var (
	houseNumberRE = regexp.MustCompile(`^[0-9]{1,5}[ ]?[A-Za-z]{0,2}([ ]?[/-][ ]?[0-9]{1,5}[A-Za-z]{0,2})?$`)
	foreignPostRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 -]{1,9}$`)
	digits4RE     = regexp.MustCompile(`^[0-9]{4}$`)
)

// BadText reports whether s may not be stored as a line of plain text: it is
// not valid UTF-8, or it holds markup brackets, control characters (NUL, line
// breaks, tabs, …) or bidirectional controls, which could make a name in a
// mail or on a page read differently from what it is (OWASP ASVS 5.1.4).
func BadText(s string) bool {
	return !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool {
		return r == '<' || r == '>' || unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) ||
			r == '\u2028' || r == '\u2029'
	})
}

// BadLines is BadText for multi-line text (a message): line breaks and
// tabs are allowed, and so are < and > (such text is always escaped), but
// not invalid UTF-8, other control characters or bidirectional controls.
func BadLines(s string) bool {
	return !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' || unicode.Is(unicode.Bidi_Control, r) ||
			r == '\u2028' || r == '\u2029'
	})
}

// maxAge is the oldest plausible age in years for a date of birth.
const maxAge = 120

// plainText checks a free-text field: required or not, its length, and no
// markup or control characters.
func plainText(v *ValidationError, field, val string, required bool, max int) {
	switch {
	case val == "" && required:
		v.add(field, "err.required")
	case utf8.RuneCountInString(val) > max:
		v.add(field, "err.too_long")
	case BadText(val):
		v.add(field, "err.invalid_chars")
	}
}

// Error keys of ParseDate.
const (
	ErrDateFormat = "err.date_format" // not TT.MM.JJJJ
	ErrDateYear   = "err.date_year"   // a year without four digits
	ErrDateUnreal = "err.date_unreal" // no such day, e.g. 31.02.2027
)

var swissDateRE = regexp.MustCompile(`^([0-9]{1,2})\s*[./ -]\s*([0-9]{1,2})\s*[./ -]\s*([0-9]+)$`)

// ParseDate reads a date typed the Swiss way (TT.MM.JJJJ; eCH-0059 and the
// GOV.UK date pattern: one text field with the format in its hint). It is
// tolerant of one-digit days and months, spaces, slashes and hyphens as
// separators, eight digits without separators, and YYYY-MM-DD (the stored
// form). On failure it returns one of the ErrDate… message keys.
func ParseDate(s string) (time.Time, string) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, ""
	}
	if len(s) == 8 && strings.Trim(s, "0123456789") == "" {
		s = s[:2] + "." + s[2:4] + "." + s[4:]
	}
	m := swissDateRE.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, ErrDateFormat
	}
	if len(m[3]) != 4 {
		return time.Time{}, ErrDateYear
	}
	d, _ := strconv.Atoi(m[1])
	mo, _ := strconv.Atoi(m[2])
	y, _ := strconv.Atoi(m[3])
	t := time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC)
	if mo < 1 || mo > 12 || d < 1 || t.Day() != d {
		return time.Time{}, ErrDateUnreal
	}
	return t, ""
}

// SwissDate shows a stored YYYY-MM-DD date as TT.MM.JJJJ in a form field;
// anything else (what was typed) is shown as it is.
func SwissDate(s string) string {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.Format("02.01.2006")
	}
	return s
}

// checkData validates the input (trimmed in place) and returns it as the
// personal values and locale to store.
func (s *Service) checkData(in *DataInput) (Personal, string, error) {
	for _, f := range []*string{&in.GivenName, &in.FamilyName, &in.Street, &in.HouseNumber, &in.PostalCode,
		&in.Locality, &in.Country, &in.CountryName, &in.BirthDate, &in.Locale} {
		*f = strings.Join(strings.Fields(*f), " ")
	}
	v := &ValidationError{}
	plainText(v, "given_name", in.GivenName, true, maxNameLen)
	plainText(v, "family_name", in.FamilyName, true, maxNameLen)
	p := Personal{GivenName: in.GivenName, FamilyName: in.FamilyName}

	// The address is optional, but all or nothing (the house number may be
	// missing: farms and some village addresses have none).
	if in.Street != "" || in.HouseNumber != "" || in.PostalCode != "" || in.Locality != "" || in.CountryName != "" {
		plainText(v, "addr_street", in.Street, true, 100)
		if in.HouseNumber != "" && !houseNumberRE.MatchString(in.HouseNumber) {
			v.add("addr_house_number", "err.house_number_invalid")
		}
		plainText(v, "addr_locality", in.Locality, true, 100)
		country := in.Country
		switch in.Country {
		case CountrySwitzerland, "":
			country = CountrySwitzerland
			switch n, _ := strconv.Atoi(in.PostalCode); {
			case in.PostalCode == "":
				v.add("addr_postal_code", "err.required")
			case !digits4RE.MatchString(in.PostalCode) || n < 1000:
				v.add("addr_postal_code", "err.postcode_ch")
			case n >= 9485 && n <= 9498:
				v.add("addr_postal_code", "err.postcode_is_li")
			}
		case CountryLiechtenstein:
			switch n, _ := strconv.Atoi(in.PostalCode); {
			case in.PostalCode == "":
				v.add("addr_postal_code", "err.required")
			case !digits4RE.MatchString(in.PostalCode) || n < 9485 || n > 9498:
				v.add("addr_postal_code", "err.postcode_li")
			}
		case "other":
			plainText(v, "addr_country_name", in.CountryName, true, 56)
			switch up := strings.ToUpper(in.CountryName); {
			case up == "CH" || up == "LI" || strings.HasPrefix(up, "SCHWEIZ") || strings.HasPrefix(up, "LIECHTENSTEIN"):
				v.add("addr_country_name", "err.country_choose")
			}
			switch {
			case in.PostalCode == "":
				v.add("addr_postal_code", "err.required")
			case !foreignPostRE.MatchString(in.PostalCode):
				v.add("addr_postal_code", "err.postcode_invalid")
			}
			country = in.CountryName
		default:
			v.add("addr_country", "err.addr_country_invalid")
		}
		p.Street, p.HouseNumber, p.PostalCode, p.Locality, p.Country = in.Street, in.HouseNumber, in.PostalCode, in.Locality, country
	}

	if in.BirthDate != "" {
		d, bad := ParseDate(in.BirthDate)
		now := s.Now().In(zurich)
		today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
		switch {
		case bad != "":
			v.add("birthdate", bad)
		case d.After(today):
			v.add("birthdate", "err.birthdate_future")
		case d.Before(today.AddDate(-maxAge, 0, 0)):
			v.add("birthdate", "err.birthdate_implausible")
		default:
			p.BirthDate = d.Format("2006-01-02")
		}
	}
	if !slices.Contains(Locales, in.Locale) {
		v.add("locale", "err.locale_invalid")
	}
	return p, in.Locale, v.orNil()
}

// UpdateData validates and stores an account's personal data and preferred
// language ("Meine Daten"). Everything is written at once or, on any
// invalid field, nothing; the audit log names the changed fields, never
// their values.
func (s *Service) UpdateData(ctx context.Context, accountID string, in DataInput) (Account, error) {
	np, locale, err := s.checkData(&in)
	if err != nil {
		return Account{}, err
	}
	var changed []string
	a, err := s.store.UpdateAccount(ctx, accountID, func(a Account) (Account, []Outgoing, error) {
		p, err := s.Personal(a)
		if err != nil {
			return a, nil, err
		}
		changed = changed[:0]
		for _, f := range []struct {
			name     string
			old, new *string
		}{
			{"given_name", &p.GivenName, &np.GivenName}, {"family_name", &p.FamilyName, &np.FamilyName},
			{"street", &p.Street, &np.Street}, {"house_number", &p.HouseNumber, &np.HouseNumber},
			{"postal_code", &p.PostalCode, &np.PostalCode}, {"locality", &p.Locality, &np.Locality},
			{"country", &p.Country, &np.Country}, {"birthdate", &p.BirthDate, &np.BirthDate},
		} {
			if *f.old != *f.new {
				changed = append(changed, f.name)
				*f.old = *f.new
			}
		}
		if a.Locale != locale {
			changed = append(changed, "locale")
			a.Locale = locale
		}
		if len(changed) == 0 {
			return a, nil, nil
		}
		return a, nil, s.seal(&a, p)
	})
	if err != nil {
		return Account{}, fmt.Errorf("update personal data: %w", err)
	}
	if len(changed) > 0 {
		s.audit(ctx, accountID, "account.data_changed", accountID, "fields="+strings.Join(changed, ","))
	}
	return a, nil
}

// EmailChangeInput asks to change an account's e-mail address.
type EmailChangeInput struct {
	AccountID string
	NewEmail  string
	Password  string // the current password; required when the account has one
	// FreshLogin tells that the session logged in moments ago; it replaces
	// the password for accounts without one (SwissID-only accounts).
	FreshLogin bool
}

// RequestEmailChange checks the current password and e-mails a single-use
// confirmation link (24 h) to the new address; the address changes only
// when the link is followed (ConfirmEmailChange), and until then the old
// address keeps working for login. The pending address is kept sealed in
// the personal data with the hash of its link, so only the newest link
// counts.
//
// If the new address belongs to another account, the caller gets the same
// answer (nothing tells that the address is known), no link is sent, and
// that account's owner is told that someone tried to use the address (the
// "already registered" mail, rate-limited like a registration).
func (s *Service) RequestEmailChange(ctx context.Context, in EmailChangeInput) error {
	email := NormalizeEmail(in.NewEmail)
	v := &ValidationError{}
	switch {
	case email == "":
		v.add("email", "err.required")
	case !ValidEmail(email):
		v.add("email", "err.email_invalid")
	}
	a, err := s.store.GetAccount(ctx, in.AccountID)
	if err != nil {
		return fmt.Errorf("load account: %w", err)
	}
	p, err := s.Personal(a)
	if err != nil {
		return err
	}
	if email != "" && email == NormalizeEmail(p.Email) {
		v.add("email", "err.email_same")
	}
	if a.HasPassword() && in.Password == "" {
		v.add("password", "err.required")
	}
	if err := v.orNil(); err != nil {
		return err
	}
	if err := s.allow(ctx, []Rule{emailChangeRule}, []string{a.ID}); err != nil {
		return err
	}
	if err := s.checkPassword(ctx, a, in.Password, in.FreshLogin); err != nil {
		return err
	}
	index := s.EmailIndex(email)
	if other, err := s.store.GetAccountByEmailIndex(ctx, index); err == nil {
		s.audit(ctx, a.ID, "account.email_change_taken", a.ID, "")
		return s.mailExisting(ctx, other, other.Locale)
	} else if !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("look up e-mail: %w", err)
	}
	now := s.Now()
	tok, tokHash := newToken()
	_, err = s.store.UpdateAccountWithToken(ctx, ActionToken{Hash: tokHash, Purpose: PurposeEmailChange, AccountID: a.ID,
		CreatedAt: now, ExpiresAt: now.Add(EmailChangeTTL)},
		func(a Account) (Account, []Outgoing, error) {
			p, err := s.Personal(a)
			if err != nil {
				return a, nil, err
			}
			p.PendingEmail, p.PendingEmailToken, p.PendingEmailUntil = email, hex.EncodeToString(tokHash), now.Add(EmailChangeTTL)
			if err := s.seal(&a, p); err != nil {
				return a, nil, err
			}
			out, err := s.mail(email, a.Locale, MailEmailChange, map[string]string{
				"Name": p.GivenName + " " + p.FamilyName, "Link": s.cfg.BaseURL + "/account/email/confirm?token=" + tok,
				"ValidHours": strconv.Itoa(int(EmailChangeTTL.Hours())),
			})
			return a, []Outgoing{out}, err
		})
	if err != nil {
		return fmt.Errorf("store e-mail change: %w", err)
	}
	s.audit(ctx, a.ID, "account.email_change_requested", a.ID, "")
	return nil
}

// checkPassword verifies the current password of a (or, for an account
// without one, that the login is fresh). A wrong password is a validation
// error on the field "password".
func (s *Service) checkPassword(ctx context.Context, a Account, password string, fresh bool) error {
	if !a.HasPassword() {
		if !fresh {
			return ErrReauthRequired
		}
		return nil
	}
	ok, _, err := s.hasher.Verify(ctx, password, a.PasswordHash)
	if err != nil {
		return fmt.Errorf("verify password: %w", err)
	}
	if !ok {
		s.audit(ctx, a.ID, "account.password_check_failed", a.ID, "")
		v := &ValidationError{}
		v.add("password", "err.password_wrong")
		return v
	}
	return nil
}

// ErrReauthRequired means the action needs a fresh login first.
var ErrReauthRequired = errors.New("fresh login required")

// ErrEmailUnavailable means a confirmed new address was taken by another
// account in the meantime; the user sees the generic "link cannot be used".
var ErrEmailUnavailable = errors.New("e-mail address no longer available")

// ConfirmEmailChange consumes a confirmation link: the blind index and the
// sealed address change in one transaction, which also e-mails the old
// address. ErrLinkInvalid for an unknown, used, expired or superseded link.
func (s *Service) ConfirmEmailChange(ctx context.Context, token string) (Account, error) {
	if token == "" {
		return Account{}, ErrLinkInvalid
	}
	hash := HashToken(token)
	a, err := s.store.ConsumeActionToken(ctx, PurposeEmailChange, hash, s.Now(),
		func(a Account) (Account, []Outgoing, error) {
			p, err := s.Personal(a)
			if err != nil {
				return a, nil, err
			}
			if p.PendingEmail == "" || subtle.ConstantTimeCompare([]byte(p.PendingEmailToken), []byte(hex.EncodeToString(hash))) != 1 {
				return a, nil, ErrLinkInvalid // superseded by a newer request
			}
			old := p.Email
			p.Email, p.PendingEmail, p.PendingEmailToken, p.PendingEmailUntil = p.PendingEmail, "", "", time.Time{}
			a.EmailIndex = s.EmailIndex(p.Email)
			if err := s.seal(&a, p); err != nil {
				return a, nil, err
			}
			out, err := s.mail(old, a.Locale, MailEmailChanged, map[string]string{
				"Name": p.GivenName + " " + p.FamilyName, "ResetLink": s.cfg.BaseURL + "/reset",
			})
			return a, []Outgoing{out}, err
		})
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrReused), errors.Is(err, ErrLinkInvalid):
		return Account{}, ErrLinkInvalid
	case errors.Is(err, ErrConflict):
		// Registered by someone else since the request: refuse, generically.
		return Account{}, fmt.Errorf("%w: %w", ErrLinkInvalid, ErrEmailUnavailable)
	case err != nil:
		return Account{}, fmt.Errorf("confirm e-mail change: %w", err)
	}
	s.audit(ctx, a.ID, "account.email_changed", a.ID, "")
	return a, nil
}
