package signin

import (
	"net/http"
	"strings"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/provider"
	"github.com/kanton/kundencenter/templates"
)

// actingOption is one radio button of "Für wen handeln Sie?".
type actingOption struct {
	Value  string // "self" or "kind:id"
	Name   string
	Detail string
	Roles  string
	Kind   string // "", organisation, person
}

func actingValue(a idp.Acting) string {
	if a.IsZero() {
		return "self"
	}
	return a.Kind + ":" + a.ID
}

// actingChoices returns the options for the session's account at the
// request's client; ok is false when the page cannot be shown (the answer
// is then written).
func (h *Handler) actingChoices(w http.ResponseWriter, r *http.Request, id string) (idp.Session, []idp.ActingChoice, *loginContextView, bool) {
	sess, ok := h.Session(r)
	a, err := h.Prov.AuthRequest(r.Context(), id)
	if !ok || err != nil {
		h.RequestExpired(w, r)
		return idp.Session{}, nil, nil, false
	}
	if h.Cfg.Acting == nil {
		h.completeLogin(w, r, id, sess)
		return idp.Session{}, nil, nil, false
	}
	cs, err := h.Cfg.Acting.ActingChoices(r.Context(), sess.AccountID, a.ClientID)
	if err != nil {
		h.Fail(w, r, err)
		return idp.Session{}, nil, nil, false
	}
	v := &loginContextView{AuthRequestID: id, ClientName: h.ClientName(r, a.ClientID)}
	if acct, err := h.Svc.Account(r.Context(), sess.AccountID); err == nil {
		if pd, err := h.Svc.Personal(acct); err == nil {
			v.SelfName = strings.TrimSpace(pd.GivenName + " " + pd.FamilyName)
		}
	}
	v.Options = append(v.Options, actingOption{Value: "self", Name: v.SelfName})
	for _, c := range cs {
		v.Options = append(v.Options, actingOption{Value: actingValue(c.Acting), Name: c.Name, Detail: c.Detail,
			Roles: strings.Join(c.Roles, ", "), Kind: c.Acting.Kind})
	}
	return sess, cs, v, true
}

// contextForm asks "Für wen handeln Sie?" for a login to a service where
// the person may act for an organisation or someone they represent.
func (h *Handler) contextForm(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("authRequestID")
	_, cs, v, ok := h.actingChoices(w, r, id)
	if !ok {
		return
	}
	if len(cs) == 0 {
		sess, _ := h.Session(r)
		h.finishContext(w, r, id, sess, idp.Acting{})
		return
	}
	v.Selected = "self"
	h.Render(w, r, http.StatusOK, "login_context", h.Lang(w, r), v)
}

// context takes the choice; it must be one of the choices the resolver
// gives now (the browser's value is never trusted on its own).
func (h *Handler) context(w http.ResponseWriter, r *http.Request) {
	id := r.PostFormValue("authRequestID")
	sess, cs, v, ok := h.actingChoices(w, r, id)
	if !ok {
		return
	}
	choice := r.PostFormValue("acting")
	if choice == "self" {
		h.finishContext(w, r, id, sess, idp.Acting{})
		return
	}
	for _, c := range cs {
		if actingValue(c.Acting) == choice {
			h.finishContext(w, r, id, sess, c.Acting)
			return
		}
	}
	v.Selected = "self"
	v.Errors = []templates.FieldError{{Field: "acting", Key: "err.acting_choice"}}
	h.Render(w, r, http.StatusUnprocessableEntity, "login_context", h.Lang(w, r), v)
}

// finishContext records the choice on the auth request and continues the login.
func (h *Handler) finishContext(w http.ResponseWriter, r *http.Request, id string, sess idp.Session, acting idp.Acting) {
	if !h.enablementGate(w, r, id, sess) { // enablement.go: also when the page was reached directly
		return
	}
	// The login flow records the acting context once the login completes
	// (after the profile step, if any), never for an abandoned one.
	res, err := h.Prov.LoginFlow().ChooseActing(r.Context(), id, provider.LoginSession(sess), provider.LoginActing(acting))
	h.loginStep(w, r, id, res, err)
}
