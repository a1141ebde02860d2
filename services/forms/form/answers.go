package form

import (
	"fmt"
	"math"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Answers are the answers of a form: field id → values (several for a
// multiple choice or files; an address field f answers f.street,
// f.postal_code and f.locality).
type Answers map[string][]string

// Get returns the first value of key, "" when unanswered.
func (a Answers) Get(key string) string {
	if v := a[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Lookup is Answers as an expr.Lookup.
func (a Answers) Lookup(key string) []string { return a[key] }

// Clone returns a deep copy.
func (a Answers) Clone() Answers {
	c := make(Answers, len(a))
	for k, v := range a {
		c[k] = append([]string(nil), v...)
	}
	return c
}

// Keys returns the answer keys of field f.
func (f *Field) Keys() []string {
	if f.Type != TypeAddress {
		return []string{f.ID}
	}
	keys := make([]string, len(AddressParts))
	for i, p := range AddressParts {
		keys[i] = f.ID + "." + p
	}
	return keys
}

// Answered reports whether field f has an answer.
func (f *Field) Answered(a Answers) bool {
	for _, k := range f.Keys() {
		for _, v := range a[k] {
			if strings.TrimSpace(v) != "" {
				return true
			}
		}
	}
	return false
}

// FieldError is a problem with one answer, with its text in the user's
// language. Key is the answer key the error belongs to (for an address,
// the part), so the page can link the error summary to the input.
type FieldError struct {
	Key     string
	Message string
}

// Validate checks the answers of the visible fields of page p and returns
// them normalised (trimmed; dates as YYYY-MM-DD; hidden fields dropped)
// with the problems, every message in lang. now decides past and future
// dates.
func (p *Page) Validate(in Answers, all Answers, lang string, now time.Time) (Answers, []FieldError) {
	out := Answers{}
	var errs []FieldError
	// Conditions of fields may read answers of this page: evaluate them on
	// the earlier answers overlaid with this page's.
	ctx := all.Clone()
	for k, v := range in {
		ctx[k] = v
	}
	for _, f := range p.Fields {
		if !f.Visible(ctx) {
			continue
		}
		if f.Type == TypeFile { // attachments are stored apart; their ids stay
			if ids := all[f.ID]; len(ids) > 0 {
				out[f.ID] = ids
			} else if !f.Optional {
				errs = append(errs, FieldError{f.ID, msg(lang, "file_required", f.Label.In(lang))})
			}
			continue
		}
		if f.Type == TypeAddress {
			for i, part := range AddressParts {
				key := f.Keys()[i]
				v := strings.TrimSpace(in.Get(key))
				if v == "" {
					if !f.Optional {
						errs = append(errs, FieldError{key, msg(lang, "address_"+part, f.Label.In(lang))})
					}
					continue
				}
				if badChars(v, false) {
					errs = append(errs, FieldError{key, msg(lang, "chars", f.Label.In(lang))})
					out[key] = []string{v}
					continue
				}
				if part == "postal_code" && !postalCode.MatchString(v) {
					errs = append(errs, FieldError{key, msg(lang, "postal_code", f.Label.In(lang))})
				}
				if utf8.RuneCountInString(v) > 200 {
					errs = append(errs, FieldError{key, msg(lang, "too_long", f.Label.In(lang), 200)})
				}
				out[key] = []string{v}
			}
			continue
		}
		var vals []string
		for _, v := range in[f.ID] {
			if v = strings.TrimSpace(v); v != "" {
				vals = append(vals, v)
			}
		}
		if len(vals) == 0 {
			if !f.Optional {
				key := "required"
				if HasOptions(f.Type) {
					key = "choose"
				}
				errs = append(errs, FieldError{f.ID, msg(lang, key, f.Label.In(lang))})
			}
			continue
		}
		if f.Type != TypeMultiChoice {
			vals = vals[:1]
		}
		norm, problem := f.check(vals, lang, now)
		if problem != "" {
			errs = append(errs, FieldError{f.ID, problem})
			// Keep what was typed so the page shows it again.
			out[f.ID] = vals
			continue
		}
		out[f.ID] = norm
	}
	return out, errs
}

var (
	postalCode = regexp.MustCompile(`^[1-9][0-9]{3}$`)
	phoneChars = regexp.MustCompile(`^\+?[0-9 ()./-]+$`)
	dottedDate = regexp.MustCompile(`^([0-9]{1,2})\.([0-9]{1,2})\.([0-9]{4})$`)
)

// check validates the non-empty values of f and returns them normalised, or
// the message of the first problem.
func (f *Field) check(vals []string, lang string, now time.Time) ([]string, string) {
	label := f.Label.In(lang)
	v := vals[0]
	r := f.Validate
	maxLen := r.MaxLength
	if maxLen == 0 {
		maxLen = 200
		if f.Type == TypeTextarea {
			maxLen = 2000
		}
	}
	if !HasOptions(f.Type) && badChars(v, f.Type == TypeTextarea) {
		return nil, msg(lang, "chars", label)
	}
	switch f.Type {
	case TypeChoice, TypeSelect, TypeMultiChoice:
		for _, x := range vals {
			if _, ok := f.Option(x); !ok {
				return nil, msg(lang, "choose", label)
			}
		}
		return vals, ""
	case TypeEmail:
		if a, err := mail.ParseAddress(v); err != nil || a.Address != v || !strings.Contains(v[strings.LastIndex(v, "@"):], ".") {
			return nil, msg(lang, "email", label)
		}
	case TypePhone:
		digits := 0
		for _, c := range v {
			if c >= '0' && c <= '9' {
				digits++
			}
		}
		if !phoneChars.MatchString(v) || digits < 9 || digits > 15 {
			return nil, msg(lang, "phone", label)
		}
	case TypeDate:
		d, ok := parseDate(v)
		if !ok {
			return nil, msg(lang, "date", label)
		}
		today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
		if r.Past && !d.Before(today) {
			return nil, msg(lang, "date_past", label)
		}
		if r.Future && !d.After(today) {
			return nil, msg(lang, "date_future", label)
		}
		return []string{d.Format(time.DateOnly)}, ""
	case TypeNumber:
		n, err := strconv.ParseFloat(strings.ReplaceAll(strings.ReplaceAll(v, "'", ""), ",", "."), 64)
		// Numbers people type: no NaN or infinity, and not so large that
		// the answer written out runs to hundreds of digits (found by
		// FuzzValidate: "-1e308" became a 310-character answer).
		if err != nil || math.IsNaN(n) || math.IsInf(n, 0) || math.Abs(n) >= maxNumber {
			return nil, msg(lang, "number", label)
		}
		if r.Min != nil && n < *r.Min {
			return nil, msg(lang, "min", label, fmtNum(*r.Min))
		}
		if r.Max != nil && n > *r.Max {
			return nil, msg(lang, "max", label, fmtNum(*r.Max))
		}
		return []string{fmtNum(n)}, ""
	}
	if n := utf8.RuneCountInString(v); n > maxLen {
		return nil, msg(lang, "too_long", label, maxLen)
	} else if n < r.MinLength {
		return nil, msg(lang, "too_short", label, r.MinLength)
	}
	if f.pattern != nil && !f.pattern.MatchString(v) {
		if len(r.PatternError) > 0 {
			return nil, r.PatternError.In(lang)
		}
		return nil, msg(lang, "pattern", label)
	}
	return []string{v}, ""
}

// maxNumber bounds the numbers a form accepts (a quadrillion).
const maxNumber = 1e15

func fmtNum(n float64) string { return strconv.FormatFloat(n, 'f', -1, 64) }

// parseDate reads YYYY-MM-DD (the date input) or DD.MM.YYYY (typed the
// Swiss way).
func parseDate(v string) (time.Time, bool) {
	if m := dottedDate.FindStringSubmatch(v); m != nil {
		v = fmt.Sprintf("%s-%02s-%02s", m[3], m[2], m[1])
	}
	d, err := time.Parse(time.DateOnly, v)
	return d, err == nil
}

// badChars reports whether an answer holds what a person cannot have meant
// to type and what must not reach a case, a PDF or a mail: invalid UTF-8,
// NUL and other control characters (but line breaks and tabs where lines
// are allowed), bidi controls that reorder the text on display (OWASP ASVS
// 5.1.4, issue 16 item 11), and line or paragraph separators.
func badChars(s string, lines bool) bool {
	return !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool {
		if lines && (r == '\n' || r == '\r' || r == '\t') {
			return false
		}
		return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029'
	})
}

// messages are the field errors in every language; %[1]s is the field's
// label. They follow the GOV.UK error message style: say what to do.
var messages = map[string]Text{
	"required":            {"de": "Geben Sie «%[1]s» an.", "fr": "Indiquez « %[1]s ».", "it": "Indichi «%[1]s».", "en": "Enter %[1]s."},
	"choose":              {"de": "Wählen Sie eine Antwort zu «%[1]s».", "fr": "Choisissez une réponse pour « %[1]s ».", "it": "Scelga una risposta per «%[1]s».", "en": "Select an answer for %[1]s."},
	"file_required":       {"de": "Laden Sie eine Datei für «%[1]s» hoch.", "fr": "Téléversez un fichier pour « %[1]s ».", "it": "Carichi un file per «%[1]s».", "en": "Upload a file for %[1]s."},
	"email":               {"de": "Geben Sie bei «%[1]s» eine E-Mail-Adresse wie name@beispiel.ch an.", "fr": "Pour « %[1]s », indiquez une adresse e-mail comme nom@exemple.ch.", "it": "Per «%[1]s» indichi un indirizzo e-mail come nome@esempio.ch.", "en": "Enter %[1]s as an email address like name@example.com."},
	"phone":               {"de": "Geben Sie bei «%[1]s» eine Telefonnummer wie 079 123 45 67 an.", "fr": "Pour « %[1]s », indiquez un numéro comme 079 123 45 67.", "it": "Per «%[1]s» indichi un numero come 079 123 45 67.", "en": "Enter %[1]s as a phone number like 079 123 45 67."},
	"date":                {"de": "Geben Sie bei «%[1]s» ein gültiges Datum an, z. B. 31.12.1980.", "fr": "Pour « %[1]s », indiquez une date valable, p. ex. 31.12.1980.", "it": "Per «%[1]s» indichi una data valida, p. es. 31.12.1980.", "en": "Enter %[1]s as a real date, for example 31.12.1980."},
	"date_past":           {"de": "«%[1]s» muss in der Vergangenheit liegen.", "fr": "« %[1]s » doit être dans le passé.", "it": "«%[1]s» deve essere nel passato.", "en": "%[1]s must be in the past."},
	"date_future":         {"de": "«%[1]s» muss in der Zukunft liegen.", "fr": "« %[1]s » doit être dans le futur.", "it": "«%[1]s» deve essere nel futuro.", "en": "%[1]s must be in the future."},
	"number":              {"de": "Geben Sie bei «%[1]s» eine Zahl an.", "fr": "Pour « %[1]s », indiquez un nombre.", "it": "Per «%[1]s» indichi un numero.", "en": "Enter %[1]s as a number."},
	"min":                 {"de": "«%[1]s» muss mindestens %[2]s sein.", "fr": "« %[1]s » doit être au moins %[2]s.", "it": "«%[1]s» deve essere almeno %[2]s.", "en": "%[1]s must be %[2]s or more."},
	"max":                 {"de": "«%[1]s» darf höchstens %[2]s sein.", "fr": "« %[1]s » ne peut dépasser %[2]s.", "it": "«%[1]s» può essere al massimo %[2]s.", "en": "%[1]s must be %[2]s or less."},
	"too_long":            {"de": "«%[1]s» darf höchstens %[2]d Zeichen lang sein.", "fr": "« %[1]s » ne peut dépasser %[2]d caractères.", "it": "«%[1]s» può avere al massimo %[2]d caratteri.", "en": "%[1]s must be %[2]d characters or fewer."},
	"too_short":           {"de": "«%[1]s» muss mindestens %[2]d Zeichen lang sein.", "fr": "« %[1]s » doit compter au moins %[2]d caractères.", "it": "«%[1]s» deve avere almeno %[2]d caratteri.", "en": "%[1]s must be %[2]d characters or more."},
	"chars":               {"de": "«%[1]s» enthält unzulässige Zeichen (Steuer- oder unsichtbare Richtungszeichen). Bitte tippen Sie die Angabe neu ein.", "fr": "« %[1]s » contient des caractères non autorisés (caractères de contrôle ou de direction invisibles). Veuillez ressaisir l'indication.", "it": "«%[1]s» contiene caratteri non ammessi (caratteri di controllo o di direzione invisibili). Digiti di nuovo l'indicazione.", "en": "%[1]s contains characters that are not allowed (control or invisible direction characters). Type it again."},
	"pattern":             {"de": "Prüfen Sie die Angabe bei «%[1]s».", "fr": "Vérifiez la saisie « %[1]s ».", "it": "Verifichi l'indicazione «%[1]s».", "en": "Check %[1]s."},
	"postal_code":         {"de": "Geben Sie bei «%[1]s» eine vierstellige Postleitzahl an.", "fr": "Pour « %[1]s », indiquez un numéro postal à quatre chiffres.", "it": "Per «%[1]s» indichi un numero postale di quattro cifre.", "en": "Enter a four-digit postcode for %[1]s."},
	"address_street":      {"de": "Geben Sie bei «%[1]s» Strasse und Hausnummer an.", "fr": "Pour « %[1]s », indiquez la rue et le numéro.", "it": "Per «%[1]s» indichi via e numero.", "en": "Enter the street and number of %[1]s."},
	"address_postal_code": {"de": "Geben Sie bei «%[1]s» die Postleitzahl an.", "fr": "Pour « %[1]s », indiquez le numéro postal.", "it": "Per «%[1]s» indichi il numero postale.", "en": "Enter the postcode of %[1]s."},
	"address_locality":    {"de": "Geben Sie bei «%[1]s» den Ort an.", "fr": "Pour « %[1]s », indiquez la localité.", "it": "Per «%[1]s» indichi la località.", "en": "Enter the town of %[1]s."},
}

// msg formats the field error key in lang.
func msg(lang, key string, args ...any) string {
	return fmt.Sprintf(messages[key].In(lang), args...)
}
