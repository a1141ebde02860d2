package kit

import (
	"bytes"
	"net/http"
	"strings"

	"time"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/login"
	"github.com/kanton/kundencenter/templates"
)

// View is any page view: they all embed templates.Page.
type View interface{ Base() *templates.Page }

// lang picks the page language: ?lang= (remembered in a cookie), the
// cookie, the auth request's ui_locales, then Accept-Language.
func (h *Kit) Lang(w http.ResponseWriter, r *http.Request, uiLocales ...string) string {
	if q := r.URL.Query().Get("lang"); q != "" {
		l := templates.MatchLang(q)
		h.SetCookie(w, h.CookieName("kc_lang"), l, 365*24*3600)
		return l
	}
	var cands []string
	if c, err := r.Cookie(h.CookieName("kc_lang")); err == nil {
		cands = append(cands, c.Value)
	}
	cands = append(cands, strings.Join(uiLocales, " "), r.Header.Get("Accept-Language"))
	return templates.MatchLang(cands...)
}

func (h *Kit) Render(w http.ResponseWriter, r *http.Request, status int, page, lang string, v View) {
	p := v.Base()
	p.Lang = lang
	p.RequestID = RequestID(r.Context())
	p.CSRFToken = h.CSRFToken(w, r)
	u := *r.URL
	if r.Method == http.MethodPost {
		// Keep what the form carried, so switching language keeps the flow.
		q := u.Query()
		for _, k := range []string{"authRequestID", "token", "logoutID"} {
			if v := r.PostFormValue(k); v != "" {
				q.Set(k, v)
			}
		}
		u.RawQuery = q.Encode()
	}
	p.LangLinks = templates.LangLinks(&u, lang)
	h.portalLayout(r, p) // layout.go
	if p.User == "" {
		p.User = h.userName(r) // session.go: once per request
	}
	var buf bytes.Buffer
	if err := h.Tpl.Render(&buf, page, lang, v); err != nil {
		h.Log.ErrorContext(r.Context(), "render failed", "page", page, "err", err, "request_id", p.RequestID)
		http.Error(w, "internal error, request "+p.RequestID, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func FieldErrors(v *idp.ValidationError, order ...string) []templates.FieldError {
	var out []templates.FieldError
	for _, f := range order {
		for _, k := range v.Fields[f] {
			out = append(out, templates.FieldError{Field: f, Key: k})
		}
	}
	return out
}

func (h *Kit) RequestExpired(w http.ResponseWriter, r *http.Request) {
	h.Render(w, r, http.StatusBadRequest, "error", h.Lang(w, r), &ErrorView{MessageKey: "err.session_expired", BackURL: "/"})
}

// localNext returns the page a login without auth request continues to:
// only known local pages, so the parameter cannot be an open redirect.
func LocalNext(s string) string {
	if _, ok := login.Action(s); ok {
		return s
	}
	return ""
}

func (h *Kit) FmtDate(t time.Time) string {
	loc, err := time.LoadLocation("Europe/Zurich")
	if err != nil {
		loc = time.UTC
	}
	return t.In(loc).Format("02.01.2006 15:04")
}

// serviceName is the name of the service (OIDC client) id shown in lang:
// the catalogues' message "client.<id>" where they have one (the bundled
// services: "Formulare" is "Formulaires" in French), else the name the
// client was registered with, which is in one language only.
func (h *Kit) ServiceName(lang, id, registered string) string {
	if key := "client." + id; id != "" && h.Tpl.Has(key) {
		return h.Tpl.T(lang, key)
	}
	return registered
}

// clientName is serviceName for the client of an auth request, in the
// language the page is rendered in.
func (h *Kit) ClientName(r *http.Request, id string, uiLocales ...string) string {
	return h.ServiceName(h.LangOf(r, uiLocales...), id, h.Prov.ClientName(r.Context(), id))
}

// langOf is the language h.Lang chooses for r, without remembering a
// ?lang= choice in the cookie (h.Lang does that when the page renders).
func (h *Kit) LangOf(r *http.Request, uiLocales ...string) string {
	if q := r.URL.Query().Get("lang"); q != "" {
		return templates.MatchLang(q)
	}
	var cands []string
	if c, err := r.Cookie(h.CookieName("kc_lang")); err == nil {
		cands = append(cands, c.Value)
	}
	cands = append(cands, strings.Join(uiLocales, " "), r.Header.Get("Accept-Language"))
	return templates.MatchLang(cands...)
}
