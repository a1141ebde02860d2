// Package orgs is the area of the IdP's pages for organisations (members,
// roles, invitations, services, history, migration of legacy accounts)
// and representations (granting, accepting, ending, the action timeline),
// and the representation-actions API the services report to. The rules
// are in delegation; it runs on the kit shared with the other areas.
package orgs

import (
	"github.com/kanton/kundencenter/idp/web/kit"

	"net/http"

	"github.com/kanton/kundencenter/delegation"
	"github.com/kanton/kundencenter/idp"

	"github.com/kanton/kundencenter/webkit"
)

// Handler serves the area's pages on the kit's mux.
type Handler struct{ *kit.Kit }

// New returns the area's handler.
func New(k *kit.Kit) *Handler { return &Handler{Kit: k} }

// Routes registers the organisation and representation pages and the
// representation-actions API the services call.
func (h *Handler) Routes() {
	h.orgRoutes()
	h.repRoutes()
	h.Mux.HandleFunc("POST /api/representation-actions", h.actionsAPI)
}

// Area-specific meanings, passed to problem and fail before errorCases:
// on the organisation and representation pages a forbidden or unknown
// object is "not found" (its existence is not revealed).
var (
	orgCases = []webkit.Case{
		{Err: delegation.ErrForbidden, Status: http.StatusNotFound, Key: "err.org_not_found"},
		{Err: idp.ErrNotFound, Status: http.StatusNotFound, Key: "err.org_not_found"},
		{Err: delegation.ErrInvitationInvalid, Status: http.StatusBadRequest, Key: "err.invitation_invalid"},
	}
	repCases = []webkit.Case{
		{Err: delegation.ErrForbidden, Status: http.StatusNotFound, Key: "err.rep_not_found"},
		{Err: idp.ErrNotFound, Status: http.StatusNotFound, Key: "err.rep_not_found"},
		{Err: delegation.ErrRepState, Status: http.StatusConflict, Key: "err.rep_state"},
	}
)
