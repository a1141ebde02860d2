package orgs

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/kanton/kundencenter/delegation"
	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/templates"

	"github.com/kanton/kundencenter/idp/web/kit"
)

// repRoutes registers the representation pages when the service is wired.
func (h *Handler) repRoutes() {
	if h.Cfg.Orgs == nil {
		return
	}
	h.Page("GET /representations", h.repList)
	h.Page("GET /representations/new", h.repNewForm)
	h.Page("POST /representations/new", h.repCreate)
	h.Page("GET /representations/enter", h.repEnterForm)
	h.Page("POST /representations/enter", h.repEnter)
	h.Page("POST /representations/accept", h.repAccept)
	h.Page("GET /representations/{id}", h.repView)
	h.Page("POST /representations/{id}/send", h.repSend)
	h.Page("POST /representations/{id}/confirm", h.repConfirm)
	h.Page("POST /representations/{id}/reject", h.repReject)
	h.Page("POST /representations/{id}/end", h.repEnd)
	h.Page("POST /representations/{id}/services", h.repServices)
}

// repsView is page "reps": who represents me, whom I represent.
type repsView struct {
	templates.Page
	ForMe []repItem // I am the principal
	ByMe  []repItem // I am the representative
}

type repItem struct {
	URL        string
	Name       string // the other party; "" if none yet or deleted
	State      string // message key
	StateClass string // "active", "pending", "ended"
	Services   []string
	Until      string // end date, "" if none
	ToConfirm  bool   // the principal must confirm now
}

// repFormView is page "rep_form": create an access code.
type repFormView struct {
	templates.Page
	Services   []serviceCheck
	ValidUntil string // as typed, TT.MM.JJJJ
}

// repCodeView is page "rep_code": the new code, shown once, with the form
// to send it by e-mail.
type repCodeView struct {
	templates.Page
	ID, Code, Email string
	Services        []string
	Until, Expires  string
	DetailURL       string
}

// repEnterView is page "rep_enter": the representative types a code.
type repEnterView struct {
	templates.Page
	Code string
}

// repAcceptView is page "rep_accept": whom the code would let the
// representative act for, before accepting.
type repAcceptView struct {
	templates.Page
	Code, PrincipalName string
	Services            []string
	Until               string
}

// repView is page "rep": one representation as a party sees it.
type repPageView struct {
	templates.Page
	ID                      string
	AsPrincipal             bool
	OtherName, OtherKontoID string
	State                   string // message key
	StateValue              string
	Services                []serviceCheck // Checked: granted now
	Until, Pending          string
	CanConfirm, CanEnd      bool
	CanNarrow               bool
	Timeline                []eventItem
}

var repNotices = map[string]string{
	"sent": "rep.notice_sent", "accepted": "rep.notice_accepted", "confirmed": "rep.notice_confirmed",
	"rejected": "rep.notice_rejected", "ended": "rep.notice_ended", "services": "rep.notice_services",
}

// repDay shows the last day of an end date (stored as the start of the
// following day in Zurich), "" for none.
func repDay(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	loc, err := time.LoadLocation("Europe/Zurich")
	if err != nil {
		loc = time.UTC
	}
	return t.Add(-time.Second).In(loc).Format("02.01.2006")
}

func stateKey(s delegation.RepStatus) string { return "rep.state_" + string(s) }

func stateClass(s delegation.RepStatus) string {
	switch s {
	case delegation.RepConfirmed:
		return "active"
	case delegation.RepCreated, delegation.RepAccepted:
		return "pending"
	}
	return "ended"
}

// catalogueNames returns the catalogue and its names by client ID.
func (h *Handler) catalogueNames(r *http.Request) ([]idp.Client, map[string]string, error) {
	cat, err := h.Cfg.Orgs.Catalogue(r.Context())
	if err != nil {
		return nil, nil, err
	}
	cat = slices.Clone(cat) // the names below are translated in place
	lang := h.LangOf(r)
	names := map[string]string{}
	for i, c := range cat {
		cat[i].Name = h.ServiceName(lang, c.ID, c.Name)
		names[c.ID] = cat[i].Name
	}
	return cat, names, nil
}

func serviceNames(ids []string, names map[string]string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		out = append(out, cmpOr(names[id], id))
	}
	return out
}

