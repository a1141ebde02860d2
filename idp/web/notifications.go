package web

import (
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/webkit"

	"github.com/kanton/kundencenter/idp/web/kit"
)

// notificationsAPI is the notification endpoint for services
// (POST /api/notifications): a service names a person or an organisation,
// a kind of event and a link to its own page, and the IdP sends a short,
// general e-mail in the recipient's language to their current address, so
// that services never hold e-mail addresses.
//
//	POST /api/notifications
//	Authorization: Bearer <client-credentials token with notifications:send>
//	Content-Type: application/json
//
//	{"messageId": "…", "recipient": {"kind": "person", "sub": "…"},
//	 "kind": "case-status-changed", "reference": "2026-000123-4",
//	 "link": "https://status.example.ch/cases/2026-000123-4"}
//
// Answers (RFC 9457 problem details on error): 202 accepted (also for a
// repeated messageId, and whether or not the recipient has an account);
// 401 invalid_token; 403 insufficient_scope; 415/413/400/422 for the body
// (webkit.Decode: JSON, at most 8 KiB, one object, no unknown member); 429
// when the service sends too many; 503 when a store is unavailable.
func (h *Handler) notificationsAPI(w http.ResponseWriter, r *http.Request) {
	bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || strings.TrimSpace(bearer) == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="kundencenter"`)
		problem(w, http.StatusUnauthorized, "a bearer access token is required")
		return
	}
	t, err := h.Prov.BearerToken(r.Context(), strings.TrimSpace(bearer))
	if err != nil {
		if !errors.Is(err, idp.ErrNotFound) {
			h.Log.ErrorContext(r.Context(), "notification: token lookup failed", "err", err, "request_id", kit.RequestID(r.Context()))
			problem(w, http.StatusServiceUnavailable, "try again later")
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="kundencenter", error="invalid_token"`)
		problem(w, http.StatusUnauthorized, "the access token is not active")
		return
	}
	// Only a service's own client-credentials token: never a token a
	// person's login produced.
	if t.AccountID != "" || t.Actor != "" || !slices.Contains(t.Scopes, idp.ScopeNotify) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="kundencenter", error="insufficient_scope", scope="`+idp.ScopeNotify+`"`)
		problem(w, http.StatusForbidden, "the access token lacks the scope "+idp.ScopeNotify)
		return
	}
	var body struct {
		MessageID string `json:"messageId"`
		Recipient struct {
			Kind string `json:"kind"`
			Sub  string `json:"sub"`
			ID   string `json:"id"`
		} `json:"recipient"`
		Kind      string `json:"kind"`
		Reference string `json:"reference"`
		Link      string `json:"link"`
	}
	if !webkit.Decode(w, r, &body, 8<<10) {
		return
	}
	client, err := h.Svc.Store().GetClient(r.Context(), t.ClientID)
	if err != nil {
		h.Log.WarnContext(r.Context(), "notification: client of token not found", "client_id", t.ClientID, "err", err)
		w.Header().Set("WWW-Authenticate", `Bearer realm="kundencenter", error="invalid_token"`)
		problem(w, http.StatusUnauthorized, "the access token is not active")
		return
	}
	n := idp.Notice{MessageID: body.MessageID, RecipientKind: body.Recipient.Kind, RecipientID: body.Recipient.Sub,
		Kind: body.Kind, Reference: body.Reference, Link: body.Link}
	if n.RecipientKind == idp.RecipientOrganisation {
		n.RecipientID = body.Recipient.ID
	}
	var members idp.OrgMembers
	if h.Cfg.Orgs != nil {
		members = h.Cfg.Orgs
	}
	err = h.Svc.Notify(r.Context(), client, n, members)
	var ve *idp.ValidationError
	switch {
	case err == nil:
		webkit.WriteJSON(w, http.StatusAccepted, map[string]string{"messageId": n.MessageID})
	case errors.As(err, &ve):
		invalid(w, ve)
	case errors.Is(err, idp.ErrRateLimited):
		w.Header().Set("Retry-After", "60")
		problem(w, http.StatusTooManyRequests, "too many notifications; try again later")
	default:
		h.Log.ErrorContext(r.Context(), "notification failed", "client_id", client.ID, "err", err, "request_id", kit.RequestID(r.Context()))
		problem(w, http.StatusServiceUnavailable, "try again later")
	}
}

// problem writes an RFC 9457 problem details answer.
func problem(w http.ResponseWriter, status int, detail string) {
	webkit.WriteProblem(w, nil, webkit.Problem{Title: http.StatusText(status), Status: status, Detail: detail})
}

// invalid writes a 422 problem naming every invalid member.
func invalid(w http.ResponseWriter, ve *idp.ValidationError) {
	p := webkit.Invalid
	for _, f := range slices.Sorted(maps.Keys(ve.Fields)) {
		for _, msg := range ve.Fields[f] {
			p.Errors = append(p.Errors, webkit.FieldError{Pointer: "/" + f, Detail: msg})
		}
	}
	webkit.WriteProblem(w, nil, p)
}
