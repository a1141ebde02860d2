package orgs

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/kanton/kundencenter/idp"

	"github.com/kanton/kundencenter/idp/web/kit"
)

// actionsAPI is the action-receipt API (POST /api/representation-actions):
// a service tells the represented person what it did for them. It
// authenticates with the representative's access token acting for the
// person (or a token from token exchange) — the token names the
// representation and the service, so the body carries only the action:
//
//	POST /api/representation-actions
//	Authorization: Bearer <access token acting for P>
//	Content-Type: application/json
//
//	{"action": "Baugesuch 2026-117 eingereicht"}
//
// "texts" may add the text in other languages, shown to a person who
// reads the timeline in one of them:
//
//	{"action": "Baugesuch 2026-117 eingereicht", "texts": {"fr": "Demande de permis 2026-117 déposée"}}
//
// Answers: 202 recorded; 400 invalid_request (body, action text); 401
// invalid_token (unknown, expired, or the representation has ended); 403
// insufficient_scope (the token does not act for a represented person).
func (h *Handler) actionsAPI(w http.ResponseWriter, r *http.Request) {
	bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || bearer == "" {
		apiError(w, http.StatusUnauthorized, "invalid_token", "a Bearer access token is required")
		return
	}
	t, err := h.Prov.BearerToken(r.Context(), strings.TrimSpace(bearer))
	if err != nil {
		if !errors.Is(err, idp.ErrNotFound) {
			h.Log.ErrorContext(r.Context(), "action receipt: token lookup failed", "err", err, "request_id", kit.RequestID(r.Context()))
			apiError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "try again later")
			return
		}
		apiError(w, http.StatusUnauthorized, "invalid_token", "the access token is not active")
		return
	}
	var body struct {
		Action string `json:"action"`
		// Texts are the action in other languages (de, fr, it, en).
		Texts map[string]string `json:"texts"`
		// With a service's own client-credentials token (scope
		// idp.ScopeActionReceipts) the body names the representation and
		// the representative who acted, as the login's represents claim
		// told the service; the IdP checks both again.
		Representation string `json:"representation"`
		Actor          string `json:"actor"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		apiError(w, http.StatusBadRequest, "invalid_request", `the body must be JSON {"action": "…"}`)
		return
	}
	acting, account, client := t.Acting, t.AccountID, t.ClientID
	if t.AccountID == "" && t.Actor == "" { // the service's own token
		if !slices.Contains(t.Scopes, idp.ScopeActionReceipts) || body.Representation == "" || body.Actor == "" {
			apiError(w, http.StatusForbidden, "insufficient_scope",
				"a service's own token needs the scope "+idp.ScopeActionReceipts+" and names representation and actor")
			return
		}
		// The actor is R's subject as this service knows it (pairwise
		// for a pairwise client); one it was never given names no one.
		actor, err := h.Prov.AccountForSubject(r.Context(), t.ClientID, body.Actor)
		if err != nil && !errors.Is(err, idp.ErrNotFound) {
			h.Log.ErrorContext(r.Context(), "action receipt: actor lookup failed", "err", err, "request_id", kit.RequestID(r.Context()))
			apiError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "try again later")
			return
		}
		if err != nil {
			apiError(w, http.StatusUnauthorized, "invalid_token", "the representation has ended or does not cover this service")
			return
		}
		acting, account = idp.Acting{Kind: idp.ActingPerson, ID: body.Representation}, actor
	} else if body.Representation != "" || body.Actor != "" {
		apiError(w, http.StatusBadRequest, "invalid_request", "representation and actor come from the token")
		return
	}
	if acting.Kind != idp.ActingPerson || h.Cfg.Acting == nil {
		apiError(w, http.StatusForbidden, "insufficient_scope", "the access token does not act for a represented person")
		return
	}
	if t.Actor != "" && len(t.Audience) == 1 {
		account, client = t.Actor, t.Audience[0]
	}
	if _, err := h.Cfg.Acting.Represents(r.Context(), account, client, acting); err != nil {
		apiError(w, http.StatusUnauthorized, "invalid_token", "the representation has ended or does not cover this service")
		return
	}
	rec, ok := h.Cfg.Acting.(interface {
		RecordAction(ctx context.Context, representationID, clientID, action string) error
	})
	if !ok {
		apiError(w, http.StatusNotImplemented, "unsupported", "action receipts are not kept")
		return
	}
	record := func() error { return rec.RecordAction(r.Context(), acting.ID, client, body.Action) }
	if len(body.Texts) > 0 {
		multi, ok := h.Cfg.Acting.(interface {
			RecordActionTexts(ctx context.Context, representationID, clientID, action string, texts map[string]string) error
		})
		if !ok {
			apiError(w, http.StatusNotImplemented, "unsupported", "action texts in several languages are not kept")
			return
		}
		record = func() error { return multi.RecordActionTexts(r.Context(), acting.ID, client, body.Action, body.Texts) }
	}
	if err := record(); err != nil {
		var ve *idp.ValidationError
		if errors.As(err, &ve) {
			apiError(w, http.StatusBadRequest, "invalid_request", "action and texts: 1 to 200 characters of plain text each, texts in de, fr, it or en")
			return
		}
		h.Log.WarnContext(r.Context(), "action receipt refused", "err", err, "request_id", kit.RequestID(r.Context()))
		apiError(w, http.StatusUnauthorized, "invalid_token", "the representation does not accept receipts from this service")
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// apiError writes an OAuth-style JSON error (RFC 6750 §3 for token problems).
func apiError(w http.ResponseWriter, status int, code, description string) {
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		w.Header().Set("WWW-Authenticate", `Bearer error="`+code+`", error_description="`+description+`"`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": description})
}
