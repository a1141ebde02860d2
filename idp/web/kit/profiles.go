package kit

import (
	"net/url"
	"strings"

	"github.com/kanton/kundencenter/idp"
)

// ProfileRow is one profile in the list or on the login's choice page.
type ProfileRow struct {
	ID      string
	Name    string // display name; "" for a main profile never named (the page says "Meine Daten")
	Main    bool
	Person  string // given and family name
	Address string // one line, "" if none
	Email   string
	Phone   string
	EditURL string
}

// ProfileRowOf is the row of a profile.
func ProfileRowOf(p idp.ProfileView) ProfileRow {
	d := p.Data
	row := ProfileRow{ID: p.ID, Name: p.Name, Main: p.Main, Person: strings.TrimSpace(d.GivenName + " " + d.FamilyName),
		Email: d.Email, Phone: d.Phone, EditURL: "/account/profiles/" + url.PathEscape(p.ID)}
	if d.Locality != "" {
		row.Address = strings.TrimSpace(d.Street+" "+d.HouseNumber) + ", " + strings.TrimSpace(d.PostalCode+" "+d.Locality)
		if d.Country != idp.CountrySwitzerland {
			row.Address += ", " + d.Country
		}
	}
	return row
}
