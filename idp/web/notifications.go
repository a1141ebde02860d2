package web

import (
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/kanton/kundencenter/idp"

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
// 401 invalid_token; 403 insufficient_scope; 415/400/422 for the body; 429
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
	if mt, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";"); !strings.EqualFold(strings.TrimSpace(mt), "application/json") {
		problem(w, http.StatusUnsupportedMediaType, "the body must be application/json")
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
	dec := json.NewDecoder(io.LimitReader(r.Body, 8<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		problem(w, http.StatusBadRequest, "the body must be one JSON object as documented")
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
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_ = json.NewEncoder(w).Encode(map[string]string{"messageId": n.MessageID})
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
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "about:blank", "title": http.StatusText(status),
		"status": status, "detail": detail})
}

// invalid writes a 422 problem naming every invalid member.
func invalid(w http.ResponseWriter, ve *idp.ValidationError) {
	type fieldError struct {
		Pointer string `json:"pointer"`
		Detail  string `json:"detail"`
	}
	var errs []fieldError
	for _, f := range slices.Sorted(maps.Keys(ve.Fields)) {
		for _, msg := range ve.Fields[f] {
			errs = append(errs, fieldError{Pointer: "/" + f, Detail: msg})
		}
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusUnprocessableEntity)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "urn:kundencenter:problem:invalid", "title": "Invalid request",
		"status": http.StatusUnprocessableEntity, "errors": errs})
}
