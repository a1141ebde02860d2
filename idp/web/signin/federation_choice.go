package signin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/kanton/kundencenter/connectors"
	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/login"
	"github.com/kanton/kundencenter/templates"

	"github.com/kanton/kundencenter/idp/web/kit"
)

// A pending federation is a first upstream login waiting for the person's
// choice: a new account or a link to an existing one. It lives in the
// ephemeral store under a 128-bit ID that only this browser's cookie
// carries, for at most pendingTTL, and is taken (single use) when the
// choice is carried out. The identity is sealed with the key ring.
type pendingFed struct {
	ID            string    `json:"id"`
	Connector     string    `json:"conn"`
	AuthRequestID string    `json:"ar,omitempty"`
	Sealed        []byte    `json:"sealed"`
	Created       time.Time `json:"created"`
}

func pendingKey(id string) string { return "fedp:" + id }

func pendingLinkKey(txID string) string { return "fedlink:" + txID }

func (h *Handler) pendingCookie() string { return h.CookieName("kc_fed") }

func (h *Handler) fedStartChoice(w http.ResponseWriter, r *http.Request, ident connectors.Identity, st connectors.LoginState) {
	ctx := r.Context()
	p := pendingFed{ID: idp.NewID(), Connector: ident.Connector, AuthRequestID: st.AuthRequestID, Created: h.Svc.Now()}
	raw, err := json.Marshal(ident)
	if err == nil {
		p.Sealed = h.Svc.SealFor(p.ID, "federation", raw)
		raw, err = json.Marshal(p)
	}
	if err == nil {
		err = h.Svc.Ephemeral().Set(ctx, pendingKey(p.ID), raw, pendingTTL)
	}
	if err != nil {
		h.Fail(w, r, err)
		return
	}
	h.SetCookie(w, h.pendingCookie(), p.ID, int(pendingTTL/time.Second))
	http.Redirect(w, r, "/login/external/choice", http.StatusSeeOther)
}

// loadPending returns the browser's pending federation and its identity.
func (h *Handler) loadPending(r *http.Request) (pendingFed, connectors.Identity, bool) {
	c, err := r.Cookie(h.pendingCookie())
	if err != nil || c.Value == "" {
		return pendingFed{}, connectors.Identity{}, false
	}
	return h.pendingByID(r.Context(), c.Value, false)
}

// pendingByID loads (or, with take, takes) a pending federation.
func (h *Handler) pendingByID(ctx context.Context, id string, take bool) (pendingFed, connectors.Identity, bool) {
	get := h.Svc.Ephemeral().Get
	if take {
		get = h.Svc.Ephemeral().Take
	}
	raw, err := get(ctx, pendingKey(id))
	if err != nil {
		if !errors.Is(err, idp.ErrNotFound) {
			h.Log.ErrorContext(ctx, "pending federation lookup failed", "err", err, "request_id", kit.RequestID(ctx))
		}
		return pendingFed{}, connectors.Identity{}, false
	}
	var p pendingFed
	if json.Unmarshal(raw, &p) != nil || p.ID != id || h.Svc.Now().Sub(p.Created) > pendingTTL {
		return pendingFed{}, connectors.Identity{}, false
	}
	var ident connectors.Identity
	plain, err := h.Svc.OpenFor(p.ID, "federation", p.Sealed)
	if err != nil || json.Unmarshal(plain, &ident) != nil {
		return pendingFed{}, connectors.Identity{}, false
	}
	return p, ident, true
}

// choiceView builds page "federation_choice" from the pending login.
func (h *Handler) choiceView(r *http.Request, p pendingFed, ident connectors.Identity) *federationChoiceView {
	v := &federationChoiceView{Provider: h.ConnectorName(p.Connector), AuthRequestID: p.AuthRequestID,
		GivenName: ident.GivenName, FamilyName: ident.FamilyName, EmailVerified: ident.EmailVerified && ident.Email != "",
		CreateAction: "/login/external/create", LinkAction: "/login/external/link", CancelAction: "/login/external/cancel",
		ResetURL: "/reset"}
	if v.EmailVerified {
		v.Email = ident.Email
	}
	if p.AuthRequestID != "" {
		if a, err := h.Prov.AuthRequest(r.Context(), p.AuthRequestID); err == nil {
			v.ClientName = h.ClientName(r, a.ClientID)
		}
	}
	return v
}

