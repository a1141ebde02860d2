package catalogue

import (
	"strings"
	"testing"
)

func load(t *testing.T) *Catalogue {
	t.Helper()
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCatalogueData(t *testing.T) {
	c := load(t)
	if len(c.Services) < 30 {
		t.Errorf("%d services, want at least 30", len(c.Services))
	}
	for _, cat := range c.Categories {
		if len(c.InCategory(cat.ID)) == 0 {
			t.Errorf("category %s has no service", cat.ID)
		}
	}
	for _, s := range c.Services {
		for _, l := range Langs {
			if len(s.Keywords[l]) == 0 {
				t.Errorf("service %s has no keywords in %s", s.ID, l)
			}
		}
		if u := s.StartURL(map[string]string{"forms": "https://f", "status": "https://s", "documents": "https://d"}); !strings.HasPrefix(u, "https://") {
			t.Errorf("service %s starts at %q", s.ID, u)
		}
	}
}

func TestParseRefusesBadData(t *testing.T) {
	tests := []struct{ name, data, want string }{
		{"unknown field", `{"categories":[],"services":[],"x":1}`, "unknown field"},
		{"missing language", `{"categories":[{"id":"a","title":{"de":"A","fr":"A","it":"A"}}],"services":[]}`, "no text in en"},
		{"bad level", `{"categories":[{"id":"a","title":{"de":"A","fr":"A","it":"A","en":"A"}}],"services":[{"id":"s","category":"a","level":"max","personal":true,"start":"x",
			"title":{"de":"A","fr":"A","it":"A","en":"A"},"summary":{"de":"A","fr":"A","it":"A","en":"A"}}]}`, `level "max"`},
		{"unknown category", `{"categories":[],"services":[{"id":"s","category":"b","level":"low","personal":true,"start":"x",
			"title":{"de":"A","fr":"A","it":"A","en":"A"},"summary":{"de":"A","fr":"A","it":"A","en":"A"}}]}`, `unknown category "b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"Zügeln": "zuegeln", "ZUEGELN": "zuegeln", "Déménagement": "demenagement", "Straße": "strasse",
		"Führerausweis": "fuehrerausweis", "Zu\u0308geln": "zuegeln", "Ça": "ca",
	} {
		if got := Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSearch is the table of queries and the service each must find first.
func TestSearch(t *testing.T) {
	c := load(t)
	tests := []struct {
		lang, query, first string
	}{
		// German: synonyms, umlauts written out or left away, case, typos.
		{"de", "Zügeln", "umzug-melden"},
		{"de", "zuegeln", "umzug-melden"},
		{"de", "ZUGELN", "umzug-melden"},
		{"de", "umzug", "umzug-melden"},
		{"de", "Umzgu melden", "umzug-melden"},
		{"de", "Adressänderung", "umzug-melden"},
		{"de", "Führerausweis verloren", "fuehrerausweis-ersetzen"},
		{"de", "fuehrerausweis", "fuehrerausweis-ersetzen"},
		{"de", "Steuererklärnug", "steuererklaerung"},
		{"de", "Hundesteuer", "hund-anmelden"},
		{"de", "hund", "hund-anmelden"},
		{"de", "Kita", "betreuungsgutschein"},
		{"de", "heiraten", "ehevorbereitung"},
		{"de", "Betreibungsauszug", "betreibungsauszug"},
		{"de", "Krankenkasse", "praemienverbilligung"},
		{"de", "Wohnsitzbestätigung", "wohnsitzbestaetigung"},
		{"de", "arbeitslos", "rav-anmeldung"},
		{"de", "Töff einlösen", "fahrzeug-einloesen"},
		// French: accents optional, synonyms.
		{"fr", "déménager", "umzug-melden"},
		{"fr", "demenagement", "umzug-melden"},
		{"fr", "permis de conduire perdu", "fuehrerausweis-ersetzen"},
		{"fr", "declaration d'impot", "steuererklaerung"},
		{"fr", "chien", "hund-anmelden"},
		{"fr", "creche", "betreuungsgutschein"},
		{"fr", "mariage", "ehevorbereitung"},
		// Italian.
		{"it", "trasloco", "umzug-melden"},
		{"it", "dichiarazione d'imposta", "steuererklaerung"},
		{"it", "cane", "hund-anmelden"},
		{"it", "cassa malati", "praemienverbilligung"},
		{"it", "patente di pesca", "fischereipatent"},
		// English.
		{"en", "moving house", "umzug-melden"},
		{"en", "tax return", "steuererklaerung"},
		{"en", "dog", "hund-anmelden"},
		{"en", "driving licence lost", "fuehrerausweis-ersetzen"},
		{"en", "scholarhsip", "stipendium"},
		{"en", "wedding", "ehevorbereitung"},
	}
	for _, tt := range tests {
		t.Run(tt.lang+"/"+tt.query, func(t *testing.T) {
			res := c.Search(tt.query, tt.lang)
			if len(res) == 0 {
				t.Fatalf("no result, want %s", tt.first)
			}
			if res[0].Service.ID != tt.first {
				var got []string
				for i, r := range res {
					if i == 4 {
						break
					}
					got = append(got, r.Service.ID)
				}
				t.Errorf("first results %v, want %s first", got, tt.first)
			}
		})
	}
}

func TestSearchNothing(t *testing.T) {
	c := load(t)
	for _, q := range []string{"", "  ", "der die das", "xylophonorchester"} {
		if res := c.Search(q, "de"); len(res) != 0 {
			t.Errorf("Search(%q) = %d results, want none", q, len(res))
		}
	}
}

func TestCheck(t *testing.T) {
	c := load(t)
	if err := c.Check([]Client{{ID: "forms"}, {ID: "status", Level: ACR(LevelLow)}, {ID: "documents"}, {ID: "backoffice", Level: "x"}}); err != nil {
		t.Errorf("Check of the bundled clients: %v", err)
	}
	err := c.Check([]Client{{ID: "status", Level: ACR(LevelSubstantial)}})
	if err == nil || !strings.Contains(err.Error(), `client "status" requires level "urn:kundencenter:loa:substantial"`) ||
		!strings.Contains(err.Error(), `says "low"`) {
		t.Errorf("Check of a disagreeing client: %v", err)
	}
}
