package notify

import (
	"bytes"
	"context"
	"html/template"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DevOutboxPath is where DevOutbox.Handler serves its pages: the list at
// DevOutboxPath, one message at DevOutboxPath/{id} and its HTML part at
// DevOutboxPath/{id}/html.
const DevOutboxPath = "/dev/outbox"

// DefaultDevOutboxSize is how many messages a DevOutbox keeps when created
// with size 0.
const DefaultDevOutboxSize = 200

// Sent is a message kept by the DevOutbox.
type Sent struct {
	ID     string // unique within the outbox, used in URLs
	SentAt time.Time
	Message
}

// DevOutbox is the Sender of the embedded mode without SMTP: it keeps the
// most recent messages in memory and shows them on a page for developers.
// Tests use it as a loopback to read the mails the system sent (Last,
// Wait). It is safe for concurrent use. It must never serve real users:
// its page shows every single-use link to anyone who can reach it.
type DevOutbox struct {
	now func() time.Time
	max int

	mu      sync.Mutex
	seq     uint64
	items   []Sent        // oldest first
	changed chan struct{} // closed and replaced on every Send
}

var _ Sender = (*DevOutbox)(nil)

// NewDevOutbox returns an outbox that keeps the last size messages
// (DefaultDevOutboxSize if size is 0), stamped with now (time.Now if nil).
func NewDevOutbox(size int, now func() time.Time) *DevOutbox {
	if size <= 0 {
		size = DefaultDevOutboxSize
	}
	if now == nil {
		now = time.Now
	}
	return &DevOutbox{now: now, max: size, changed: make(chan struct{})}
}

// Send keeps m, dropping the oldest message when the outbox is full.
func (o *DevOutbox) Send(_ context.Context, m Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seq++
	o.items = append(o.items, Sent{ID: strconv.FormatUint(o.seq, 10), SentAt: o.now(), Message: m})
	if len(o.items) > o.max {
		o.items = append(o.items[:0:0], o.items[len(o.items)-o.max:]...)
	}
	close(o.changed)
	o.changed = make(chan struct{})
	return nil
}

// Messages returns the kept messages, newest first.
func (o *DevOutbox) Messages() []Sent {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]Sent, len(o.items))
	for i, s := range o.items {
		out[len(out)-1-i] = s
	}
	return out
}

// Message returns the kept message with the given ID.
func (o *DevOutbox) Message(id string) (Sent, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, s := range o.items {
		if s.ID == id {
			return s, true
		}
	}
	return Sent{}, false
}

// Last returns the most recent message to the address to (compared without
// regard to case).
func (o *DevOutbox) Last(to string) (Sent, bool) {
	return o.find(func(s Sent) bool { return strings.EqualFold(s.To, to) })
}

func (o *DevOutbox) find(match func(Sent) bool) (Sent, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := len(o.items) - 1; i >= 0; i-- {
		if match(o.items[i]) {
			return o.items[i], true
		}
	}
	return Sent{}, false
}

// Wait returns the most recent message for which match reports true,
// waiting for one to be sent if there is none yet, until ctx ends. Mail is
// delivered by the job queue, so end-to-end tests wait for it like this:
//
//	s, err := outbox.Wait(ctx, func(s notify.Sent) bool {
//		return s.To == addr && s.Template == "activate"
//	})
//	link := notify.Links(s.Text)[0]
//
// To wait for a further mail of the same kind, let match reject the IDs
// already seen.
func (o *DevOutbox) Wait(ctx context.Context, match func(Sent) bool) (Sent, error) {
	for {
		o.mu.Lock()
		changed := o.changed
		o.mu.Unlock()
		if s, ok := o.find(match); ok {
			return s, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return Sent{}, ctx.Err()
		}
	}
}

// linkRE finds http(s) URLs in plain text; trailing punctuation is trimmed
// by Links.
var linkRE = regexp.MustCompile(`https?://[^\s<>"'«»]+`)

// Links returns the http(s) URLs in a plain-text body, in order, e.g. the
// activation link of a rendered activate mail.
func Links(text string) []string {
	var out []string
	for _, m := range linkRE.FindAllStringIndex(text, -1) {
		out = append(out, trimLink(text[m[0]:m[1]]))
	}
	return out
}

func trimLink(s string) string { return strings.TrimRight(s, ".,;:!?)]") }

// textSegment is a piece of a text part: plain text or a link.
type textSegment struct {
	Text string
	Link bool
}

func segments(text string) []textSegment {
	var out []textSegment
	last := 0
	for _, m := range linkRE.FindAllStringIndex(text, -1) {
		link := trimLink(text[m[0]:m[1]])
		if m[0] > last {
			out = append(out, textSegment{Text: text[last:m[0]]})
		}
		out = append(out, textSegment{Text: link, Link: true})
		last = m[0] + len(link)
	}
	if last < len(text) {
		out = append(out, textSegment{Text: text[last:]})
	}
	return out
}

// Handler serves the dev outbox pages under DevOutboxPath: plain HTML, no
// JavaScript, a strict Content-Security-Policy, and the HTML part of a
// message only inside a sandboxed iframe from its own URL.
func (o *DevOutbox) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+DevOutboxPath, o.serveList)
	mux.HandleFunc("GET "+DevOutboxPath+"/{id}", o.serveMessage)
	mux.HandleFunc("GET "+DevOutboxPath+"/{id}/html", o.serveHTMLPart)
	return mux
}

