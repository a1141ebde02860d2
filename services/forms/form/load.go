package form

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/kanton/kundencenter/services/forms/expr"
)

// CategoriesFile is the file, beside the definitions, that lists the
// categories the catalogue groups forms by, in order.
const CategoriesFile = "categories.yaml"

// Category groups forms by a citizen's situation.
type Category struct {
	ID    string `yaml:"id"`
	Title Text   `yaml:"title"`
}

// Catalogue holds every loaded definition. It is immutable and safe for
// concurrent use.
type Catalogue struct {
	categories []*Category
	byKey      map[string]*Definition // "id@version"
	latest     map[string]*Definition
	order      []*Definition // latest versions, by category then German title
}

// Categories returns the categories in order.
func (c *Catalogue) Categories() []*Category { return c.categories }

// Latest returns the newest version of form id.
func (c *Catalogue) Latest(id string) (*Definition, bool) {
	d, ok := c.latest[id]
	return d, ok
}

// Get returns version v of form id (drafts stay on the version they began
// with).
func (c *Catalogue) Get(id string, v int) (*Definition, bool) {
	d, ok := c.byKey[id+"@"+strconv.Itoa(v)]
	return d, ok
}

// Forms returns the newest version of every form, by category.
func (c *Catalogue) Forms() []*Definition { return c.order }

// Load reads CategoriesFile and every definition "<id>.v<version>.yaml" in
// fsys and validates them. Every problem is reported at once, each as
// "file:line: where: reason".
func Load(fsys fs.FS) (*Catalogue, error) {
	c := &Catalogue{byKey: map[string]*Definition{}, latest: map[string]*Definition{}}
	var errs []error
	raw, err := fs.ReadFile(fsys, CategoriesFile)
	if err != nil {
		return nil, fmt.Errorf("form definitions: %w", err)
	}
	if err := decode(raw, &c.categories); err != nil {
		errs = append(errs, inFile(CategoriesFile, err))
	}
	cats := map[string]bool{}
	for i, cat := range c.categories {
		if cat.ID == "" || cats[cat.ID] {
			errs = append(errs, fmt.Errorf("%s: entry %d: empty or repeated id %q", CategoriesFile, i, cat.ID))
		}
		cats[cat.ID] = true
		if missing := missingLanguages(cat.Title); missing != "" {
			errs = append(errs, fmt.Errorf("%s: %s: title lacks %s", CategoriesFile, cat.ID, missing))
		}
	}
	files, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, fmt.Errorf("form definitions: %w", err)
	}
	for _, name := range files {
		if name == CategoriesFile {
			continue
		}
		raw, err := fs.ReadFile(fsys, name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		d, err := Parse(name, raw, cats)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c.byKey[d.Key()] = d
		if l, ok := c.latest[d.ID]; !ok || l.Version < d.Version {
			c.latest[d.ID] = d
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("form definitions:\n%w", err)
	}
	for _, d := range c.latest {
		c.order = append(c.order, d)
	}
	rank := func(id string) int {
		return slices.IndexFunc(c.categories, func(x *Category) bool { return x.ID == id })
	}
	slices.SortFunc(c.order, func(a, b *Definition) int {
		if r := rank(a.Category) - rank(b.Category); r != 0 {
			return r
		}
		return strings.Compare(a.Title.In("de"), b.Title.In("de"))
	})
	return c, nil
}

// decode decodes YAML strictly (unknown keys are errors). The error lists
// every problem as "line: reason", ready to follow "file:".
func decode(raw []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	err := dec.Decode(v)
	if err == nil || errors.Is(err, io.EOF) {
		return nil
	}
	var lines []string
	for _, m := range yamlLine.FindAllStringSubmatch(err.Error(), -1) {
		lines = append(lines, m[1]+": "+strings.TrimSpace(m[2]))
	}
	if len(lines) == 0 {
		return fmt.Errorf("1: %v", err)
	}
	return errors.New(strings.Join(lines, "\n"))
}

// inFile prefixes every line of err with "file:".
func inFile(file string, err error) error {
	lines := strings.Split(err.Error(), "\n")
	for i, l := range lines {
		lines[i] = file + ":" + l
	}
	return errors.New(strings.Join(lines, "\n"))
}

var yamlLine = regexp.MustCompile(`line ([0-9]+): ([^\n]*)`)

var (
	idPattern   = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	formPattern = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	fileName    = regexp.MustCompile(`^([a-z][a-z0-9-]*)\.v([0-9]+)\.yaml$`)
)

// Parse reads and validates one definition from the file name (which must
// be "<id>.v<version>.yaml"); categories are the known category ids.
func Parse(name string, raw []byte, categories map[string]bool) (*Definition, error) {
	d := &Definition{file: name}
	if err := decode(raw, d); err != nil {
		return nil, inFile(name, err)
	}
	var root yaml.Node
	_ = yaml.Unmarshal(raw, &root) // decoded above, cannot fail
	v := &validator{file: name, lines: map[string]int{}}
	v.index(&root, "")
	v.definition(d, categories)
	if err := errors.Join(v.errs...); err != nil {
		return nil, err
	}
	return d, nil
}

// validator collects the problems of one definition with their lines.
type validator struct {
	file  string
	lines map[string]int // "pages.1.fields.0.type" → line
	errs  []error
}

// index records the line of every value in the YAML tree under its path.
func (v *validator) index(n *yaml.Node, at string) {
	if n.Kind == yaml.DocumentNode {
		for _, c := range n.Content {
			v.index(c, at)
		}
		return
	}
	v.lines[at] = n.Line
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			p := join(at, k.Value)
			v.index(n.Content[i+1], p)
			v.lines[p] = k.Line
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			v.index(c, join(at, strconv.Itoa(i)))
		}
	}
}

