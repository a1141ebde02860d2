package orgs

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/kanton/kundencenter/delegation"
	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/templates"

	"github.com/kanton/kundencenter/idp/web/kit"
)

// orgRoutes registers the organisation pages when the service is wired.
func (h *Handler) orgRoutes() {
	if h.Cfg.Orgs == nil {
		return
	}
	h.Page("GET /orgs", h.orgList)
	h.Page("GET /orgs/new", h.orgNewForm)
	h.Page("POST /orgs/new", h.orgCreate)
	h.Page("GET /orgs/invitations", h.orgInvitation)
	h.Page("POST /orgs/invitations/respond", h.orgRespond)
	h.Page("GET /orgs/migrate", h.orgMigrateForm)
	h.Page("POST /orgs/migrate", h.orgMigrate)
	h.Page("GET /orgs/{id}", h.orgView)
	h.Page("GET /orgs/{id}/edit", h.orgEditForm)
	h.Page("POST /orgs/{id}/edit", h.orgEdit)
	h.Page("POST /orgs/{id}/invite", h.orgInvite)
	h.Page("POST /orgs/{id}/invitations/revoke", h.orgRevoke)
	h.Page("POST /orgs/{id}/members/role", h.orgRole)
	h.Page("POST /orgs/{id}/members/services", h.orgServices)
	h.Page("POST /orgs/{id}/members/remove", h.orgRemove)
	h.Page("POST /orgs/{id}/leave", h.orgLeave)
	h.Page("GET /orgs/{id}/history", h.orgHistory)
}

// orgsView is page "orgs": my organisations, open invitations, legacy
// accounts waiting for migration.
type orgsView struct {
	templates.Page
	Orgs        []orgItem
	Invitations []invitationItem
	Legacy      []legacyItem
}

type orgItem struct {
	ID, Name, Designation string
	Roles                 []string // message keys
	URL                   string
}

type invitationItem struct {
	ID, OrgName, Role string // Role: message key
	Expires           string
}

type legacyItem struct {
	LegacyID, OrgName, URL string
}

// orgFormView is page "org_form": create, edit or migrate an organisation.
type orgFormView struct {
	templates.Page
	Action    string
	Heading   string // message key
	Submit    string // message key
	LegacyID  string // posted back as "legacy_id" when migrating
	CancelURL string
	Name      string
	Desig     string
	UID       string
	Addresses []addressRow
}

// addressRow is one address row of the form; field names carry the index.
type addressRow struct {
	Index                             string
	Street, PostalCode, Town, Country string
}

// orgView is page "org": an organisation as a member sees it; admins get
// the forms.
type orgView struct {
	templates.Page
	ID, Name, Designation, UID string
	Addresses                  []delegation.Address
	Admin                      bool
	Members                    []memberItem
	Pending                    []pendingItem
	Catalogue                  []catalogueItem
	Roles                      []roleOption
	InviteBy                   string // "konto_id" or "email", kept after an error
	InviteKontoID, InviteEmail string
	InviteRole                 string
	Services                   []string // my assigned services (names), for non-admins
}

type memberItem struct {
	AccountID, Name string
	Role            string // message key of the first role
	RoleValue       string
	Services        []serviceCheck
	Me              bool
}

type serviceCheck struct {
	ID, Name string
	Checked  bool
}

type pendingItem struct {
	ID, Label, Role, Expires string
	Expired                  bool
}

type catalogueItem struct{ ID, Name string }

type roleOption struct{ Value, Key string }

// orgHistoryView is page "org_history".
type orgHistoryView struct {
	templates.Page
	Name, BackURL string
	Events        []eventItem
}

type eventItem struct {
	At, Actor, Action, Subject, Detail string // Action: message key
}

// orgInvitationView is page "org_invitation": an invitation opened from
// its e-mailed link.
type orgInvitationView struct {
	templates.Page
	ID, OrgName, Designation, Role string
	Expires                        string
	Invalid                        bool
}

// orgSession returns the logged-in account or redirects to the login.
func (h *Handler) orgSession(w http.ResponseWriter, r *http.Request) (string, bool) {
	s, ok := h.Session(r)
	if !ok {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return "", false
	}
	return s.AccountID, true
}

