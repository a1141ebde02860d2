package templates

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"strings"
	texttemplate "text/template"
)

// MailFS holds the e-mail templates. The layout is mail/layout.html; each
// language has a directory mail/{lang}/ with common.txt and common.html
// (signature, brand) and, per mail, {name}.txt (defines "subject" and
// "text") and {name}.html (defines "body", rendered inside the layout).
//
//go:embed mail
var MailFS embed.FS

// MailNames lists every e-mail template; each one exists in every language
// of MailLanguages.
var MailNames = []string{"activate", "reset", "password_changed", "already_registered", "security_notice",
	"org_invitation", "org_invitation_register", "org_removed",
	"rep_code", "rep_accepted", "rep_confirmed", "rep_rejected", "rep_ended",
	"email_change", "email_changed", "account_deleted", "lifecycle_reminder", "lifecycle_deleted",
	"service_notice", "contact", "enablement"}

// MailLanguages lists the languages of the e-mail templates, the default
// (German) first.
var MailLanguages = []string{"de", "fr", "it", "en"}

// MailDefaultLanguage is used for every locale without templates of its own.
const MailDefaultLanguage = "de"

// ErrUnknownMail is returned by Mails.Render for a template name that is not
// in MailNames.
var ErrUnknownMail = errors.New("unknown mail template")

// MailData is the view model of every e-mail template. Which fields a
// template needs is up to the caller to check; the texts leave out the name
// in the greeting when Name is empty.
type MailData struct {
	Name         string // the recipient's full name, for the greeting
	KontoID      string // activate: the account number shown prominently
	Link         string // activate, reset: the single-use link
	ValidHours   string // activate: how long Link is valid, a positive integer
	ValidMinutes string // reset: how long Link is valid, a positive integer
	ResetLink    string // password_changed, already_registered: where to reset the password
	LoginLink    string // already_registered: where to sign in
	Event        string // security_notice: what changed (phone_added, mfa_on, recovery_used, …)
	SecurityLink string // security_notice: the security page
	OrgName      string // org_*: the organisation's name
	InviterName  string // org_invitation*: who invites
	PartyName    string // rep_*: the other party of the representation
	Code         string // rep_code: the access code, grouped
	ValidDays    string // rep_code: how long Code is valid, a positive integer

	RegisterLink string // account_deleted, lifecycle_deleted: where to open a new account
	Date         string // lifecycle_reminder: the day the account will be deleted (31.12.2026)

	Notice      string // service_notice: what happened (case-status-changed, document-delivered, …)
	ServiceName string // service_notice: the service that asked for the mail
	Reference   string // service_notice: e.g. the case's reference number; optional; contact: the request's number

	Topic    string // contact: the topic chosen in the form
	ReplyTo  string // contact: the sender's e-mail address
	Message  string // contact: the message as typed (plain text)
	Decision string // enablement: "approved" or "refused"
	Note     string // enablement: the operators' reason for a refusal, optional

	// Lang and Subject are set by Render for the HTML layout.
	Lang    string
	Subject string
}

// MailContent is a rendered e-mail: a one-line subject, the plain-text body
// and the HTML body.
type MailContent struct {
	Subject string
	Text    string
	HTML    string
}

// Mails holds the parsed e-mail templates, one set per template and
// language. It is safe for concurrent use.
type Mails struct {
	text map[string]*texttemplate.Template
	html map[string]*htmltemplate.Template
}

// ParseMail parses the embedded e-mail templates (MailFS). It fails when a
// template of MailNames is missing in any language of MailLanguages.
func ParseMail() (*Mails, error) {
	return ParseMailFS(MailFS)
}

// ParseMailFS parses e-mail templates laid out as in MailFS from fsys.
func ParseMailFS(fsys fs.FS) (*Mails, error) {
	m := &Mails{
		text: make(map[string]*texttemplate.Template),
		html: make(map[string]*htmltemplate.Template),
	}
	var errs []error
	for _, lang := range MailLanguages {
		for _, name := range MailNames {
			k := mailKey(name, lang)
			dir := "mail/" + lang + "/"
			t, err := texttemplate.New(k).Option("missingkey=error").
				ParseFS(fsys, dir+"common.txt", dir+name+".txt")
			if err == nil {
				err = requireDefined(func(n string) bool { return t.Lookup(n) != nil },
					"signature", "subject", "text")
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("mail template %s (text): %w", k, err))
			} else {
				m.text[k] = t
			}
			h, err := htmltemplate.New(k).Option("missingkey=error").
				ParseFS(fsys, "mail/layout.html", dir+"common.html", dir+name+".html")
			if err == nil {
				err = requireDefined(func(n string) bool { return h.Lookup(n) != nil },
					"layout", "brand", "signature", "body")
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("mail template %s (html): %w", k, err))
			} else {
				m.html[k] = h
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return m, nil
}

func requireDefined(defined func(string) bool, names ...string) error {
	var missing []string
	for _, n := range names {
		if !defined(n) {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing {{define}} for %s", strings.Join(missing, ", "))
	}
	return nil
}

func mailKey(name, lang string) string { return lang + "/" + name }

// MailLanguage maps a locale such as "fr", "fr-CH" or "it_CH" to a language
// of MailLanguages, falling back to MailDefaultLanguage.
func MailLanguage(locale string) string {
	l := strings.ToLower(strings.TrimSpace(locale))
	if i := strings.IndexAny(l, "-_"); i >= 0 {
		l = l[:i]
	}
	for _, lang := range MailLanguages {
		if l == lang {
			return lang
		}
	}
	return MailDefaultLanguage
}

// Render renders the template name in the language of locale (see
// MailLanguage) with d. It renders into buffers, so an error never leaves a
// half-written mail.
func (m *Mails) Render(name, locale string, d MailData) (MailContent, error) {
	lang := MailLanguage(locale)
	k := mailKey(name, lang)
	t, ok := m.text[k]
	if !ok {
		return MailContent{}, fmt.Errorf("render mail %q: %w", name, ErrUnknownMail)
	}
	h := m.html[k]
	d.Lang = lang
	var subject, text, html bytes.Buffer
	if err := t.ExecuteTemplate(&subject, "subject", d); err != nil {
		return MailContent{}, fmt.Errorf("render mail %s subject: %w", k, err)
	}
	d.Subject = strings.Join(strings.Fields(subject.String()), " ")
	if err := t.ExecuteTemplate(&text, "text", d); err != nil {
		return MailContent{}, fmt.Errorf("render mail %s text: %w", k, err)
	}
	if err := h.ExecuteTemplate(&html, "layout", d); err != nil {
		return MailContent{}, fmt.Errorf("render mail %s html: %w", k, err)
	}
	return MailContent{
		Subject: d.Subject,
		Text:    strings.TrimSpace(text.String()) + "\n",
		HTML:    strings.TrimSpace(html.String()) + "\n",
	}, nil
}
