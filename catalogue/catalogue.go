package catalogue

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

//go:embed services.json
var servicesJSON []byte

// Langs are the languages every text has, the default first.
var Langs = []string{"de", "fr", "it", "en"}

// Levels of authentication a service may need (eCH-0170 quality of
// authentication 1–3), in increasing strength, and the acr values the IdP
// issues for them.
const (
	LevelLow         = "low"
	LevelSubstantial = "substantial"
	LevelHigh        = "high"
)

var acrs = map[string]string{
	LevelLow:         "urn:kundencenter:loa:low",
	LevelSubstantial: "urn:kundencenter:loa:substantial",
	LevelHigh:        "urn:kundencenter:loa:high",
}

// ACR returns the acr value of a catalogue level.
func ACR(level string) string { return acrs[level] }

// Text is one text in the four languages.
type Text map[string]string

// In returns the text in lang, German when it has none.
func (t Text) In(lang string) string {
	if s := t[lang]; s != "" {
		return s
	}
	return t[Langs[0]]
}

// Category is a situation of need ("Wohnen & Umzug").
type Category struct {
	ID    string `json:"id"`
	Title Text   `json:"title"`
}

// Service is one entry of the catalogue.
type Service struct {
	ID       string `json:"id"`
	Category string `json:"category"`
	Title    Text   `json:"title"`
	Summary  Text   `json:"summary"`
	// Keywords are synonyms and colloquial words per language that search
	// also finds the service by ("zügeln", "déménager").
	Keywords map[string][]string `json:"keywords"`
	// Level is the authentication level the service needs: low,
	// substantial or high.
	Level string `json:"level"`
	// Enablement: the account must be enabled ("freigeschaltet") for the
	// service by the operators before its login succeeds.
	Enablement bool `json:"enablement"`
	// Who may use it.
	Personal       bool `json:"personal"`
	Organisation   bool `json:"organisation"`
	Representative bool `json:"representative"`
	// Client is the OIDC client ID of the service at the IdP; "" when it is
	// not connected as a relying party.
	Client string `json:"client,omitempty"`
	// Start is where the service starts: an absolute https URL, or
	// "forms:/path", "status:/path", "documents:/path" for the bundled
	// services (resolved with their public URLs).
	Start string `json:"start"`
}

// Catalogue is the parsed catalogue. It is read-only and safe for
// concurrent use.
type Catalogue struct {
	Categories []Category
	Services   []Service
	byID       map[string]*Service
	index      []indexed
}

// Load parses the embedded catalogue.
func Load() (*Catalogue, error) {
	return Parse(servicesJSON)
}

// Parse parses a catalogue file and checks it: unique IDs, known
// categories and levels, every text in every language, a start.
func Parse(data []byte) (*Catalogue, error) {
	var f struct {
		Categories []Category `json:"categories"`
		Services   []Service  `json:"services"`
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("catalogue: %w", err)
	}
	c := &Catalogue{Categories: f.Categories, Services: f.Services, byID: map[string]*Service{}}
	var errs []error
	cats := map[string]bool{}
	for _, cat := range c.Categories {
		cats[cat.ID] = true
		errs = append(errs, checkText("category "+cat.ID+" title", cat.Title)...)
	}
	for i := range c.Services {
		s := &c.Services[i]
		where := "service " + s.ID
		if s.ID == "" {
			errs = append(errs, fmt.Errorf("catalogue: service %d has no id", i))
		}
		if c.byID[s.ID] != nil {
			errs = append(errs, fmt.Errorf("catalogue: %s defined twice", where))
		}
		c.byID[s.ID] = s
		if !cats[s.Category] {
			errs = append(errs, fmt.Errorf("catalogue: %s: unknown category %q", where, s.Category))
		}
		if _, ok := acrs[s.Level]; !ok {
			errs = append(errs, fmt.Errorf("catalogue: %s: level %q is not low, substantial or high", where, s.Level))
		}
		if !s.Personal && !s.Organisation && !s.Representative {
			errs = append(errs, fmt.Errorf("catalogue: %s: usable by nobody", where))
		}
		if s.Start == "" {
			errs = append(errs, fmt.Errorf("catalogue: %s: no start", where))
		}
		errs = append(errs, checkText(where+" title", s.Title)...)
		errs = append(errs, checkText(where+" summary", s.Summary)...)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	c.buildIndex()
	return c, nil
}

func checkText(where string, t Text) []error {
	var errs []error
	for _, l := range Langs {
		if strings.TrimSpace(t[l]) == "" {
			errs = append(errs, fmt.Errorf("catalogue: %s: no text in %s", where, l))
		}
	}
	return errs
}

// Service returns the service with id.
func (c *Catalogue) Service(id string) (Service, bool) {
	s, ok := c.byID[id]
	if !ok {
		return Service{}, false
	}
	return *s, true
}

// Category returns the category with id.
func (c *Catalogue) Category(id string) (Category, bool) {
	for _, cat := range c.Categories {
		if cat.ID == id {
			return cat, true
		}
	}
	return Category{}, false
}

// InCategory returns the services of a category in catalogue order.
func (c *Catalogue) InCategory(id string) []Service {
	var out []Service
	for _, s := range c.Services {
		if s.Category == id {
			out = append(out, s)
		}
	}
	return out
}

// ForClient returns the services a client serves.
func (c *Catalogue) ForClient(clientID string) []Service {
	var out []Service
	for _, s := range c.Services {
		if s.Client == clientID && clientID != "" {
			out = append(out, s)
		}
	}
	return out
}

// NeedsEnablement reports whether a login to clientID needs the account to
// be enabled, and for which catalogue service.
func (c *Catalogue) NeedsEnablement(clientID string) (Service, bool) {
	for _, s := range c.ForClient(clientID) {
		if s.Enablement {
			return s, true
		}
	}
	return Service{}, false
}

// StartURL resolves a service's start with the bundled services' public
// URLs (kind → base URL).
func (s Service) StartURL(bases map[string]string) string {
	kind, path, ok := strings.Cut(s.Start, ":")
	if ok && !strings.HasPrefix(path, "//") {
		if base, found := bases[kind]; found && base != "" {
			return strings.TrimSuffix(base, "/") + path
		}
	}
	return s.Start
}

// Client is what Check needs of a registered OIDC client.
type Client struct {
	ID    string
	Level string // the acr the client requires; "" = any (counts as low)
}

// Check compares the registered clients with the catalogue: a client that
// serves catalogue services must require exactly the lowest level among
// them (a service asking more gets it with acr_values). A service whose
// client is not registered is fine (not connected yet). The error names
// every mismatch and how to fix it.
func (c *Catalogue) Check(clients []Client) error {
	var errs []error
	for _, cl := range clients {
		svcs := c.ForClient(cl.ID)
		if len(svcs) == 0 {
			continue
		}
		want := LevelHigh
		for _, s := range svcs {
			if levelRank(s.Level) < levelRank(want) {
				want = s.Level
			}
		}
		got := cl.Level
		if got == "" {
			got = ACR(LevelLow)
		}
		if got != ACR(want) {
			errs = append(errs, fmt.Errorf("client %q requires level %q but the service catalogue (catalogue/services.json, service %q) says %q (%s): change the client's level (admin clients / KC_CLIENTS_FILE) or the catalogue",
				cl.ID, got, svcs[0].ID, want, ACR(want)))
		}
	}
	return errors.Join(errs...)
}

func levelRank(l string) int {
	return slices.Index([]string{LevelLow, LevelSubstantial, LevelHigh}, l)
}
