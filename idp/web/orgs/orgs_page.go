package orgs

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/kanton/kundencenter/delegation"
	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/templates"

	"github.com/kanton/kundencenter/idp/web/kit"
)

// orgPage builds the "org" view; problems of a failed admin action are
// passed in errs and the invite form keeps what was typed.
func (h *Handler) orgPage(w http.ResponseWriter, r *http.Request, status int, actor, id string, errs []templates.FieldError, invite *orgView) {
	ctx := r.Context()
	st, me, err := h.Cfg.Orgs.View(ctx, actor, id)
	if err != nil {
		h.Fail(w, r, err, orgCases...)
		return
	}
	v := &orgView{ID: st.Org.ID, Name: st.Org.Name, Designation: st.Org.Designation, UID: st.Org.UID,
		Addresses: st.Org.Addresses, Admin: me.IsAdmin(), InviteBy: "konto_id", InviteRole: delegation.RoleMember}
	if invite != nil {
		v.InviteBy, v.InviteKontoID, v.InviteEmail, v.InviteRole = invite.InviteBy, invite.InviteKontoID, invite.InviteEmail, invite.InviteRole
	}
	v.Errors = errs
	if errs == nil {
		v.Notice = orgNotice(r)
	}
	for _, role := range delegation.Roles {
		v.Roles = append(v.Roles, roleOption{Value: role, Key: roleKey(role)})
	}
	catalogue, err := h.Cfg.Orgs.Catalogue(ctx)
	if err != nil {
		h.Fail(w, r, err, orgCases...)
		return
	}
	catalogue = slices.Clone(catalogue) // the names below are translated in place
	lang := h.LangOf(r)
	names := map[string]string{}
	for i, c := range catalogue {
		c.Name = h.ServiceName(lang, c.ID, c.Name)
		catalogue[i] = c
		v.Catalogue = append(v.Catalogue, catalogueItem{ID: c.ID, Name: c.Name})
		names[c.ID] = c.Name
	}
	for _, m := range st.Members {
		item := memberItem{AccountID: m.AccountID, Name: h.Cfg.Orgs.DisplayName(ctx, m.AccountID), Me: m.AccountID == actor}
		if len(m.Roles) > 0 {
			item.RoleValue, item.Role = m.Roles[0], roleKey(m.Roles[0])
		}
		for _, c := range catalogue {
			item.Services = append(item.Services, serviceCheck{ID: c.ID, Name: c.Name, Checked: m.MayUse(c.ID)})
		}
		v.Members = append(v.Members, item)
	}
	for _, s := range me.Services {
		v.Services = append(v.Services, cmpOr(names[s], s))
	}
	now := h.Cfg.Orgs.Now()
	for _, i := range st.Invitations {
		v.Pending = append(v.Pending, pendingItem{ID: i.ID, Label: i.Label, Role: roleKey(i.Role),
			Expires: h.FmtDate(i.ExpiresAt), Expired: !i.Open(now)})
	}
	h.Render(w, r, status, "org", h.Lang(w, r), v)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (h *Handler) orgView(w http.ResponseWriter, r *http.Request) {
	actor, ok := h.orgSession(w, r)
	if !ok {
		return
	}
	h.orgPage(w, r, http.StatusOK, actor, r.PathValue("id"), nil, nil)
}

// orgAction runs an admin or member action posted from the "org" page and
// redirects back with a notice, or shows the page again with the problem.
func (h *Handler) orgAction(w http.ResponseWriter, r *http.Request, done string, fieldOrder []string,
	run func(actor, id string) error, keep *orgView,
) {
	actor, ok := h.orgSession(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	err := run(actor, id)
	var ve *idp.ValidationError
	switch {
	case err == nil:
		target := "/orgs/" + url.PathEscape(id)
		if done == "left" {
			target = "/orgs"
		}
		http.Redirect(w, r, target+"?done="+done, http.StatusSeeOther)
	case errors.As(err, &ve):
		h.orgPage(w, r, http.StatusUnprocessableEntity, actor, id, kit.FieldErrors(ve, fieldOrder...), keep)
	case errors.Is(err, delegation.ErrLastAdmin):
		h.orgPage(w, r, http.StatusConflict, actor, id, []templates.FieldError{{Key: "err.org_last_admin"}}, keep)
	case errors.Is(err, delegation.ErrAlreadyMember):
		h.orgPage(w, r, http.StatusConflict, actor, id, []templates.FieldError{{Field: fieldFor(keep), Key: "err.org_already_member"}}, keep)
	case errors.Is(err, delegation.ErrInvitationInvalid):
		h.orgPage(w, r, http.StatusConflict, actor, id, []templates.FieldError{{Key: "err.invitation_invalid"}}, keep)
	case errors.Is(err, idp.ErrRateLimited):
		h.orgPage(w, r, http.StatusTooManyRequests, actor, id, []templates.FieldError{{Key: "err.rate_limited"}}, keep)
	default:
		h.Fail(w, r, err, orgCases...)
	}
}

func fieldFor(v *orgView) string {
	if v == nil {
		return ""
	}
	if v.InviteBy == "email" {
		return "email"
	}
	return "konto_id"
}

func (h *Handler) orgInvite(w http.ResponseWriter, r *http.Request) {
	keep := &orgView{InviteBy: r.PostFormValue("by"), InviteKontoID: strings.TrimSpace(r.PostFormValue("konto_id")),
		InviteEmail: strings.TrimSpace(r.PostFormValue("email")), InviteRole: r.PostFormValue("role")}
	h.orgAction(w, r, "invited", []string{"by", "konto_id", "email", "role"}, func(actor, id string) error {
		return h.Cfg.Orgs.Invite(r.Context(), actor, id, delegation.InviteInput{By: keep.InviteBy, KontoID: keep.InviteKontoID,
			Email: keep.InviteEmail, Role: keep.InviteRole, IP: h.ClientIP(r)})
	}, keep)
}

func (h *Handler) orgRevoke(w http.ResponseWriter, r *http.Request) {
	h.orgAction(w, r, "revoked", nil, func(actor, id string) error {
		return h.Cfg.Orgs.RevokeInvitation(r.Context(), actor, id, r.PostFormValue("invitation_id"))
	}, nil)
}

func (h *Handler) orgRole(w http.ResponseWriter, r *http.Request) {
	h.orgAction(w, r, "role", []string{"role"}, func(actor, id string) error {
		return h.Cfg.Orgs.SetRole(r.Context(), actor, id, r.PostFormValue("account_id"), r.PostFormValue("role"))
	}, nil)
}

func (h *Handler) orgServices(w http.ResponseWriter, r *http.Request) {
	h.orgAction(w, r, "services", []string{"services"}, func(actor, id string) error {
		return h.Cfg.Orgs.SetServices(r.Context(), actor, id, r.PostFormValue("account_id"), r.PostForm["services"])
	}, nil)
}

func (h *Handler) orgRemove(w http.ResponseWriter, r *http.Request) {
	h.orgAction(w, r, "removed", nil, func(actor, id string) error {
		return h.Cfg.Orgs.RemoveMember(r.Context(), actor, id, r.PostFormValue("account_id"))
	}, nil)
}

func (h *Handler) orgLeave(w http.ResponseWriter, r *http.Request) {
	h.orgAction(w, r, "left", nil, func(actor, id string) error {
		return h.Cfg.Orgs.Leave(r.Context(), actor, id)
	}, nil)
}
