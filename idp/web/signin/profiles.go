package signin

import (
	"net/http"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/provider"
	"github.com/kanton/kundencenter/templates"

	"github.com/kanton/kundencenter/idp/web/kit"
)

// pathLoginProfile is the login's profile choice.
const pathLoginProfile = "/login/profile"

// profileChoiceView is page "profile_choice": which profile the service
// sees, for one login.
type profileChoiceView struct {
	templates.Page
	AuthRequestID string
	ClientName    string
	Profiles      []kit.ProfileRow
	Selected      string
}

// profileChoice prepares the login's profile page; ok is false when the
// answer was written.
func (h *Handler) profileChoice(w http.ResponseWriter, r *http.Request, id string) (idp.Session, string, *profileChoiceView, bool) {
	sess, ok := h.Session(r)
	a, err := h.Prov.AuthRequest(r.Context(), id)
	if !ok || err != nil {
		h.RequestExpired(w, r)
		return idp.Session{}, "", nil, false
	}
	ps, err := h.Svc.Profiles(r.Context(), sess.AccountID)
	if err != nil {
		h.Fail(w, r, err)
		return idp.Session{}, "", nil, false
	}
	v := &profileChoiceView{AuthRequestID: id, ClientName: h.ClientName(r, a.ClientID), Selected: ps[0].ID}
	for _, p := range ps {
		v.Profiles = append(v.Profiles, kit.ProfileRowOf(p))
	}
	return sess, a.ClientID, v, true
}

// loginProfileForm asks which profile the service sees, pre-selecting the
// one chosen there last time.
func (h *Handler) loginProfileForm(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("authRequestID")
	sess, clientID, v, ok := h.profileChoice(w, r, id)
	if !ok {
		return
	}
	if len(v.Profiles) < 2 {
		h.finishProfile(w, r, id, sess, clientID, v.Profiles[0].ID)
		return
	}
	if rem, err := h.Svc.RememberedProfile(r.Context(), sess.AccountID, clientID); err != nil {
		h.Log.WarnContext(r.Context(), "remembered profile not loaded", "err", err, "request_id", kit.RequestID(r.Context()))
	} else {
		for _, p := range v.Profiles {
			if p.ID == rem {
				v.Selected = rem
			}
		}
	}
	h.Render(w, r, http.StatusOK, "profile_choice", h.Lang(w, r), v)
}

// loginProfile takes the choice; it must be one of the account's profiles.
func (h *Handler) loginProfile(w http.ResponseWriter, r *http.Request) {
	id := r.PostFormValue("authRequestID")
	sess, clientID, v, ok := h.profileChoice(w, r, id)
	if !ok {
		return
	}
	choice := r.PostFormValue("profile")
	for _, p := range v.Profiles {
		if p.ID == choice {
			h.finishProfile(w, r, id, sess, clientID, choice)
			return
		}
	}
	v.Errors = []templates.FieldError{{Field: "profile", Key: "err.profile_choice"}}
	h.Render(w, r, http.StatusUnprocessableEntity, "profile_choice", h.Lang(w, r), v)
}

// finishProfile remembers the choice for the service, records it on the
// auth request and completes it.
func (h *Handler) finishProfile(w http.ResponseWriter, r *http.Request, id string, sess idp.Session, clientID, profileID string) {
	if _, err := h.Svc.ChooseProfile(r.Context(), sess.AccountID, clientID, profileID); err != nil {
		h.Fail(w, r, err)
		return
	}
	res, err := h.Prov.LoginFlow().ChooseProfile(r.Context(), id, provider.LoginSession(sess), profileID)
	if err == nil {
		h.Svc.Audit(r.Context(), sess.AccountID, "login.profile", sess.AccountID, "client="+clientID+" profile="+profileID)
	}
	h.loginStep(w, r, id, res, err)
}