// fedChoice shows the choice after a first upstream login.
func (h *Handler) fedChoice(w http.ResponseWriter, r *http.Request) {
	p, ident, ok := h.loadPending(r)
	if !ok {
		h.fedError(w, r, "", "expired")
		return
	}
	h.Render(w, r, http.StatusOK, "federation_choice", h.Lang(w, r), h.choiceView(r, p, ident))
}

// fedPost loads the pending login of a choice form.
func (h *Handler) fedPost(w http.ResponseWriter, r *http.Request) (pendingFed, connectors.Identity, bool) {
	p, ident, ok := h.loadPending(r)
	if !ok {
		h.fedError(w, r, "", "expired")
		return pendingFed{}, connectors.Identity{}, false
	}
	return p, ident, true
}

// fedCreate opens a new account from the (confirmed or edited) claims,
// linked to the upstream login. An address the provider verified and the
// person kept activates the account at once; another address gets the
// normal activation mail, and the account stays pending until confirmed.
func (h *Handler) fedCreate(w http.ResponseWriter, r *http.Request) {
	p, ident, ok := h.fedPost(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	lang := h.Lang(w, r)
	v := h.choiceView(r, p, ident)
	v.Form, v.GivenName, v.FamilyName, v.Email = "create", r.PostFormValue("given_name"), r.PostFormValue("family_name"), strings.TrimSpace(r.PostFormValue("email"))
	verified := ident.EmailVerified && ident.Email != "" && idp.NormalizeEmail(v.Email) == idp.NormalizeEmail(ident.Email)
	in := idp.FederatedInput{GivenName: v.GivenName, FamilyName: v.FamilyName, Email: v.Email, EmailVerified: verified,
		Locale: lang, IP: h.ClientIP(r), ReturnTo: p.AuthRequestID,
		Link: idp.ExternalLink{Connector: ident.Connector, Issuer: ident.Issuer, Subject: ident.Subject, ProofingLevel: ident.ProofingLevel}}
	if ident.BirthDate != "" {
		in.LinkPersonal = &idp.LinkPersonal{BirthDate: ident.BirthDate, BirthDateVerified: ident.BirthDateVerified}
	}
	// Validate before taking the pending login, so that a form error keeps it.
	if _, err := h.Svc.Store().GetLink(ctx, ident.Connector, ident.Issuer, ident.Subject); err == nil {
		h.linkError(w, r, p, idp.ErrConflict)
		return
	}
	if _, _, ok := h.pendingByID(ctx, p.ID, true); !ok {
		h.fedError(w, r, "", "expired")
		return
	}
	acct, err := h.Svc.RegisterFederated(ctx, in)
	var ve *idp.ValidationError
	if errors.As(err, &ve) || errors.Is(err, idp.ErrRateLimited) {
		// Put the pending login back for the corrected form.
		if raw, merr := json.Marshal(p); merr == nil {
			_ = h.Svc.Ephemeral().Set(ctx, pendingKey(p.ID), raw, max(time.Second, pendingTTL-h.Svc.Now().Sub(p.Created)))
		}
		if ve != nil {
			v.Errors = kit.FieldErrors(ve, "given_name", "family_name", "email")
			h.Render(w, r, http.StatusUnprocessableEntity, "federation_choice", lang, v)
			return
		}
		status, fe := h.Problem(r, err)
		v.Errors = []templates.FieldError{fe}
		h.Render(w, r, status, "federation_choice", lang, v)
		return
	}
	h.SetCookie(w, h.pendingCookie(), "", -1)
	if err != nil {
		h.linkError(w, r, p, err)
		return
	}
	if acct.Status != idp.StatusActive {
		// Pending (or, with an address that has an account, nothing): the
		// same answer either way.
		h.Render(w, r, http.StatusOK, "register_done", lang, &registerDoneView{Email: idp.NormalizeEmail(v.Email)})
		return
	}
	h.fedContinue(w, r, acct.ID, ident, connectors.Request{AuthRequestID: p.AuthRequestID, Purpose: purposeLogin}, ident.AMR)
}

// fedLink links the upstream login to an existing account after its
// password and, when the account has one, its second factor: the pending
// link is completed where the second factor completes (linkAfterSecondFactor).
func (h *Handler) fedLink(w http.ResponseWriter, r *http.Request) {
	p, ident, ok := h.fedPost(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	lang := h.Lang(w, r)
	v := h.choiceView(r, p, ident)
	v.Form, v.LinkEmail = "link", strings.TrimSpace(r.PostFormValue("link_email"))
	if v.LinkEmail == "" || r.PostFormValue("link_password") == "" {
		if v.LinkEmail == "" {
			v.Errors = append(v.Errors, templates.FieldError{Field: "link_email", Key: "err.required"})
		}
		if r.PostFormValue("link_password") == "" {
			v.Errors = append(v.Errors, templates.FieldError{Field: "link_password", Key: "err.required"})
		}
		h.Render(w, r, http.StatusUnprocessableEntity, "federation_choice", lang, v)
		return
	}
	acct, err := h.Svc.Login(ctx, v.LinkEmail, r.PostFormValue("link_password"), h.ClientIP(r))
	if err != nil {
		status, fe := h.Problem(r, err)
		v.Errors = []templates.FieldError{fe}
		h.Render(w, r, status, "federation_choice", lang, v)
		return
	}
	amr := slices.Clone(ident.AMR)
	if !slices.Contains(amr, idp.AMRPassword) {
		amr = append(amr, idp.AMRPassword)
	}
	m, err := h.Methods(ctx, acct.ID)
	if err != nil {
		h.Fail(w, r, err)
		return
	}
	if m.Reachable != idp.LevelLow {
		// Prove the second factor before linking: a login transaction as
		// after a password, plus a record naming the pending link.
		need, err := h.requiredLevel(ctx, p.AuthRequestID, m, login.Rule{})
		if err != nil {
			h.RequestExpired(w, r)
			return
		}
		if !idp.LevelAtLeast(need, idp.LevelSubstantial) {
			need = idp.LevelSubstantial
		}
		if !idp.LevelAtLeast(m.Reachable, need) {
			h.Render(w, r, http.StatusForbidden, "mfa_unmet", lang, &mfaUnmetView{
				AuthRequestID: p.AuthRequestID, CancelAction: "/login/mfa/cancel", SecurityURL: "/security"})
			return
		}
		tx := loginTx{ID: idp.NewID(), AccountID: acct.ID, AuthRequestID: p.AuthRequestID, AMR: amr, Need: need, Created: h.Svc.Now()}
		if err := h.Svc.Ephemeral().Set(ctx, pendingLinkKey(tx.ID), []byte(p.ID), loginTxTTL); err != nil {
			h.Fail(w, r, err)
			return
		}
		if err := h.saveTx(ctx, tx); err != nil {
			h.Fail(w, r, err)
			return
		}
		h.SetCookie(w, h.CookieName("kc_ltx"), tx.ID, 0)
		http.Redirect(w, r, "/login/mfa", http.StatusSeeOther)
		return
	}
	if _, _, ok := h.pendingByID(ctx, p.ID, true); !ok {
		h.fedError(w, r, "", "expired")
		return
	}
	h.SetCookie(w, h.pendingCookie(), "", -1)
	if err := h.createLink(ctx, acct.ID, ident); err != nil {
		h.linkError(w, r, p, err)
		return
	}
	h.fedContinue(w, r, acct.ID, ident, connectors.Request{AuthRequestID: p.AuthRequestID, Purpose: purposeLogin}, amr)
}

// linkAfterSecondFactor completes a pending link once the login
// transaction's second factor passed (called from finishMFA). It reports
// false after answering the request itself (the link failed).
func (h *Handler) linkAfterSecondFactor(w http.ResponseWriter, r *http.Request, tx loginTx) bool {
	ctx := r.Context()
	pid, err := h.Svc.Ephemeral().Take(ctx, pendingLinkKey(tx.ID))
	if errors.Is(err, idp.ErrNotFound) {
		return true // an ordinary login
	}
	if err != nil {
		h.Fail(w, r, err)
		return false
	}
	h.SetCookie(w, h.pendingCookie(), "", -1)
	p, ident, ok := h.pendingByID(ctx, string(pid), true)
	if !ok {
		h.fedError(w, r, "", "expired")
		return false
	}
	if err := h.createLink(ctx, tx.AccountID, ident); err != nil {
		h.linkError(w, r, p, err)
		return false
	}
	return true
}

// fedCancel drops the pending login and returns to the login page.
func (h *Handler) fedCancel(w http.ResponseWriter, r *http.Request) {
	target := "/login"
	if p, _, ok := h.loadPending(r); ok {
		_ = h.Svc.Ephemeral().Delete(r.Context(), pendingKey(p.ID))
		if p.AuthRequestID != "" {
			target += "?authRequestID=" + url.QueryEscape(p.AuthRequestID)
		}
	}
	h.SetCookie(w, h.pendingCookie(), "", -1)
	http.Redirect(w, r, target, http.StatusSeeOther)
}
