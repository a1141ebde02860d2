package account

import (
	"context"
	"errors"
	"net/http"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/templates"

	"github.com/kanton/kundencenter/idp/web/kit"
)

// Paths of the profile pages.
const (
	pathProfiles   = "/account/profiles"
	pathProfileNew = "/account/profiles/new"
)

func (h *Handler) profileRoutes() {
	h.Page("GET "+pathProfiles, h.profileList)
	h.Page("GET "+pathProfileNew, h.profileNewForm)
	h.Page("POST "+pathProfileNew, h.profileCreate)
	h.Page("GET "+pathProfiles+"/{id}", h.profileEditForm)
	h.Page("POST "+pathProfiles+"/{id}", h.profileSave)
	h.Page("POST "+pathProfiles+"/{id}/delete", h.profileDelete)
}

// profilesView is page "profiles": the account's profiles.
type profilesView struct {
	templates.Page
	Profiles []kit.ProfileRow
}

// profileFormView is page "profile_form": create (New) or edit a profile.
// For the main profile only the display name and phone are fields; the
// rest is shown from "Meine Daten" with a link there.
type profileFormView struct {
	templates.Page
	New       bool
	Action    string
	Main      bool
	ID        string
	Form      profileForm
	Countries []option
	CanDelete bool
	Person    string // main profile: name and address from "Meine Daten"
	Address   string
	Email     string
}

// profileForm holds the submitted or stored values of the profile form.
type profileForm struct {
	Name, GivenName, FamilyName, Street, HouseNumber, PostalCode, Locality string
	Country, CountryName, Email, Phone                                     string
}

// profileFields are the form's fields in page order (the error summary's order).
var profileFields = []string{"profile_name", "given_name", "family_name", "addr_street", "addr_house_number",
	"addr_postal_code", "addr_locality", "addr_country", "addr_country_name", "contact_email", "contact_phone"}

// profileList shows the account's profiles.
func (h *Handler) profileList(w http.ResponseWriter, r *http.Request) {
	sess, _, ok := h.consoleSession(w, r, pathProfiles)
	if !ok {
		return
	}
	v, err := h.profilesView(r.Context(), sess.AccountID)
	if err != nil {
		h.Fail(w, r, err)
		return
	}
	switch r.URL.Query().Get("done") {
	case "created":
		v.Notice = "profiles.notice_created"
	case "saved":
		v.Notice = "profiles.notice_saved"
	case "deleted":
		v.Notice = "profiles.notice_deleted"
	}
	h.Render(w, r, http.StatusOK, "profiles", h.Lang(w, r), v)
}

func (h *Handler) profilesView(ctx context.Context, accountID string) (*profilesView, error) {
	ps, err := h.Svc.Profiles(ctx, accountID)
	if err != nil {
		return nil, err
	}
	v := &profilesView{}
	for _, p := range ps {
		v.Profiles = append(v.Profiles, kit.ProfileRowOf(p))
	}
	return v, nil
}

func (v *profileFormView) options() {
	v.Countries = []option{{Value: idp.CountrySwitzerland, Key: "mydata.country_ch"},
		{Value: idp.CountryLiechtenstein, Key: "mydata.country_li"}, {Value: "other", Key: "mydata.country_other"}}
	for i := range v.Countries {
		v.Countries[i].Selected = v.Countries[i].Value == v.Form.Country ||
			(v.Form.Country == "" && v.Countries[i].Value == idp.CountrySwitzerland)
	}
}

func (h *Handler) renderProfileForm(w http.ResponseWriter, r *http.Request, status int, v *profileFormView) {
	v.options()
	h.Render(w, r, status, "profile_form", h.Lang(w, r), v)
}

func formOf(d idp.ProfileData) profileForm {
	f := profileForm{Name: d.Name, GivenName: d.GivenName, FamilyName: d.FamilyName, Street: d.Street,
		HouseNumber: d.HouseNumber, PostalCode: d.PostalCode, Locality: d.Locality, Email: d.Email, Phone: d.Phone}
	switch d.Country {
	case idp.CountrySwitzerland, idp.CountryLiechtenstein, "":
		f.Country = d.Country
	default:
		f.Country, f.CountryName = "other", d.Country
	}
	return f
}

func postedProfile(r *http.Request) profileForm {
	return profileForm{Name: r.PostFormValue("profile_name"), GivenName: r.PostFormValue("given_name"),
		FamilyName: r.PostFormValue("family_name"), Street: r.PostFormValue("addr_street"),
		HouseNumber: r.PostFormValue("addr_house_number"), PostalCode: r.PostFormValue("addr_postal_code"),
		Locality: r.PostFormValue("addr_locality"), Country: r.PostFormValue("addr_country"),
		CountryName: r.PostFormValue("addr_country_name"), Email: r.PostFormValue("contact_email"),
		Phone: r.PostFormValue("contact_phone")}
}

func (f profileForm) input() idp.ProfileInput {
	return idp.ProfileInput{Name: f.Name, GivenName: f.GivenName, FamilyName: f.FamilyName, Street: f.Street,
		HouseNumber: f.HouseNumber, PostalCode: f.PostalCode, Locality: f.Locality, Country: f.Country,
		CountryName: f.CountryName, Email: f.Email, Phone: f.Phone}
}

