package form

import (
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/kanton/kundencenter/services/forms/expr"
)

// Languages are the languages every text of a definition must have, the
// default first.
var Languages = []string{"de", "fr", "it", "en"}

// Text is a text in every language of Languages.
type Text map[string]string

// In returns the text in lang, or in German when lang has none.
func (t Text) In(lang string) string {
	if s, ok := t[lang]; ok && s != "" {
		return s
	}
	return t[Languages[0]]
}

// Field types.
const (
	TypeText        = "text"
	TypeTextarea    = "textarea"
	TypeEmail       = "email"
	TypePhone       = "phone"
	TypeDate        = "date"
	TypeNumber      = "number"
	TypeChoice      = "choice"      // radio buttons, one answer
	TypeMultiChoice = "multichoice" // check boxes, any number of answers
	TypeSelect      = "select"      // a drop-down, one answer
	TypeAddress     = "address"     // street, postal code and place
	TypeFile        = "file"        // attachments (PDF, JPEG, PNG)
)

var fieldTypes = []string{TypeText, TypeTextarea, TypeEmail, TypePhone, TypeDate, TypeNumber,
	TypeChoice, TypeMultiChoice, TypeSelect, TypeAddress, TypeFile}

// HasOptions reports whether fields of type t choose among Options.
func HasOptions(t string) bool {
	return t == TypeChoice || t == TypeMultiChoice || t == TypeSelect
}

// AddressParts are the answer keys of an address field f: f.street,
// f.postal_code and f.locality (the names of the OIDC address claim).
var AddressParts = []string{"street", "postal_code", "locality"}

// Authentication levels a form may require (the IdP's acr values, eCH-0170
// quality of authentication), weakest first.
var Levels = map[string]string{
	"low":         "urn:kundencenter:loa:low",
	"substantial": "urn:kundencenter:loa:substantial",
	"high":        "urn:kundencenter:loa:high",
}

var levelOrder = []string{"low", "substantial", "high"}

// LevelReached reports whether the acr of a login reaches the level name
// ("low", "substantial", "high").
func LevelReached(acr, level string) bool {
	have := -1
	for i, l := range levelOrder {
		if Levels[l] == acr {
			have = i
		}
	}
	return have >= 0 && have >= slices.Index(levelOrder, level)
}

// Audiences: who may use a form.
const (
	AudiencePerson         = "person"         // for oneself
	AudienceOrganisation   = "organisation"   // a member acting for an organisation
	AudienceRepresentative = "representative" // a representative acting for a person
)

// Payment methods (Datatrans codes).
var PaymentMethods = []string{"TWI", "PFC", "VIS", "ECA"}

// Prefill sources: claims of the login (the chosen profile, organisation or
// represented person).
var PrefillSources = []string{"given_name", "family_name", "name", "email", "phone_number", "birthdate", "address"}

// Definition is one version of a form.
type Definition struct {
	ID          string   `yaml:"id"`
	Version     int      `yaml:"version"`
	Category    string   `yaml:"category"`
	Title       Text     `yaml:"title"`
	Summary     Text     `yaml:"summary"`
	Keywords    Text     `yaml:"keywords"` // extra search words, space-separated
	Minutes     int      `yaml:"minutes"`  // how long it takes
	Level       string   `yaml:"level"`    // low, substantial or high
	Audience    []string `yaml:"audience"`
	Fee         *Fee     `yaml:"fee"`
	Creates     Creates  `yaml:"creates"`
	Pages       []*Page  `yaml:"pages"`
	Declaration Text     `yaml:"declaration"`
	NextSteps   Text     `yaml:"next_steps"` // what happens next (confirmation page)

	file string
}

// Fee is what a form costs, paid inside the form before it is sent.
type Fee struct {
	Amount  int64    `yaml:"amount_rappen"` // in Rappen (CHF 1 = 100)
	Reason  Text     `yaml:"reason"`
	Methods []string `yaml:"methods"` // Datatrans codes; empty = all of PaymentMethods
}

// Creates says what a submission creates.
type Creates struct {
	// Case is the service name of the case created at the status service.
	Case string `yaml:"case"`
	// ExpectedDays is how many days handling takes (the case's expected
	// completion).
	ExpectedDays int `yaml:"expected_days"`
	// Document names a document template of the document service, generated
	// for the owner once the submission is paid (e.g. a residence
	// certificate); "" for none.
	Document string `yaml:"document"`
}

// Page is one step of a form: a question or a small group of them.
type Page struct {
	ID      string   `yaml:"id"`
	Section Text     `yaml:"section"` // caption above the heading, and the check-answers section
	Title   Text     `yaml:"title"`   // the heading (h1)
	Hint    Text     `yaml:"hint"`
	ShowIf  string   `yaml:"show_if"`
	Fields  []*Field `yaml:"fields"`

	cond *expr.Expr
}