func join(at, k string) string {
	if at == "" {
		return k
	}
	return at + "." + k
}

// fail records a problem at path p (the line of the nearest known
// ancestor).
func (v *validator) fail(p, format string, args ...any) {
	line := 0
	for q := p; ; {
		if l, ok := v.lines[q]; ok {
			line = l
			break
		}
		i := strings.LastIndex(q, ".")
		if i < 0 {
			line = v.lines[""]
			break
		}
		q = q[:i]
	}
	where := p
	if where == "" {
		where = "definition"
	}
	v.errs = append(v.errs, fmt.Errorf("%s:%d: %s: %s", v.file, line, where, fmt.Sprintf(format, args...)))
}

// text checks that t has every language; optional texts may be empty.
func (v *validator) text(p string, t Text, required bool) {
	if len(t) == 0 {
		if required {
			v.fail(p, "missing text (needs %s)", strings.Join(Languages, ", "))
		}
		return
	}
	for k := range t {
		if !slices.Contains(Languages, k) {
			v.fail(p, "unknown language %q (use %s)", k, strings.Join(Languages, ", "))
		}
	}
	if missing := missingLanguages(t); missing != "" {
		v.fail(p, "text lacks %s", missing)
	}
}

func missingLanguages(t Text) string {
	var missing []string
	for _, l := range Languages {
		if strings.TrimSpace(t[l]) == "" {
			missing = append(missing, l)
		}
	}
	return strings.Join(missing, ", ")
}

func (v *validator) definition(d *Definition, categories map[string]bool) {
	m := fileName.FindStringSubmatch(path.Base(v.file))
	switch {
	case m == nil:
		v.fail("", "file name must be <id>.v<version>.yaml")
	case !formPattern.MatchString(d.ID):
		v.fail("id", "%q is not a form id (lower-case letters, digits and -)", d.ID)
	case m[1] != d.ID || m[2] != strconv.Itoa(d.Version):
		v.fail("id", "id %q and version %d do not match the file name", d.ID, d.Version)
	}
	if d.Version < 1 {
		v.fail("version", "must be 1 or more")
	}
	if !categories[d.Category] {
		v.fail("category", "unknown category %q (see %s)", d.Category, CategoriesFile)
	}
	v.text("title", d.Title, true)
	v.text("summary", d.Summary, true)
	v.text("keywords", d.Keywords, false)
	v.text("declaration", d.Declaration, true)
	v.text("next_steps", d.NextSteps, true)
	if d.Minutes < 1 {
		v.fail("minutes", "say how many minutes the form takes (1 or more)")
	}
	if _, ok := Levels[d.Level]; !ok {
		v.fail("level", "unknown level %q (use low, substantial or high)", d.Level)
	}
	if len(d.Audience) == 0 {
		v.fail("audience", "say who may use the form (person, organisation, representative)")
	}
	for i, a := range d.Audience {
		if a != AudiencePerson && a != AudienceOrganisation && a != AudienceRepresentative {
			v.fail(join("audience", strconv.Itoa(i)), "unknown audience %q (use person, organisation or representative)", a)
		}
	}
	if d.Fee != nil {
		if d.Fee.Amount <= 0 {
			v.fail("fee.amount_rappen", "a fee must be more than 0 Rappen (leave fee out when the form is free)")
		}
		v.text("fee.reason", d.Fee.Reason, true)
		for i, m := range d.Fee.Methods {
			if !slices.Contains(PaymentMethods, m) {
				v.fail(join("fee.methods", strconv.Itoa(i)), "unknown payment method %q (use %s)", m, strings.Join(PaymentMethods, ", "))
			}
		}
	}
	if d.Creates.Case == "" {
		v.fail("creates.case", "name the service of the case a submission creates")
	} else if !formPattern.MatchString(d.Creates.Case) {
		v.fail("creates.case", "%q is not a service name (lower-case letters, digits and -)", d.Creates.Case)
	}
	if d.Creates.ExpectedDays < 0 {
		v.fail("creates.expected_days", "must not be negative")
	}
	if d.Creates.Document != "" && !formPattern.MatchString(d.Creates.Document) {
		v.fail("creates.document", "%q is not a document template name", d.Creates.Document)
	}
	if len(d.Pages) == 0 {
		v.fail("pages", "a form needs at least one page")
	}
	pages := map[string]bool{}
	fields := map[string]*Field{} // defined so far, in order
	for i, p := range d.Pages {
		at := join("pages", strconv.Itoa(i))
		if p == nil {
			v.fail(at, "empty page")
			continue
		}
		if !idPattern.MatchString(p.ID) {
			v.fail(join(at, "id"), "%q is not an id (lower-case letters, digits and _)", p.ID)
		} else if pages[p.ID] {
			v.fail(join(at, "id"), "page id %q is used twice", p.ID)
		}
		pages[p.ID] = true
		v.text(join(at, "title"), p.Title, true)
		v.text(join(at, "section"), p.Section, true)
		v.text(join(at, "hint"), p.Hint, false)
		p.cond = v.condition(join(at, "show_if"), p.ShowIf, fields)
		if len(p.Fields) == 0 {
			v.fail(join(at, "fields"), "a page needs at least one field")
		}
		for j, f := range p.Fields {
			fat := join(at, join("fields", strconv.Itoa(j)))
			if f == nil {
				v.fail(fat, "empty field")
				continue
			}
			v.field(fat, f, fields)
			if idPattern.MatchString(f.ID) {
				if fields[f.ID] != nil {
					v.fail(join(fat, "id"), "field id %q is used twice", f.ID)
				}
				fields[f.ID] = f
			}
		}
	}
}

