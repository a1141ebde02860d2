package kit

import (
	"errors"
	"net/http"

	"github.com/kanton/kundencenter/idp"
)

// requestState is what one request loads at most once: the browser's SSO
// session and the name the page header shows. It lives in the request's
// context (ServeHTTP).
type requestState struct {
	sessLoaded bool
	sessCookie string
	sess       idp.Session
	sessOK     bool

	nameLoaded bool
	name       string
}

type requestStateKey struct{}

func stateOf(r *http.Request) *requestState {
	st, _ := r.Context().Value(requestStateKey{}).(*requestState)
	return st
}

// session returns the browser's SSO session, looked up once per request.
func (h *Kit) Session(r *http.Request) (idp.Session, bool) {
	c, err := r.Cookie(SessionCookieName(h.Cfg.Secure))
	if err != nil {
		return idp.Session{}, false
	}
	st := stateOf(r)
	if st != nil && st.sessLoaded && st.sessCookie == c.Value {
		return st.sess, st.sessOK
	}
	s, err := h.Svc.Session(r.Context(), c.Value)
	ok := err == nil
	if err != nil && !errors.Is(err, idp.ErrNotFound) {
		h.Log.ErrorContext(r.Context(), "session lookup failed", "err", err, "request_id", RequestID(r.Context()))
	}
	if !ok {
		s = idp.Session{}
	}
	if st != nil {
		st.sessLoaded, st.sessCookie, st.sess, st.sessOK = true, c.Value, s, ok
		st.nameLoaded = false
	}
	return s, ok
}

// SessionCookie is the session ID the browser's cookie names, unchecked
// ("" without one): for ending the session a login replaces, which
// idp.Service.ReplaceSession does only when the session is live.
func (h *Kit) SessionCookie(r *http.Request) string {
	c, err := r.Cookie(SessionCookieName(h.Cfg.Secure))
	if err != nil {
		return ""
	}
	return c.Value
}

// forgetSession drops what the request loaded about its session, after
// the handler ended or replaced it.
func (h *Kit) ForgetSession(r *http.Request) {
	if st := stateOf(r); st != nil {
		*st = requestState{}
	}
}

// userName is the logged-in person's name for the page header, loaded
// only when a page is rendered and then once per request ("" without a
// session).
func (h *Kit) userName(r *http.Request) string {
	st := stateOf(r)
	if st != nil && st.nameLoaded {
		return st.name
	}
	name := ""
	if s, ok := h.Session(r); ok {
		if a, err := h.Svc.Account(r.Context(), s.AccountID); err == nil {
			if pd, err := h.Svc.Personal(a); err == nil {
				name = pd.GivenName + " " + pd.FamilyName
			}
		}
	}
	if st != nil {
		st.nameLoaded, st.name = true, name
	}
	return name
}
