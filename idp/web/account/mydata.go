package account

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/templates"

	"github.com/kanton/kundencenter/idp/web/kit"
)

// Paths of the account console; localNext admits them after a login.
const (
	pathData         = "/account/data"
	pathEmail        = "/account/email"
	pathEmailConfirm = "/account/email/confirm"
	pathDelete       = "/account/delete"
)

func (h *Handler) mydataRoutes() {
	h.Page("GET "+pathData, h.dataForm)
	h.Page("POST "+pathData, h.dataSave)
	h.Page("GET "+pathEmail, h.emailForm)
	h.Page("POST "+pathEmail, h.emailRequest)
	h.Page("GET "+pathEmailConfirm, h.emailConfirmForm)
	h.Page("POST "+pathEmailConfirm, h.emailConfirm)
	h.Page("GET "+pathDelete, h.deleteForm)
	h.Page("POST "+pathDelete, h.deleteAccount)
}

// mydataView is page "mydata".
type mydataView struct {
	templates.Page
	KontoID      string
	Email        string
	PendingEmail string // a new address waiting for confirmation
	Phone        string // masked mobile number ("" = none); managed on /security
	Security     bool   // the security page exists
	Form         dataForm
	Countries    []option
	Locales      []option
}

// dataForm holds the submitted or stored values of the data form.
type dataForm struct {
	GivenName, FamilyName, Street, HouseNumber, PostalCode, Locality string
	Country, CountryName, BirthDate, Locale                          string
}

// option is one entry of a select.
type option struct {
	Value, Key string // Key: message key of the label
	Selected   bool
}

// emailChangeView is page "email_change": the form, or (Sent) the answer.
type emailChangeView struct {
	templates.Page
	Email       string // the current address
	NewEmail    string
	NeedsPasswd bool // the account has a password to confirm with
	Sent        bool
}

// emailConfirmView is page "email_change_confirm".
type emailConfirmView struct {
	templates.Page
	Token  string
	Done   bool // the new address is active
	Failed bool // the link is invalid
}

// deleteView is page "delete_account".
type deleteView struct {
	templates.Page
	NeedsPasswd bool   // ask for the password
	ReauthURL   string // set when a fresh login (with the second factor) must come first
	Confirm     bool   // the "I understand" checkbox was ticked (kept on errors)
}

// deleteDoneView is page "delete_account_done".
type deleteDoneView struct {
	templates.Page
	RegisterURL string
}

// consoleSession returns the session of an account-console request, or
// sends the browser to log in (and back to next) and returns false.
func (h *Handler) consoleSession(w http.ResponseWriter, r *http.Request, next string) (idp.Session, idp.Account, bool) {
	sess, ok := h.Session(r)
	if !ok {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
		return idp.Session{}, idp.Account{}, false
	}
	a, err := h.Svc.Account(r.Context(), sess.AccountID)
	if errors.Is(err, idp.ErrNotFound) {
		// The account was deleted while this session lived.
		h.SetCookie(w, kit.SessionCookieName(h.Cfg.Secure), "", -1)
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return idp.Session{}, idp.Account{}, false
	}
	if err != nil {
		h.Fail(w, r, err)
		return idp.Session{}, idp.Account{}, false
	}
	return sess, a, true
}

func (h *Handler) dataView(r *http.Request, a idp.Account, p idp.Personal) *mydataView {
	v := &mydataView{KontoID: a.KontoID, Email: p.Email, PendingEmail: p.PendingEmail, Security: h.Cfg.Factors != nil}
	if !p.PendingEmailUntil.IsZero() && !h.Svc.Now().Before(p.PendingEmailUntil) {
		v.PendingEmail = "" // the link expired: nothing is pending any more
	}
	if m, err := h.Methods(r.Context(), a.ID); err != nil {
		h.Log.WarnContext(r.Context(), "second factors not loaded", "err", err, "request_id", kit.RequestID(r.Context()))
	} else if !m.Phone.IsZero() {
		v.Phone = m.Phone.Masked()
	}
	v.Form = dataForm{GivenName: p.GivenName, FamilyName: p.FamilyName, Street: p.Street, HouseNumber: p.HouseNumber,
		PostalCode: p.PostalCode, Locality: p.Locality, BirthDate: idp.SwissDate(p.BirthDate), Locale: a.Locale}
	switch p.Country {
	case idp.CountrySwitzerland, idp.CountryLiechtenstein, "":
		v.Form.Country = p.Country
	default:
		v.Form.Country, v.Form.CountryName = "other", p.Country
	}
	return v
}

// options fills the selects of the data form for the chosen values.
func (v *mydataView) options() {
	v.Countries = []option{{Value: idp.CountrySwitzerland, Key: "mydata.country_ch"},
		{Value: idp.CountryLiechtenstein, Key: "mydata.country_li"}, {Value: "other", Key: "mydata.country_other"}}
	for i := range v.Countries {
		v.Countries[i].Selected = v.Countries[i].Value == v.Form.Country ||
			(v.Form.Country == "" && v.Countries[i].Value == idp.CountrySwitzerland)
	}
	for _, l := range idp.Locales {
		v.Locales = append(v.Locales, option{Value: l, Key: "mydata.locale_" + l, Selected: l == v.Form.Locale})
	}
}