// profileNewForm shows an empty profile form, pre-filled with the
// person's name from "Meine Daten".
func (h *Handler) profileNewForm(w http.ResponseWriter, r *http.Request) {
	_, a, ok := h.consoleSession(w, r, pathProfiles)
	if !ok {
		return
	}
	p, err := h.Svc.Personal(a)
	if err != nil {
		h.Fail(w, r, err)
		return
	}
	h.renderProfileForm(w, r, http.StatusOK, &profileFormView{New: true, Action: pathProfileNew,
		Form: profileForm{GivenName: p.GivenName, FamilyName: p.FamilyName}})
}

// profileCreate stores a new profile; on invalid input nothing is stored
// and the form comes back with every message.
func (h *Handler) profileCreate(w http.ResponseWriter, r *http.Request) {
	sess, _, ok := h.consoleSession(w, r, pathProfiles)
	if !ok {
		return
	}
	f := postedProfile(r)
	_, err := h.Svc.CreateProfile(r.Context(), sess.AccountID, f.input())
	v := &profileFormView{New: true, Action: pathProfileNew, Form: f}
	var ve *idp.ValidationError
	switch {
	case errors.As(err, &ve):
		v.Errors = kit.FieldErrors(ve, profileFields...)
		h.renderProfileForm(w, r, http.StatusUnprocessableEntity, v)
	case errors.Is(err, idp.ErrProfileLimit):
		v.Errors = []templates.FieldError{{Key: "err.profile_limit"}}
		h.renderProfileForm(w, r, http.StatusConflict, v)
	case err != nil:
		h.Fail(w, r, err)
	default:
		http.Redirect(w, r, pathProfiles+"?done=created", http.StatusSeeOther)
	}
}

// editView is the edit form of one of the account's profiles; ok is
// false when the answer was written (not the account's profile: 404).
func (h *Handler) editView(w http.ResponseWriter, r *http.Request, accountID string) (*profileFormView, bool) {
	id := r.PathValue("id")
	ps, err := h.Svc.Profiles(r.Context(), accountID)
	if err != nil {
		h.Fail(w, r, err)
		return nil, false
	}
	for _, p := range ps {
		if p.ID != id {
			continue
		}
		row := kit.ProfileRowOf(p)
		return &profileFormView{Action: row.EditURL, Main: p.Main, ID: p.ID, Form: formOf(p.Data), CanDelete: len(ps) > 1 && !p.Main,
			Person: row.Person, Address: row.Address, Email: row.Email}, true
	}
	h.ErrorPage(w, r, http.StatusNotFound, "err.profile_not_found")
	return nil, false
}

// profileEditForm shows one profile's form.
func (h *Handler) profileEditForm(w http.ResponseWriter, r *http.Request) {
	sess, _, ok := h.consoleSession(w, r, pathProfiles)
	if !ok {
		return
	}
	v, ok := h.editView(w, r, sess.AccountID)
	if !ok {
		return
	}
	h.renderProfileForm(w, r, http.StatusOK, v)
}

// profileSave stores one profile's form.
func (h *Handler) profileSave(w http.ResponseWriter, r *http.Request) {
	sess, _, ok := h.consoleSession(w, r, pathProfiles)
	if !ok {
		return
	}
	v, ok := h.editView(w, r, sess.AccountID)
	if !ok {
		return
	}
	f := postedProfile(r)
	_, err := h.Svc.UpdateProfile(r.Context(), sess.AccountID, v.ID, f.input())
	var ve *idp.ValidationError
	switch {
	case errors.As(err, &ve):
		if v.Main {
			v.Form.Name, v.Form.Phone = f.Name, f.Phone
		} else {
			v.Form = f
		}
		v.Errors = kit.FieldErrors(ve, profileFields...)
		h.renderProfileForm(w, r, http.StatusUnprocessableEntity, v)
	case errors.Is(err, idp.ErrNotFound):
		h.ErrorPage(w, r, http.StatusNotFound, "err.profile_not_found")
	case err != nil:
		h.Fail(w, r, err)
	default:
		http.Redirect(w, r, pathProfiles+"?done=saved", http.StatusSeeOther)
	}
}

// profileDelete deletes a profile; the last one and the main one are
// refused (the form offers no button for them).
func (h *Handler) profileDelete(w http.ResponseWriter, r *http.Request) {
	sess, _, ok := h.consoleSession(w, r, pathProfiles)
	if !ok {
		return
	}
	err := h.Svc.DeleteProfile(r.Context(), sess.AccountID, r.PathValue("id"))
	switch {
	case errors.Is(err, idp.ErrLastProfile), errors.Is(err, idp.ErrMainProfile):
		key := "err.profile_last"
		if errors.Is(err, idp.ErrMainProfile) {
			key = "err.profile_main"
		}
		v, err := h.profilesView(r.Context(), sess.AccountID)
		if err != nil {
			h.Fail(w, r, err)
			return
		}
		v.Errors = []templates.FieldError{{Key: key}}
		h.Render(w, r, http.StatusConflict, "profiles", h.Lang(w, r), v)
	case errors.Is(err, idp.ErrNotFound):
		h.ErrorPage(w, r, http.StatusNotFound, "err.profile_not_found")
	case err != nil:
		h.Fail(w, r, err)
	default:
		http.Redirect(w, r, pathProfiles+"?done=deleted", http.StatusSeeOther)
	}
}