const pageCSP = "default-src 'none'; style-src 'unsafe-inline'; frame-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// partCSP applies to a mail's own HTML: no scripts, no fetches, a unique
// origin (sandbox), embeddable only by the outbox page.
const partCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'self'"

type outboxListView struct {
	Path  string
	Items []outboxItemView
}

type outboxItemView struct {
	ID, To, Subject, Template, SentAt string
}

type outboxMessageView struct {
	Path      string
	ID        string
	To        string
	Subject   string
	Template  string
	MessageID string
	SentAt    string
	Text      []textSegment
	HasHTML   bool
}

func (o *DevOutbox) serveList(w http.ResponseWriter, r *http.Request) {
	v := outboxListView{Path: DevOutboxPath}
	for _, s := range o.Messages() {
		v.Items = append(v.Items, outboxItemView{
			ID: s.ID, To: s.To, Subject: s.Subject, Template: s.Template, SentAt: formatTime(s.SentAt),
		})
	}
	writePage(w, "list", v)
}

func (o *DevOutbox) serveMessage(w http.ResponseWriter, r *http.Request) {
	s, ok := o.Message(r.PathValue("id"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	writePage(w, "message", outboxMessageView{
		Path: DevOutboxPath, ID: s.ID, To: s.To, Subject: s.Subject, Template: s.Template,
		MessageID: s.MessageID, SentAt: formatTime(s.SentAt), Text: segments(s.Text), HasHTML: s.HTML != "",
	})
}

func (o *DevOutbox) serveHTMLPart(w http.ResponseWriter, r *http.Request) {
	s, ok := o.Message(r.PathValue("id"))
	if !ok || s.HTML == "" {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", partCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(s.HTML))
}

func formatTime(t time.Time) string { return t.Format("02.01.2006 15:04:05") }

func writePage(w http.ResponseWriter, name string, v any) {
	var buf bytes.Buffer
	if err := outboxPages.ExecuteTemplate(&buf, name, v); err != nil {
		http.Error(w, "Die Seite konnte nicht dargestellt werden.", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	_, _ = buf.WriteTo(w)
}

var outboxPages = template.Must(template.New("outbox").Parse(`
{{define "head"}}<!DOCTYPE html>
<html lang="de">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.}} – Dev-Postausgang</title>
<style>
body{font-family:system-ui,sans-serif;margin:0 auto;padding:1rem;max-width:60rem;color:#1a1a1a;line-height:1.5}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid #ccc;vertical-align:top}
pre{white-space:pre-wrap;word-break:break-word;background:#f4f4f4;padding:1rem;border:1px solid #ccc}
iframe{width:100%;height:40rem;border:1px solid #ccc}
dt{font-weight:bold}dd{margin:0 0 .5rem 0}
a{color:#00508c}
.note{background:#fff4ce;border:1px solid #c9a400;padding:.5rem 1rem}
</style>
</head>
<body>
<main>
{{end}}
{{define "foot"}}</main>
</body>
</html>
{{end}}
{{define "list"}}{{template "head" "Übersicht"}}
<h1>Dev-Postausgang</h1>
<p class="note">Nur für die Entwicklung: Diese E-Mails und SMS wurden nicht versendet, sondern hier im Speicher behalten (die neuesten zuerst).</p>
{{if .Items}}
<table>
<caption>{{len .Items}} Nachrichten</caption>
<thead><tr><th scope="col">Gesendet</th><th scope="col">An</th><th scope="col">Betreff</th><th scope="col">Vorlage</th></tr></thead>
<tbody>
{{range .Items}}<tr><td>{{.SentAt}}</td><td>{{.To}}</td><td><a href="{{$.Path}}/{{.ID}}">{{.Subject}}</a></td><td>{{.Template}}</td></tr>
{{end}}</tbody>
</table>
{{else}}
<p>Noch keine E-Mails.</p>
{{end}}
{{template "foot"}}{{end}}
{{define "message"}}{{template "head" .Subject}}
<p><a href="{{.Path}}">Zurück zur Übersicht</a></p>
<h1>{{.Subject}}</h1>
<dl>
<dt>An</dt><dd>{{.To}}</dd>
<dt>Gesendet</dt><dd>{{.SentAt}}</dd>
<dt>Vorlage</dt><dd>{{.Template}}</dd>
{{with .MessageID}}<dt>Message-ID</dt><dd>{{.}}</dd>{{end}}
</dl>
<h2>Textteil</h2>
<pre>{{range .Text}}{{if .Link}}<a href="{{.Text}}">{{.Text}}</a>{{else}}{{.Text}}{{end}}{{end}}</pre>
{{if .HasHTML}}
<h2>HTML-Teil</h2>
<iframe sandbox src="{{.Path}}/{{.ID}}/html" title="HTML-Teil der E-Mail (abgeschottet)"></iframe>
{{end}}
{{template "foot"}}{{end}}
`))

// SMSTemplate is the Template of the SMS a DevOutbox keeps.
const SMSTemplate = "sms"

// SendSMS keeps a text message like an e-mail (Template "sms", To the
// E.164 number, Subject "SMS"), so that in embedded mode without Twilio the
// codes appear on the outbox page next to the mails. It makes the
// DevOutbox an mfa.SMSSender.
func (o *DevOutbox) SendSMS(ctx context.Context, to, body string) error {
	return o.Send(ctx, Message{To: to, Subject: "SMS", Text: body, Template: SMSTemplate})
}
