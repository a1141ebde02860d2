package notify

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/templates"
)

// ErrInvalidMail is returned (wrapped) for an idp.Mail that cannot be sent:
// unknown template, bad address or a missing or malformed value. Its
// messages name the field, never the value.
var ErrInvalidMail = errors.New("invalid mail")

// Data keys the templates use (idp.Mail.Data).
const (
	KeyName         = "Name"
	KeyKontoID      = "KontoID"
	KeyLink         = "Link"
	KeyValidHours   = "ValidHours"
	KeyValidMinutes = "ValidMinutes"
	KeyResetLink    = "ResetLink"
	KeyLoginLink    = "LoginLink"
	KeyEvent        = "Event"
	KeySecurityLink = "SecurityLink"
	KeyOrgName      = "OrgName"
	KeyInviterName  = "InviterName"
	KeyPartyName    = "PartyName"
	KeyCode         = "Code"
	KeyValidDays    = "ValidDays"
	KeyRegisterLink = "RegisterLink"
	KeyDate         = "Date"
	KeyNotice       = "Notice"
	KeyServiceName  = "ServiceName"
	KeyReference    = "Reference"
	KeyTopic        = "Topic"
	KeyReplyTo      = "ReplyTo"
	KeyMessage      = "Message"
	KeyDecision     = "Decision"
	KeyNote         = "Note"
)

// mailKeys lists the data keys each template requires. Name is optional
// everywhere (the greeting then has no name); other keys are ignored.
var mailKeys = map[string][]string{
	idp.MailActivate:          {KeyKontoID, KeyLink, KeyValidHours},
	idp.MailReset:             {KeyLink, KeyValidMinutes},
	idp.MailPasswordChanged:   {KeyResetLink},
	idp.MailAlreadyRegistered: {KeyLoginLink, KeyResetLink},
	idp.MailSecurityNotice:    {KeyEvent, KeySecurityLink},
	// Organisation mails (delegation.Mail*).
	"org_invitation":          {KeyOrgName, KeyInviterName, KeyLink, KeyValidHours},
	"org_invitation_register": {KeyOrgName, KeyInviterName, KeyLink, KeyValidHours},
	"org_removed":             {KeyOrgName, KeyLoginLink},
	// Representation mails (delegation.MailRep*).
	"rep_code":      {KeyPartyName, KeyCode, KeyValidDays, KeyLink},
	"rep_accepted":  {KeyPartyName, KeyLink},
	"rep_confirmed": {KeyPartyName, KeyLink},
	"rep_rejected":  {KeyPartyName, KeyLink},
	"rep_ended":     {KeyPartyName, KeyLink},
	// Account console and lifecycle mails (idp.MailEmailChange, …).
	idp.MailEmailChange:       {KeyLink, KeyValidHours},
	idp.MailEmailChanged:      {KeyResetLink},
	idp.MailAccountDeleted:    {KeyRegisterLink},
	idp.MailLifecycleReminder: {KeyLoginLink, KeyDate},
	idp.MailLifecycleDeleted:  {KeyRegisterLink},
	// Notifications of the services (idp.Notify); Reference is optional.
	idp.MailServiceNotice: {KeyNotice, KeyServiceName, KeyLink},
	// Portal mails (idp/web portal pages, admin enablements); Reference and Note optional.
	"contact":    {KeyTopic, KeyReplyTo, KeyMessage}, // Reference is set by the portal
	"enablement": {KeyDecision, KeyServiceName, KeyLink},
}

// securityEvents are the events a security_notice can announce.
var securityEvents = []string{"phone_added", "phone_changed", "phone_removed", "mfa_on", "mfa_off",
	"passkey_added", "passkey_removed", "recovery_new", "recovery_used", "login_linked", "login_unlinked"}

// CheckMail reports why m cannot be rendered: an unknown template, a
// recipient that is not an e-mail address, a missing value, a link that is
// not an absolute http(s) URL or a validity that is not a positive integer.
func CheckMail(m idp.Mail) error {
	keys, ok := mailKeys[m.Template]
	if !ok {
		return fmt.Errorf("%w: unknown template %q", ErrInvalidMail, m.Template)
	}
	var errs []error
	if _, err := recipient(m.To); err != nil {
		errs = append(errs, err)
	}
	for _, k := range keys {
		v := m.Data[k]
		switch {
		case strings.TrimSpace(v) == "":
			errs = append(errs, fmt.Errorf("%w: %s: %s is missing", ErrInvalidMail, m.Template, k))
		case strings.HasSuffix(k, "Link") && !isWebURL(v):
			errs = append(errs, fmt.Errorf("%w: %s: %s is not an absolute http(s) URL", ErrInvalidMail, m.Template, k))
		case k == KeyNotice && !slices.Contains(idp.NoticeKinds, v):
			errs = append(errs, fmt.Errorf("%w: %s: %s is not a known notice", ErrInvalidMail, m.Template, k))
		case k == KeyEvent && !slices.Contains(securityEvents, v):
			errs = append(errs, fmt.Errorf("%w: %s: %s is not a known event", ErrInvalidMail, m.Template, k))
		case strings.HasPrefix(k, "Valid") && !isPositive(v):
			errs = append(errs, fmt.Errorf("%w: %s: %s is not a positive integer", ErrInvalidMail, m.Template, k))
		}
	}
	return errors.Join(errs...)
}