func (h *Handler) renderData(w http.ResponseWriter, r *http.Request, status int, v *mydataView) {
	v.options()
	h.Render(w, r, status, "mydata", h.Lang(w, r), v)
}

// dataForm shows "Meine Daten".
func (h *Handler) dataForm(w http.ResponseWriter, r *http.Request) {
	_, a, ok := h.consoleSession(w, r, pathData)
	if !ok {
		return
	}
	p, err := h.Svc.Personal(a)
	if err != nil {
		h.Fail(w, r, err)
		return
	}
	v := h.dataView(r, a, p)
	switch r.URL.Query().Get("done") {
	case "saved":
		v.Notice = "mydata.notice_saved"
	case "email":
		v.Notice = "mydata.notice_email_sent"
	}
	h.renderData(w, r, http.StatusOK, v)
}

// dataFields are the form's fields in page order (the error summary's order).
var dataFields = []string{"given_name", "family_name", "addr_street", "addr_house_number", "addr_postal_code",
	"addr_locality", "addr_country", "addr_country_name", "birthdate", "locale"}

// dataSave stores the data form; on invalid input nothing is stored and
// the form comes back with every message.
func (h *Handler) dataSave(w http.ResponseWriter, r *http.Request) {
	sess, a, ok := h.consoleSession(w, r, pathData)
	if !ok {
		return
	}
	f := dataForm{GivenName: r.PostFormValue("given_name"), FamilyName: r.PostFormValue("family_name"),
		Street: r.PostFormValue("addr_street"), HouseNumber: r.PostFormValue("addr_house_number"),
		PostalCode: r.PostFormValue("addr_postal_code"), Locality: r.PostFormValue("addr_locality"),
		Country: r.PostFormValue("addr_country"), CountryName: r.PostFormValue("addr_country_name"),
		BirthDate: r.PostFormValue("birthdate"), Locale: r.PostFormValue("locale")}
	saved, err := h.Svc.UpdateData(r.Context(), sess.AccountID, idp.DataInput{GivenName: f.GivenName, FamilyName: f.FamilyName,
		Street: f.Street, HouseNumber: f.HouseNumber, PostalCode: f.PostalCode, Locality: f.Locality,
		Country: f.Country, CountryName: f.CountryName, BirthDate: f.BirthDate, Locale: f.Locale})
	var ve *idp.ValidationError
	if errors.As(err, &ve) {
		p, perr := h.Svc.Personal(a)
		if perr != nil {
			h.Fail(w, r, perr)
			return
		}
		v := h.dataView(r, a, p)
		v.Form = f
		v.Errors = kit.FieldErrors(ve, dataFields...)
		h.renderData(w, r, http.StatusUnprocessableEntity, v)
		return
	}
	if err != nil {
		h.Fail(w, r, err)
		return
	}
	// The pages follow the preferred language from now on, like the e-mails.
	h.SetCookie(w, h.CookieName("kc_lang"), saved.Locale, 365*24*3600)
	http.Redirect(w, r, pathData+"?done=saved", http.StatusSeeOther)
}

// freshLogin reports whether the session logged in within freshFor.
func (h *Handler) freshLogin(sess idp.Session) bool {
	return h.Svc.Now().Sub(sess.AuthTime) <= freshFor
}

// emailForm shows the e-mail change form.
func (h *Handler) emailForm(w http.ResponseWriter, r *http.Request) {
	_, a, ok := h.consoleSession(w, r, pathEmail)
	if !ok {
		return
	}
	p, err := h.Svc.Personal(a)
	if err != nil {
		h.Fail(w, r, err)
		return
	}
	h.Render(w, r, http.StatusOK, "email_change", h.Lang(w, r), &emailChangeView{Email: p.Email, NeedsPasswd: a.HasPassword()})
}

// emailRequest sends the confirmation link to the new address. The answer
// is the same whether or not the address belongs to another account.
func (h *Handler) emailRequest(w http.ResponseWriter, r *http.Request) {
	sess, a, ok := h.consoleSession(w, r, pathEmail)
	if !ok {
		return
	}
	p, err := h.Svc.Personal(a)
	if err != nil {
		h.Fail(w, r, err)
		return
	}
	v := &emailChangeView{Email: p.Email, NewEmail: idp.NormalizeEmail(r.PostFormValue("email")), NeedsPasswd: a.HasPassword()}
	err = h.Svc.RequestEmailChange(r.Context(), idp.EmailChangeInput{AccountID: sess.AccountID, NewEmail: v.NewEmail,
		Password: r.PostFormValue("password"), FreshLogin: h.freshLogin(sess)})
	var ve *idp.ValidationError
	switch {
	case errors.As(err, &ve):
		v.Errors = kit.FieldErrors(ve, "email", "password")
		h.Render(w, r, http.StatusUnprocessableEntity, "email_change", h.Lang(w, r), v)
		return
	case errors.Is(err, idp.ErrReauthRequired):
		http.Redirect(w, r, "/login?next="+url.QueryEscape(pathEmail), http.StatusSeeOther)
		return
	case err != nil:
		status, fe := h.Problem(r, err)
		v.Errors = []templates.FieldError{fe}
		h.Render(w, r, status, "email_change", h.Lang(w, r), v)
		return
	}
	v.Sent = true
	h.Render(w, r, http.StatusOK, "email_change", h.Lang(w, r), v)
}