// Field is one question.
type Field struct {
	ID       string    `yaml:"id"`
	Type     string    `yaml:"type"`
	Label    Text      `yaml:"label"`
	Short    Text      `yaml:"short"` // key on the check-answers page; Label when empty
	Hint     Text      `yaml:"hint"`
	Optional bool      `yaml:"optional"`
	Prefill  string    `yaml:"prefill"`
	Options  []*Option `yaml:"options"`
	ShowIf   string    `yaml:"show_if"`
	Validate Rules     `yaml:"validate"`

	cond    *expr.Expr
	pattern *regexp.Regexp
}

// Option is one answer of a choice, multiple choice or select.
type Option struct {
	Value string `yaml:"value"`
	Label Text   `yaml:"label"`
}

// Rules are the checks of a field beyond its type.
type Rules struct {
	MinLength int      `yaml:"min_length"`
	MaxLength int      `yaml:"max_length"`
	Pattern   string   `yaml:"pattern"` // a Go regular expression the whole answer must match
	Min       *float64 `yaml:"min"`
	Max       *float64 `yaml:"max"`
	Past      bool     `yaml:"past"`   // a date must lie in the past
	Future    bool     `yaml:"future"` // a date must lie in the future
	// PatternError is the message when Pattern does not match.
	PatternError Text `yaml:"pattern_error"`
}

// File is the file the definition was read from.
func (d *Definition) File() string { return d.file }

// Key is "id@version", the identity of one definition.
func (d *Definition) Key() string { return d.ID + "@" + strconv.Itoa(d.Version) }

// Page returns the page with the given id.
func (d *Definition) Page(id string) (*Page, bool) {
	for _, p := range d.Pages {
		if p.ID == id {
			return p, true
		}
	}
	return nil, false
}

// Field returns the field with the given id and its page.
func (d *Definition) Field(id string) (*Field, *Page, bool) {
	for _, p := range d.Pages {
		for _, f := range p.Fields {
			if f.ID == id {
				return f, p, true
			}
		}
	}
	return nil, nil, false
}

// PaymentMethods returns the payment methods offered for the fee.
func (f *Fee) PaymentMethods() []string {
	if len(f.Methods) == 0 {
		return PaymentMethods
	}
	return f.Methods
}

// ForAudience reports whether the form may be used by aud.
func (d *Definition) ForAudience(aud string) bool { return slices.Contains(d.Audience, aud) }

// Matches reports whether the form matches a search query in lang: every
// word of q occurs in the title, summary or keywords, ignoring case and
// umlauts ("Hund anm" matches "Hund anmelden", "strasse" matches "Straße").
func (d *Definition) Matches(q, lang string) bool {
	hay := fold(d.Title.In(lang) + " " + d.Summary.In(lang) + " " + d.Keywords.In(lang) + " " + d.Title.In("de"))
	for _, w := range strings.Fields(fold(q)) {
		if !strings.Contains(hay, w) {
			return false
		}
	}
	return true
}

// fold lowers s and replaces umlauts and accents by their base letters
// (ä→a, ß→ss), so searches are tolerant of both.
func fold(s string) string {
	return foldReplacer.Replace(strings.ToLower(s))
}

var foldReplacer = strings.NewReplacer(
	"ä", "a", "ö", "o", "ü", "u", "ß", "ss", "ae", "a", "oe", "o", "ue", "u",
	"é", "e", "è", "e", "ê", "e", "à", "a", "â", "a", "ç", "c", "ô", "o", "î", "i", "ï", "i", "ù", "u", "û", "u",
)

// Visible reports whether the page is shown for the answers.
func (p *Page) Visible(a Answers) bool { return p.cond == nil || p.cond.Eval(a.Lookup) }

// Visible reports whether the field is shown for the answers.
func (f *Field) Visible(a Answers) bool { return f.cond == nil || f.cond.Eval(a.Lookup) }

// Reads reports whether the condition of field f reads an answer of page
// p itself.
func (p *Page) Reads(f *Field) bool {
	if f.cond == nil {
		return false
	}
	for _, ref := range f.cond.Refs() {
		id, _, _ := strings.Cut(ref, ".")
		for _, g := range p.Fields {
			if g.ID == id {
				return true
			}
		}
	}
	return false
}

// ShortLabel is the key of the field on the check-answers page.
func (f *Field) ShortLabel(lang string) string {
	if len(f.Short) > 0 {
		return f.Short.In(lang)
	}
	return f.Label.In(lang)
}

// Option returns the option with the value v.
func (f *Field) Option(v string) (*Option, bool) {
	for _, o := range f.Options {
		if o.Value == v {
			return o, true
		}
	}
	return nil, false
}

// VisiblePages returns the pages shown for the answers, in order.
func (d *Definition) VisiblePages(a Answers) []*Page {
	var out []*Page
	for _, p := range d.Pages {
		if p.Visible(a) {
			out = append(out, p)
		}
	}
	return out
}