// orgNotices are the notices a redirect after a change may ask for.
var orgNotices = map[string]string{
	"created": "org.notice_created", "saved": "org.notice_saved", "invited": "org.notice_invited",
	"accepted": "org.notice_accepted", "declined": "org.notice_declined", "removed": "org.notice_removed",
	"left": "org.notice_left", "role": "org.notice_role", "services": "org.notice_services",
	"revoked": "org.notice_revoked", "migrated": "org.notice_migrated",
}

func orgNotice(r *http.Request) string { return orgNotices[r.URL.Query().Get("done")] }

func roleKey(r string) string { return "org.role_" + r }

func roleKeys(roles []string) []string {
	out := make([]string, len(roles))
	for i, r := range roles {
		out[i] = roleKey(r)
	}
	return out
}

func (h *Handler) orgList(w http.ResponseWriter, r *http.Request) {
	actor, ok := h.orgSession(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	v := &orgsView{}
	v.Notice = orgNotice(r)
	orgs, err := h.Cfg.Orgs.MyOrgs(ctx, actor)
	if err != nil {
		h.Fail(w, r, err, orgCases...)
		return
	}
	for _, m := range orgs {
		v.Orgs = append(v.Orgs, orgItem{ID: m.Org.ID, Name: m.Org.Name, Designation: m.Org.Designation,
			Roles: roleKeys(m.Membership.Roles), URL: "/orgs/" + url.PathEscape(m.Org.ID)})
	}
	invs, err := h.Cfg.Orgs.MyInvitations(ctx, actor)
	if err != nil {
		h.Fail(w, r, err, orgCases...)
		return
	}
	for _, i := range invs {
		v.Invitations = append(v.Invitations, invitationItem{ID: i.Invitation.ID, OrgName: i.Org.Name,
			Role: roleKey(i.Invitation.Role), Expires: h.FmtDate(i.Invitation.ExpiresAt)})
	}
	legacy, err := h.Cfg.Orgs.PendingMigrations(ctx, actor)
	if err != nil {
		h.Fail(w, r, err, orgCases...)
		return
	}
	for _, l := range legacy {
		v.Legacy = append(v.Legacy, legacyItem{LegacyID: l.LegacyID, OrgName: l.OrgName,
			URL: "/orgs/migrate?legacy_id=" + url.QueryEscape(l.LegacyID)})
	}
	h.Render(w, r, http.StatusOK, "orgs", h.Lang(w, r), v)
}

// orgInputFrom reads the organisation form. Address rows are numbered
// 0…maxAddressRows-1.
func orgInputFrom(r *http.Request) delegation.OrgInput {
	in := delegation.OrgInput{Name: r.PostFormValue("name"), Designation: r.PostFormValue("designation"), UID: r.PostFormValue("uid")}
	for i := range maxAddressRows {
		n := strconv.Itoa(i)
		in.Addresses = append(in.Addresses, delegation.Address{Street: r.PostFormValue("street_" + n),
			PostalCode: r.PostFormValue("postal_code_" + n), Town: r.PostFormValue("town_" + n), Country: r.PostFormValue("country_" + n)})
	}
	return in
}

// maxAddressRows is how many address rows the form offers.
const maxAddressRows = 3

// formFrom fills the form view from input, padded to maxAddressRows rows.
func formFrom(v *orgFormView, in delegation.OrgInput) {
	v.Name, v.Desig, v.UID = in.Name, in.Designation, in.UID
	v.Addresses = nil
	for i := range maxAddressRows {
		row := addressRow{Index: strconv.Itoa(i), Country: "CH"}
		if i < len(in.Addresses) {
			a := in.Addresses[i]
			row.Street, row.PostalCode, row.Town = a.Street, a.PostalCode, a.Town
			if a.Country != "" {
				row.Country = a.Country
			}
		}
		v.Addresses = append(v.Addresses, row)
	}
}

func orgFieldOrder() []string {
	order := []string{"name", "designation", "uid"}
	for i := range maxAddressRows {
		n := strconv.Itoa(i)
		order = append(order, "street_"+n, "postal_code_"+n, "town_"+n, "country_"+n)
	}
	return order
}

func (h *Handler) orgNewForm(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.orgSession(w, r); !ok {
		return
	}
	v := &orgFormView{Action: "/orgs/new", Heading: "org.new_title", Submit: "org.create", CancelURL: "/orgs"}
	formFrom(v, delegation.OrgInput{})
	v.Title = "org.new_title"
	h.Render(w, r, http.StatusOK, "org_form", h.Lang(w, r), v)
}

// submitOrgForm runs a create, edit or migrate submission and re-renders
// the form with the problems in the user's language.
func (h *Handler) submitOrgForm(w http.ResponseWriter, r *http.Request, v *orgFormView,
	run func(actor string, in delegation.OrgInput) (delegation.Organisation, error), done string,
) {
	actor, ok := h.orgSession(w, r)
	if !ok {
		return
	}
	lang := h.Lang(w, r)
	in := orgInputFrom(r)
	formFrom(v, in)
	v.Title = v.Heading
	o, err := run(actor, in)
	var ve *idp.ValidationError
	switch {
	case errors.As(err, &ve):
		v.Errors = kit.FieldErrors(ve, orgFieldOrder()...)
		h.Render(w, r, http.StatusUnprocessableEntity, "org_form", lang, v)
	case errors.Is(err, delegation.ErrForbidden), errors.Is(err, delegation.ErrMigrated):
		h.Fail(w, r, delegation.ErrForbidden, orgCases...)
	case err != nil:
		status, fe := h.Problem(r, err)
		v.Errors = []templates.FieldError{fe}
		h.Render(w, r, status, "org_form", lang, v)
	default:
		http.Redirect(w, r, "/orgs/"+url.PathEscape(o.ID)+"?done="+done, http.StatusSeeOther)
	}
}

func (h *Handler) orgCreate(w http.ResponseWriter, r *http.Request) {
	v := &orgFormView{Action: "/orgs/new", Heading: "org.new_title", Submit: "org.create", CancelURL: "/orgs"}
	h.submitOrgForm(w, r, v, func(actor string, in delegation.OrgInput) (delegation.Organisation, error) {
		return h.Cfg.Orgs.CreateOrg(r.Context(), actor, in)
	}, "created")
}

func (h *Handler) orgEditForm(w http.ResponseWriter, r *http.Request) {
	actor, ok := h.orgSession(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	st, m, err := h.Cfg.Orgs.View(r.Context(), actor, id)
	if err == nil && !m.IsAdmin() {
		err = delegation.ErrForbidden
	}
	if err != nil {
		h.Fail(w, r, err, orgCases...)
		return
	}
	v := &orgFormView{Action: "/orgs/" + url.PathEscape(id) + "/edit", Heading: "org.edit_title", Submit: "org.save",
		CancelURL: "/orgs/" + url.PathEscape(id)}
	formFrom(v, delegation.OrgInput{Name: st.Org.Name, Designation: st.Org.Designation, UID: st.Org.UID, Addresses: st.Org.Addresses})
	v.Title = v.Heading
	h.Render(w, r, http.StatusOK, "org_form", h.Lang(w, r), v)
}

func (h *Handler) orgEdit(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	v := &orgFormView{Action: "/orgs/" + url.PathEscape(id) + "/edit", Heading: "org.edit_title", Submit: "org.save",
		CancelURL: "/orgs/" + url.PathEscape(id)}
	h.submitOrgForm(w, r, v, func(actor string, in delegation.OrgInput) (delegation.Organisation, error) {
		return h.Cfg.Orgs.EditOrg(r.Context(), actor, id, in)
	}, "saved")
}

func (h *Handler) orgMigrateForm(w http.ResponseWriter, r *http.Request) {
	actor, ok := h.orgSession(w, r)
	if !ok {
		return
	}
	legacyID := r.URL.Query().Get("legacy_id")
	pending, err := h.Cfg.Orgs.PendingMigrations(r.Context(), actor)
	if err != nil {
		h.Fail(w, r, err, orgCases...)
		return
	}
	i := slices.IndexFunc(pending, func(l delegation.LegacyAccount) bool { return l.LegacyID == legacyID })
	if i < 0 {
		h.Fail(w, r, delegation.ErrForbidden, orgCases...)
		return
	}
	v := &orgFormView{Action: "/orgs/migrate", Heading: "org.migrate_title", Submit: "org.migrate", LegacyID: legacyID, CancelURL: "/orgs"}
	formFrom(v, delegation.OrgInput{Name: pending[i].OrgName, UID: pending[i].UID})
	v.Title = v.Heading
	h.Render(w, r, http.StatusOK, "org_form", h.Lang(w, r), v)
}

func (h *Handler) orgMigrate(w http.ResponseWriter, r *http.Request) {
	legacyID := r.PostFormValue("legacy_id")
	v := &orgFormView{Action: "/orgs/migrate", Heading: "org.migrate_title", Submit: "org.migrate", LegacyID: legacyID, CancelURL: "/orgs"}
	h.submitOrgForm(w, r, v, func(actor string, in delegation.OrgInput) (delegation.Organisation, error) {
		return h.Cfg.Orgs.MigrateLegacy(r.Context(), actor, legacyID, in)
	}, "migrated")
}

func (h *Handler) orgHistory(w http.ResponseWriter, r *http.Request) {
	actor, ok := h.orgSession(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	id := r.PathValue("id")
	st, _, err := h.Cfg.Orgs.View(ctx, actor, id)
	if err != nil {
		h.Fail(w, r, err, orgCases...)
		return
	}
	events, err := h.Cfg.Orgs.History(ctx, actor, id)
	if err != nil {
		h.Fail(w, r, err, orgCases...)
		return
	}
	lang := h.Lang(w, r)
	v := &orgHistoryView{Name: st.Org.Name, BackURL: "/orgs/" + url.PathEscape(id)}
	names := map[string]string{}
	name := func(accountID string) string {
		if n, ok := names[accountID]; ok {
			return n
		}
		n := h.Cfg.Orgs.DisplayName(ctx, accountID)
		if n == "" {
			n = h.Tpl.T(lang, "org.deleted_account")
		}
		names[accountID] = n
		return n
	}
	for _, e := range events {
		item := eventItem{At: h.FmtDate(e.At), Action: "org.event_" + e.Action, Detail: e.Detail}
		if e.Actor == "system" {
			item.Actor = h.Tpl.T(lang, "org.system")
		} else {
			item.Actor = name(e.Actor)
		}
		switch e.Action {
		case delegation.EventInvited, delegation.EventInvitationRevoked:
			item.Subject = e.Subject // the invitation's label
		case delegation.EventEdited, delegation.EventMigrated:
		default:
			item.Subject = name(e.Subject)
		}
		if delegation.ValidRole(e.Detail) {
			item.Detail = h.Tpl.T(lang, roleKey(e.Detail))
		}
		v.Events = append(v.Events, item)
	}
	h.Render(w, r, http.StatusOK, "org_history", lang, v)
}

// orgInvitation shows an invitation opened from its e-mailed link (the
// link's token is throttled and checked against the logged-in account).
func (h *Handler) orgInvitation(w http.ResponseWriter, r *http.Request) {
	actor, ok := h.orgSession(w, r)
	if !ok {
		return
	}
	inv, err := h.Cfg.Orgs.InvitationByToken(r.Context(), actor, r.URL.Query().Get("token"), h.ClientIP(r))
	lang := h.Lang(w, r)
	switch {
	case errors.Is(err, delegation.ErrInvitationInvalid):
		h.Render(w, r, http.StatusBadRequest, "org_invitation", lang, &orgInvitationView{Invalid: true})
		return
	case err != nil:
		h.Fail(w, r, err)
		return
	}
	h.Render(w, r, http.StatusOK, "org_invitation", lang, &orgInvitationView{ID: inv.Invitation.ID, OrgName: inv.Org.Name,
		Designation: inv.Org.Designation, Role: roleKey(inv.Invitation.Role), Expires: h.FmtDate(inv.Invitation.ExpiresAt)})
}

// orgRespond accepts or declines an invitation addressed to the
// logged-in account (the binding is checked by the service).
func (h *Handler) orgRespond(w http.ResponseWriter, r *http.Request) {
	actor, ok := h.orgSession(w, r)
	if !ok {
		return
	}
	accept := r.PostFormValue("answer") == "accept"
	o, err := h.Cfg.Orgs.Respond(r.Context(), actor, r.PostFormValue("invitation_id"), accept)
	switch {
	case errors.Is(err, delegation.ErrAlreadyMember):
		h.ErrorPage(w, r, http.StatusConflict, "err.org_already_member")
	case err != nil:
		h.Fail(w, r, err, orgCases...)
	case accept:
		http.Redirect(w, r, "/orgs/"+url.PathEscape(o.ID)+"?done=accepted", http.StatusSeeOther)
	default:
		http.Redirect(w, r, "/orgs?done=declined", http.StatusSeeOther)
	}
}