// emailConfirmForm is where the link from the mail lands: a button
// confirms, so that a mail scanner following links changes nothing.
func (h *Handler) emailConfirmForm(w http.ResponseWriter, r *http.Request) {
	h.Render(w, r, http.StatusOK, "email_change_confirm", h.Lang(w, r), &emailConfirmView{Token: r.URL.Query().Get("token")})
}

// emailConfirm consumes the link; it needs no session (the link proves
// control of the new address).
func (h *Handler) emailConfirm(w http.ResponseWriter, r *http.Request) {
	v := &emailConfirmView{Token: r.PostFormValue("token")}
	_, err := h.Svc.ConfirmEmailChange(r.Context(), v.Token)
	switch {
	case errors.Is(err, idp.ErrLinkInvalid):
		v.Failed = true
		h.Render(w, r, http.StatusBadRequest, "email_change_confirm", h.Lang(w, r), v)
	case err != nil:
		h.Fail(w, r, err)
	default:
		v.Done = true
		h.Render(w, r, http.StatusOK, "email_change_confirm", h.Lang(w, r), v)
	}
}

// deleteState decides what the deletion page asks for: a fresh login with
// every second factor first (ReauthURL) when the account has one and the
// session is not fresh and strong enough (ASVS 7.5.1), else the password
// (or, for an account without one, a fresh login).
func (h *Handler) deleteState(r *http.Request, sess idp.Session, a idp.Account) (*deleteView, error) {
	m, err := h.Methods(r.Context(), a.ID)
	if err != nil {
		return nil, err
	}
	v := &deleteView{NeedsPasswd: a.HasPassword()}
	if (m.Any() && !h.fresh(sess, m)) || (!a.HasPassword() && !h.freshLogin(sess)) {
		v.ReauthURL = "/login?next=" + url.QueryEscape(pathDelete)
	}
	return v, nil
}

// deleteForm shows the consequences of deleting the account and asks to confirm.
func (h *Handler) deleteForm(w http.ResponseWriter, r *http.Request) {
	sess, a, ok := h.consoleSession(w, r, pathDelete)
	if !ok {
		return
	}
	v, err := h.deleteState(r, sess, a)
	if err != nil {
		h.Fail(w, r, err)
		return
	}
	h.Render(w, r, http.StatusOK, "delete_account", h.Lang(w, r), v)
}

// deleteAccount deletes the account, ends the browser's session and
// confirms. The account, its factors and tokens go in one transaction; the
// services it used are told through the event queue.
func (h *Handler) deleteAccount(w http.ResponseWriter, r *http.Request) {
	sess, a, ok := h.consoleSession(w, r, pathDelete)
	if !ok {
		return
	}
	v, err := h.deleteState(r, sess, a)
	if err != nil {
		h.Fail(w, r, err)
		return
	}
	if v.ReauthURL != "" {
		http.Redirect(w, r, v.ReauthURL, http.StatusSeeOther)
		return
	}
	v.Confirm = r.PostFormValue("confirm") == "yes"
	if !v.Confirm {
		v.Errors = append(v.Errors, templates.FieldError{Field: "confirm", Key: "delete.err_confirm"})
	}
	if v.NeedsPasswd && r.PostFormValue("password") == "" {
		v.Errors = append(v.Errors, templates.FieldError{Field: "password", Key: "err.required"})
	}
	if len(v.Errors) > 0 {
		h.Render(w, r, http.StatusUnprocessableEntity, "delete_account", h.Lang(w, r), v)
		return
	}
	err = h.Svc.DeleteAccountByUser(r.Context(), idp.DeleteInput{AccountID: a.ID, Password: r.PostFormValue("password"),
		FreshLogin: h.freshLogin(sess)})
	var ve *idp.ValidationError
	switch {
	case errors.As(err, &ve):
		v.Errors = kit.FieldErrors(ve, "password")
		h.Render(w, r, http.StatusUnprocessableEntity, "delete_account", h.Lang(w, r), v)
		return
	case errors.Is(err, idp.ErrReauthRequired):
		http.Redirect(w, r, "/login?next="+url.QueryEscape(pathDelete), http.StatusSeeOther)
		return
	case err != nil:
		status, fe := h.Problem(r, err)
		v.Errors = []templates.FieldError{fe}
		h.Render(w, r, status, "delete_account", h.Lang(w, r), v)
		return
	}
	h.SetCookie(w, kit.SessionCookieName(h.Cfg.Secure), "", -1)
	h.Render(w, r, http.StatusOK, "delete_account_done", h.Lang(w, r), &deleteDoneView{RegisterURL: "/register"})
}