func (h *Handler) repList(w http.ResponseWriter, r *http.Request) {
	actor, ok := h.orgSession(w, r)
	if !ok {
		return
	}
	list, err := h.Cfg.Orgs.MyRepresentations(r.Context(), actor)
	if err != nil {
		h.Fail(w, r, err, repCases...)
		return
	}
	_, names, err := h.catalogueNames(r)
	if err != nil {
		h.Fail(w, r, err, repCases...)
		return
	}
	v := &repsView{}
	v.Notice = repNotices[r.URL.Query().Get("done")]
	for _, x := range list {
		item := repItem{URL: "/representations/" + url.PathEscape(x.Representation.ID), Name: x.OtherName,
			State: stateKey(x.State), StateClass: stateClass(x.State), Services: serviceNames(x.Representation.Services, names),
			Until: repDay(x.Representation.ValidUntil), ToConfirm: x.AsPrincipal && x.State == delegation.RepAccepted}
		if x.AsPrincipal {
			v.ForMe = append(v.ForMe, item)
		} else {
			v.ByMe = append(v.ByMe, item)
		}
	}
	h.Render(w, r, http.StatusOK, "reps", h.Lang(w, r), v)
}

func (h *Handler) repFormPage(w http.ResponseWriter, r *http.Request, status int, checked []string, until string, errs []templates.FieldError) {
	cat, _, err := h.catalogueNames(r)
	if err != nil {
		h.Fail(w, r, err, repCases...)
		return
	}
	v := &repFormView{ValidUntil: until}
	for _, c := range cat {
		v.Services = append(v.Services, serviceCheck{ID: c.ID, Name: c.Name, Checked: slices.Contains(checked, c.ID)})
	}
	v.Errors = errs
	h.Render(w, r, status, "rep_form", h.Lang(w, r), v)
}

func (h *Handler) repNewForm(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.orgSession(w, r); !ok {
		return
	}
	h.repFormPage(w, r, http.StatusOK, nil, "", nil)
}

func (h *Handler) repCreate(w http.ResponseWriter, r *http.Request) {
	actor, ok := h.orgSession(w, r)
	if !ok {
		return
	}
	services, until := r.PostForm["services"], strings.TrimSpace(r.PostFormValue("valid_until"))
	// The last day is typed as TT.MM.JJJJ; the service takes YYYY-MM-DD.
	day, bad := idp.ParseDate(until)
	iso := until
	if until != "" && bad == "" {
		iso = day.Format(time.DateOnly)
	}
	rep, code, err := h.Cfg.Orgs.CreateRepresentation(r.Context(), actor, delegation.RepInput{Services: services, ValidUntil: iso})
	var ve *idp.ValidationError
	switch {
	case errors.As(err, &ve):
		errs := kit.FieldErrors(ve, "services", "valid_until")
		for i := range errs {
			if errs[i].Field == "valid_until" && until != "" && bad != "" {
				errs[i].Key = bad // say what is wrong with what was typed
			}
		}
		h.repFormPage(w, r, http.StatusUnprocessableEntity, services, until, errs)
		return
	case err != nil:
		status, fe := h.Problem(r, err)
		h.repFormPage(w, r, status, services, until, []templates.FieldError{fe})
		return
	}
	h.repCodePage(w, r, http.StatusOK, rep, code, "", nil)
}

// repCodePage shows a code that the principal holds (just created, or
// posted back with the send form).
func (h *Handler) repCodePage(w http.ResponseWriter, r *http.Request, status int, rep delegation.Representation, code, email string, errs []templates.FieldError) {
	_, names, err := h.catalogueNames(r)
	if err != nil {
		h.Fail(w, r, err, repCases...)
		return
	}
	v := &repCodeView{ID: rep.ID, Code: code, Email: email, Services: serviceNames(rep.Services, names),
		Until: repDay(rep.ValidUntil), Expires: h.FmtDate(rep.PendingUntil), DetailURL: "/representations/" + url.PathEscape(rep.ID)}
	v.Errors = errs
	h.Render(w, r, status, "rep_code", h.Lang(w, r), v)
}

