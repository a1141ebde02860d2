package web

import (
	"crypto/rand"
	"net/http"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/templates"

	"github.com/kanton/kundencenter/idp/web/kit"
)

// contactTopics are the topics of the contact form (message keys
// contact.topic_<topic>).
var contactTopics = []string{"general", "login", "service", "privacy"}

// contactRules bound the contact form per client IP and per sender
// address, so that it cannot be used to flood the support mailbox.
var contactRules = []idp.Rule{
	{Name: "contact-ip", Limit: 5, Window: time.Hour},
	{Name: "contact-from", Limit: 3, Window: time.Hour},
}

// contactView is page "contact" (the form) and "contact_done" (the
// reference number).
type contactView struct {
	templates.Page
	Name, Email, Topic, Message string
	Topics                      []string
	Reference                   string
	Available                   bool // a support address is configured
}

func (h *Handler) contactForm(w http.ResponseWriter, r *http.Request) {
	v := &contactView{Topics: contactTopics, Topic: "general", Available: h.Cfg.Portal.ContactTo != ""}
	if sess, ok := h.Session(r); ok {
		if a, err := h.Svc.Account(r.Context(), sess.AccountID); err == nil {
			if pd, err := h.Svc.Personal(a); err == nil {
				v.Name, v.Email = strings.TrimSpace(pd.GivenName+" "+pd.FamilyName), pd.Email
			}
		}
	}
	h.Render(w, r, http.StatusOK, "contact", h.Lang(w, r), v)
}

// contact sends the request to the support address through the outbox and
// shows a reference number. The answer is the same for every sender
// address (the form never looks one up), so it reveals nothing about
// accounts; no mail goes to the sender, so it cannot be used to send mail
// to strangers.
func (h *Handler) contact(w http.ResponseWriter, r *http.Request) {
	lang := h.Lang(w, r)
	v := &contactView{Topics: contactTopics, Available: h.Cfg.Portal.ContactTo != "",
		Name: strings.TrimSpace(r.PostFormValue("name")), Email: strings.TrimSpace(r.PostFormValue("email")),
		Topic: r.PostFormValue("topic"), Message: strings.TrimSpace(r.PostFormValue("message"))}
	if !v.Available {
		h.ErrorPage(w, r, http.StatusServiceUnavailable, "err.unavailable")
		return
	}
	if a, err := mail.ParseAddress(v.Email); v.Email == "" || err != nil || a.Address != v.Email {
		v.Errors = append(v.Errors, templates.FieldError{Field: "email", Key: "err.email_invalid"})
	}
	if !slices.Contains(contactTopics, v.Topic) {
		v.Errors = append(v.Errors, templates.FieldError{Field: "topic", Key: "err.required"})
	}
	switch n := utf8.RuneCountInString(v.Message); {
	case n == 0:
		v.Errors = append(v.Errors, templates.FieldError{Field: "message", Key: "err.required"})
	case n > 4000:
		v.Errors = append(v.Errors, templates.FieldError{Field: "message", Key: "contact.err_too_long"})
	}
	if v.Message != "" && idp.BadLines(v.Message) {
		v.Errors = append(v.Errors, templates.FieldError{Field: "message", Key: "contact.err_invalid_chars"})
	}
	if utf8.RuneCountInString(v.Name) > 200 {
		v.Name = string([]rune(v.Name)[:200])
	}
	if idp.BadText(v.Name) {
		v.Errors = append(v.Errors, templates.FieldError{Field: "name", Key: "err.invalid_chars"})
	}
	if len(v.Errors) > 0 {
		h.Render(w, r, http.StatusUnprocessableEntity, "contact", lang, v)
		return
	}
	if err := h.Svc.Allow(r.Context(), contactRules, []string{h.ClientIP(r), idp.NormalizeEmail(v.Email)}); err != nil {
		status, fe := h.Problem(r, err)
		v.Errors = []templates.FieldError{fe}
		h.Render(w, r, status, "contact", lang, v)
		return
	}
	ref := contactReference(time.Now())
	data := map[string]string{"Reference": ref, "Topic": v.Topic, "ReplyTo": v.Email, "Message": v.Message, "Name": v.Name}
	if sess, ok := h.Session(r); ok {
		if a, err := h.Svc.Account(r.Context(), sess.AccountID); err == nil {
			data["KontoID"] = a.KontoID
		}
	}
	if h.Cfg.Portal.Mail != nil {
		if err := h.Cfg.Portal.Mail(r.Context(), idp.Mail{To: h.Cfg.Portal.ContactTo, Locale: "de", Template: "contact", Data: data}); err != nil {
			status, fe := h.Problem(r, err)
			v.Errors = []templates.FieldError{fe}
			h.Render(w, r, status, "contact", lang, v)
			return
		}
	}
	h.Log.InfoContext(r.Context(), "contact request", "reference", ref, "topic", v.Topic, "request_id", kit.RequestID(r.Context()))
	h.Render(w, r, http.StatusOK, "contact_done", lang, &contactView{Reference: ref})
}

// contactReference is a reference number like K-20261203-7Q4MZ: the day
// and five random characters without look-alikes.
func contactReference(now time.Time) string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 5)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "K-" + now.UTC().Format("20060102") + "-" + string(b)
}
