package idp

import "context"

// Acting is whom a login acts for at one service, besides the person
// themself: an organisation the person is a member of (ActingOrganisation,
// ID = the organisation's ID) or a person they represent (ActingPerson, ID
// = the representation's ID). The zero value means the person acts for
// themself. It is chosen at login, checked again at every token issuance
// and introspection, and carried by the tokens of that one service only.
type Acting struct {
	Kind string `json:"kind,omitempty"`
	ID   string `json:"id,omitempty"`
}

// Kinds of Acting.
const (
	ActingOrganisation = "organisation"
	ActingPerson       = "person"
)

// IsZero reports whether the login acts for the person themself.
func (a Acting) IsZero() bool { return a.Kind == "" && a.ID == "" }

// ActingChoice is one way a person may act at a service, for the login's
// "Für wen handeln Sie?" page.
type ActingChoice struct {
	Acting Acting
	Name   string   // the organisation's or the represented person's name
	Detail string   // e.g. the UID, "Vertretung bis 31.12.2026"
	Roles  []string // the person's roles in the organisation
}

// ActingResolver decides whom a person may act for at a service
// (implemented by the delegation package). Both the login UI and token
// issuance ask it: the browser's choice is never trusted on its own.
type ActingResolver interface {
	// ActingChoices lists whom accountID may act for at clientID now (not
	// themself), in display order.
	ActingChoices(ctx context.Context, accountID, clientID string) ([]ActingChoice, error)
	// Represents checks that accountID may still act as a at clientID and
	// returns the "represents" claim for that service; an error refuses.
	Represents(ctx context.Context, accountID, clientID string, a Acting) (map[string]any, error)
	// ActingUsed records that a login to clientID acts as a (the
	// representation's history shows it to the represented person).
	ActingUsed(ctx context.Context, accountID, clientID string, a Acting) error
}