func (v *validator) field(at string, f *Field, earlier map[string]*Field) {
	if !idPattern.MatchString(f.ID) {
		v.fail(join(at, "id"), "%q is not an id (lower-case letters, digits and _)", f.ID)
	}
	if !slices.Contains(fieldTypes, f.Type) {
		v.fail(join(at, "type"), "unknown type %q (use %s)", f.Type, strings.Join(fieldTypes, ", "))
	}
	v.text(join(at, "label"), f.Label, true)
	v.text(join(at, "short"), f.Short, false)
	v.text(join(at, "hint"), f.Hint, false)
	if HasOptions(f.Type) {
		if len(f.Options) < 2 {
			v.fail(join(at, "options"), "a %s needs at least two options", f.Type)
		}
		seen := map[string]bool{}
		for k, o := range f.Options {
			oat := join(at, join("options", strconv.Itoa(k)))
			if o == nil || o.Value == "" {
				v.fail(oat, "an option needs a value")
				continue
			}
			if seen[o.Value] {
				v.fail(join(oat, "value"), "option value %q is used twice", o.Value)
			}
			seen[o.Value] = true
			v.text(join(oat, "label"), o.Label, true)
		}
	} else if len(f.Options) > 0 {
		v.fail(join(at, "options"), "only choice, multichoice and select fields have options")
	}
	if f.Prefill != "" {
		switch {
		case !slices.Contains(PrefillSources, f.Prefill):
			v.fail(join(at, "prefill"), "unknown prefill source %q (use %s)", f.Prefill, strings.Join(PrefillSources, ", "))
		case (f.Prefill == "address") != (f.Type == TypeAddress):
			v.fail(join(at, "prefill"), "prefill %q does not fit a field of type %s", f.Prefill, f.Type)
		}
	}
	r := f.Validate
	if r.Pattern != "" {
		re, err := regexp.Compile(`^(?:` + r.Pattern + `)$`)
		if err != nil {
			v.fail(join(at, "validate.pattern"), "not a regular expression: %v", err)
		}
		f.pattern = re
	}
	v.text(join(at, "validate.pattern_error"), r.PatternError, false)
	if r.MinLength < 0 || r.MaxLength < 0 || (r.MaxLength > 0 && r.MinLength > r.MaxLength) {
		v.fail(join(at, "validate"), "min_length and max_length must be 0 or more, min ≤ max")
	}
	if r.Min != nil && r.Max != nil && *r.Min > *r.Max {
		v.fail(join(at, "validate"), "min %v is greater than max %v", *r.Min, *r.Max)
	}
	if (r.Min != nil || r.Max != nil) && f.Type != TypeNumber {
		v.fail(join(at, "validate"), "min and max apply to number fields only")
	}
	if (r.Past || r.Future) && f.Type != TypeDate {
		v.fail(join(at, "validate"), "past and future apply to date fields only")
	}
	if r.Past && r.Future {
		v.fail(join(at, "validate"), "a date cannot be both in the past and in the future")
	}
	f.cond = v.condition(join(at, "show_if"), f.ShowIf, earlier)
}

// condition parses a show_if; it may only read fields defined before it.
func (v *validator) condition(at, src string, earlier map[string]*Field) *expr.Expr {
	if src == "" {
		return nil
	}
	e, err := expr.Parse(src)
	if err != nil {
		v.fail(at, "condition %q: %v", src, err)
		return nil
	}
	for _, ref := range e.Refs() {
		id, part, _ := strings.Cut(ref, ".")
		f := earlier[id]
		switch {
		case f == nil:
			v.fail(at, "condition %q reads %q, which is not a field defined before it", src, ref)
		case part != "" && (f.Type != TypeAddress || !slices.Contains(AddressParts, part)):
			v.fail(at, "condition %q reads %q, which is not an address part (%s)", src, ref, strings.Join(AddressParts, ", "))
		case f.Type == TypeFile:
			v.fail(at, "condition %q reads the file field %q", src, ref)
		}
	}
	return e
}
