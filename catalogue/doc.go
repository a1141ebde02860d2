// Package catalogue is the canton's service catalogue ("Dienstleistungen")
// as data: one embedded file, services.json, with every service's texts in
// German, French, Italian and English, the situation of need it belongs to,
// the authentication level it needs, whether the account must first be
// enabled for it ("Freischaltung"), who may use it (personally, for an
// organisation, as a representative) and where it starts.
//
// It is the single source of a service's required level and enablement:
// Check compares it with the registered OIDC clients, and the command
// refuses to start when they disagree. Search finds services in any of the
// four languages, tolerant of case, umlauts (ä = ae), accents, small typos
// and synonyms ("Zügeln" finds "Umzug melden").
//
// The package holds no state beyond the parsed file and imports no other
// package of the project.
package catalogue