func (h *Handler) repSend(w http.ResponseWriter, r *http.Request) {
	actor, ok := h.orgSession(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	view, err := h.Cfg.Orgs.RepresentationFor(r.Context(), actor, id)
	if err != nil || !view.AsPrincipal {
		h.Fail(w, r, delegation.ErrForbidden, repCases...)
		return
	}
	code := delegation.NormalizeCode(r.PostFormValue("code"))
	if code == "" {
		h.Fail(w, r, delegation.ErrRepState, repCases...)
		return
	}
	code = delegation.FormatCode(code)
	email := strings.TrimSpace(r.PostFormValue("email"))
	err = h.Cfg.Orgs.SendCode(r.Context(), actor, id, code, email)
	var ve *idp.ValidationError
	switch {
	case err == nil:
		http.Redirect(w, r, "/representations/"+url.PathEscape(id)+"?done=sent", http.StatusSeeOther)
	case errors.As(err, &ve):
		h.repCodePage(w, r, http.StatusUnprocessableEntity, view.Representation, code, email, kit.FieldErrors(ve, "email"))
	case errors.Is(err, delegation.ErrCodeInvalid):
		h.Fail(w, r, delegation.ErrRepState, repCases...)
	default:
		status, fe := h.Problem(r, err)
		h.repCodePage(w, r, status, view.Representation, code, email, []templates.FieldError{fe})
	}
}

func (h *Handler) repEnterForm(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.orgSession(w, r); !ok {
		return
	}
	h.Render(w, r, http.StatusOK, "rep_enter", h.Lang(w, r), &repEnterView{})
}

func (h *Handler) repEnter(w http.ResponseWriter, r *http.Request) {
	actor, ok := h.orgSession(w, r)
	if !ok {
		return
	}
	lang := h.Lang(w, r)
	typed := strings.TrimSpace(r.PostFormValue("code"))
	if len(typed) > 64 {
		typed = typed[:64]
	}
	v := &repEnterView{Code: typed}
	if typed == "" {
		v.Errors = []templates.FieldError{{Field: "code", Key: "err.required"}}
		h.Render(w, r, http.StatusUnprocessableEntity, "rep_enter", lang, v)
		return
	}
	prev, err := h.Cfg.Orgs.PreviewCode(r.Context(), actor, typed, h.ClientIP(r))
	if err != nil {
		status, fe := h.Problem(r, err)
		v.Errors = []templates.FieldError{fe}
		h.Render(w, r, status, "rep_enter", lang, v)
		return
	}
	_, names, err := h.catalogueNames(r)
	if err != nil {
		h.Fail(w, r, err, repCases...)
		return
	}
	h.Render(w, r, http.StatusOK, "rep_accept", lang, &repAcceptView{Code: delegation.FormatCode(delegation.NormalizeCode(typed)),
		PrincipalName: prev.PrincipalName, Services: serviceNames(prev.Representation.Services, names),
		Until: repDay(prev.Representation.ValidUntil)})
}

func (h *Handler) repAccept(w http.ResponseWriter, r *http.Request) {
	actor, ok := h.orgSession(w, r)
	if !ok {
		return
	}
	lang := h.Lang(w, r)
	typed := strings.TrimSpace(r.PostFormValue("code"))
	rep, err := h.Cfg.Orgs.Accept(r.Context(), actor, typed, h.ClientIP(r))
	if err != nil {
		status, fe := h.Problem(r, err)
		h.Render(w, r, status, "rep_enter", lang, &repEnterView{Page: templates.Page{Errors: []templates.FieldError{fe}}})
		return
	}
	http.Redirect(w, r, "/representations/"+url.PathEscape(rep.ID)+"?done=accepted", http.StatusSeeOther)
}

func (h *Handler) repPage(w http.ResponseWriter, r *http.Request, status int, actor, id string, errs []templates.FieldError) {
	ctx := r.Context()
	x, err := h.Cfg.Orgs.RepresentationFor(ctx, actor, id)
	if err != nil {
		h.Fail(w, r, err, repCases...)
		return
	}
	_, names, err := h.catalogueNames(r)
	if err != nil {
		h.Fail(w, r, err, repCases...)
		return
	}
	rep := x.Representation
	v := &repPageView{ID: rep.ID, AsPrincipal: x.AsPrincipal, OtherName: x.OtherName, OtherKontoID: x.OtherKontoID,
		State: stateKey(x.State), StateValue: string(x.State), Until: repDay(rep.ValidUntil),
		CanConfirm: x.AsPrincipal && x.State == delegation.RepAccepted, CanEnd: rep.Open(),
		CanNarrow: x.AsPrincipal && rep.Open() && len(rep.Services) > 1}
	if x.State == delegation.RepCreated || x.State == delegation.RepAccepted {
		v.Pending = h.FmtDate(rep.PendingUntil)
	}
	for _, s := range rep.Services {
		v.Services = append(v.Services, serviceCheck{ID: s, Name: cmpOr(names[s], s), Checked: true})
	}
	v.Errors = errs
	if errs == nil {
		v.Notice = repNotices[r.URL.Query().Get("done")]
	}
	if x.AsPrincipal {
		events, err := h.Cfg.Orgs.Timeline(ctx, actor, id)
		if err != nil {
			h.Fail(w, r, err, repCases...)
			return
		}
		lang := h.Lang(w, r)
		for _, e := range events {
			item := eventItem{At: h.FmtDate(e.At), Action: "rep.event_" + e.Action}
			switch e.Actor {
			case actor:
				item.Actor = h.Tpl.T(lang, "rep.you")
			case "system":
				item.Actor = h.Tpl.T(lang, "org.system")
			default:
				item.Actor = cmpOr(h.Cfg.Orgs.DisplayName(ctx, e.Actor), h.Tpl.T(lang, "org.deleted_account"))
			}
			if e.ClientID != "" {
				item.Subject = cmpOr(names[e.ClientID], e.ClientID)
			}
			switch e.Action {
			case delegation.RepEventAction:
				item.Detail = delegation.ActionText(e.Detail, lang)
			case delegation.RepEventCreated, delegation.RepEventServicesChanged:
				item.Detail = strings.Join(serviceNames(strings.Fields(e.Detail), names), ", ")
			}
			v.Timeline = append(v.Timeline, item)
		}
	}
	h.Render(w, r, status, "rep", h.Lang(w, r), v)
}

func (h *Handler) repView(w http.ResponseWriter, r *http.Request) {
	actor, ok := h.orgSession(w, r)
	if !ok {
		return
	}
	h.repPage(w, r, http.StatusOK, actor, r.PathValue("id"), nil)
}

// repAction runs a step posted from the "rep" page and redirects with a
// notice, or shows the page again with the problem.
func (h *Handler) repAction(w http.ResponseWriter, r *http.Request, done string, run func(actor, id string) error) {
	actor, ok := h.orgSession(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	err := run(actor, id)
	var ve *idp.ValidationError
	switch {
	case err == nil:
		http.Redirect(w, r, "/representations/"+url.PathEscape(id)+"?done="+done, http.StatusSeeOther)
	case errors.As(err, &ve):
		h.repPage(w, r, http.StatusUnprocessableEntity, actor, id, kit.FieldErrors(ve, "services"))
	case errors.Is(err, delegation.ErrRepState):
		h.repPage(w, r, http.StatusConflict, actor, id, []templates.FieldError{{Key: "err.rep_state"}})
	default:
		h.Fail(w, r, err, repCases...)
	}
}

func (h *Handler) repConfirm(w http.ResponseWriter, r *http.Request) {
	h.repAction(w, r, "confirmed", func(actor, id string) error {
		_, err := h.Cfg.Orgs.Confirm(r.Context(), actor, id)
		return err
	})
}

func (h *Handler) repReject(w http.ResponseWriter, r *http.Request) {
	h.repAction(w, r, "rejected", func(actor, id string) error {
		_, err := h.Cfg.Orgs.Reject(r.Context(), actor, id)
		return err
	})
}

func (h *Handler) repEnd(w http.ResponseWriter, r *http.Request) {
	h.repAction(w, r, "ended", func(actor, id string) error {
		return h.Cfg.Orgs.EndRepresentation(r.Context(), actor, id)
	})
}

func (h *Handler) repServices(w http.ResponseWriter, r *http.Request) {
	h.repAction(w, r, "services", func(actor, id string) error {
		return h.Cfg.Orgs.NarrowServices(r.Context(), actor, id, r.PostForm["services"])
	})
}