// recipient returns the bare address of to, which must be a single
// address without a display name.
func recipient(to string) (string, error) {
	a, err := mail.ParseAddress(to)
	if err != nil || a.Name != "" || a.Address != strings.TrimSpace(to) {
		return "", fmt.Errorf("%w: recipient is not a bare e-mail address", ErrInvalidMail)
	}
	return a.Address, nil
}

func isWebURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil
}

func isPositive(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n > 0
}

// Renderer turns an idp.Mail into a Message with the e-mail templates of
// the templates package. It is safe for concurrent use.
type Renderer struct {
	mails *templates.Mails
}

// NewRenderer parses the embedded e-mail templates.
func NewRenderer() (*Renderer, error) {
	mails, err := templates.ParseMail()
	if err != nil {
		return nil, fmt.Errorf("parse mail templates: %w", err)
	}
	return &Renderer{mails: mails}, nil
}

// Render checks m (see CheckMail) and renders it in its locale, falling
// back to German.
func (r *Renderer) Render(m idp.Mail) (Message, error) {
	m.Data = cleanData(m.Data)
	if err := CheckMail(m); err != nil {
		return Message{}, err
	}
	to, _ := recipient(m.To)
	c, err := r.mails.Render(m.Template, m.Locale, templates.MailData{
		Name:         strings.TrimSpace(m.Data[KeyName]),
		KontoID:      m.Data[KeyKontoID],
		Link:         m.Data[KeyLink],
		ValidHours:   m.Data[KeyValidHours],
		ValidMinutes: m.Data[KeyValidMinutes],
		ResetLink:    m.Data[KeyResetLink],
		LoginLink:    m.Data[KeyLoginLink],
		Event:        m.Data[KeyEvent],
		SecurityLink: m.Data[KeySecurityLink],
		RegisterLink: m.Data[KeyRegisterLink],
		Date:         m.Data[KeyDate],
		Notice:       m.Data[KeyNotice],
		ServiceName:  m.Data[KeyServiceName],
		Reference:    m.Data[KeyReference],
		Topic:        m.Data[KeyTopic],
		ReplyTo:      m.Data[KeyReplyTo],
		Message:      m.Data[KeyMessage],
		Decision:     m.Data[KeyDecision],
		Note:         m.Data[KeyNote],
		OrgName:      m.Data[KeyOrgName],
		InviterName:  m.Data[KeyInviterName],
		PartyName:    m.Data[KeyPartyName],
		Code:         m.Data[KeyCode],
		ValidDays:    m.Data[KeyValidDays],
	})
	if err != nil {
		return Message{}, fmt.Errorf("render mail: %w", err)
	}
	return Message{To: to, Subject: c.Subject, Text: c.Text, HTML: c.HTML, Template: m.Template}, nil
}

// multiLine are the data keys whose values may span lines (the contact
// form's message); every other value is a single line.
var multiLine = map[string]bool{KeyMessage: true}

// cleanData returns a copy of data fit for a mail body (issue 16, item 11):
// invalid UTF-8 becomes U+FFFD, and NUL, other control characters, bidi
// controls and line or paragraph separators are dropped; a multi-line value
// keeps its line breaks (as "\n"). The callers refuse such input already;
// this is the last line for whatever reaches a mail anyway.
func cleanData(data map[string]string) map[string]string {
	out := make(map[string]string, len(data))
	for k, v := range data {
		out[k] = cleanText(v, multiLine[k])
	}
	return out
}

func cleanText(s string, lines bool) string {
	if lines {
		s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	}
	clean := func(r rune) bool {
		return unicode.IsControl(r) && !(lines && r == '\n') || unicode.Is(unicode.Bidi_Control, r) ||
			r == '\u2028' || r == '\u2029' || r == '\ufeff'
	}
	if utf8.ValidString(s) && !strings.ContainsFunc(s, clean) {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if clean(r) {
			return -1
		}
		return r
	}, s)
}
