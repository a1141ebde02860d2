package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestContactRefusesControlCharacters: a name with a bidi override or NUL,
// or a message with control characters, is refused with a message in the
// person's language and no mail goes out; line breaks in the message are
// fine (issue 16, item 11).
func TestContactRefusesControlCharacters(t *testing.T) {
	p := startPortal(t)
	b := p.env.NewBrowser(t)
	for _, tt := range []struct {
		name, message, lang, field, want string
	}{
		{"Max \u202eretsuM", "Hallo", "de", "name", "unsichtbare Steuer- und Richtungszeichen"},
		{"Max\x00", "Hallo", "fr", "name", "caractères de contrôle ou de direction invisibles"},
		{"Max", "Hallo\x00", "de", "message", "Die Nachricht enthält unsichtbare"},
		{"Max", "Hallo \u2066x\u2069", "it", "message", "Il messaggio contiene caratteri"},
		{"Max", "Hallo\x1b[31m", "en", "message", "The message contains invisible"},
	} {
		res := b.Submit(t, "/contact?lang="+tt.lang, "/contact", url.Values{"name": {tt.name}, "email": {"max@example.ch"},
			"topic": {"login"}, "message": {tt.message}})
		if res.Resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(res.Body, tt.want) ||
			!strings.Contains(res.Body, `href="#`+tt.field+`"`) {
			t.Errorf("name %q message %q: status %d, want 422 with %q at %s", tt.name, tt.message, res.Resp.StatusCode, tt.want, tt.field)
		}
	}
	if n := len(p.env.Mails(supportAddress, "contact")); n != 0 {
		t.Fatalf("%d contact mails went out", n)
	}
	res := b.Submit(t, "/contact", "/contact", url.Values{"name": {"Zoë Müller"}, "email": {"max@example.ch"},
		"topic": {"login"}, "message": {"Zeile 1\r\nZeile 2 <b>"}})
	if res.Resp.StatusCode != http.StatusOK {
		t.Fatalf("a clean multi-line message: status %d", res.Resp.StatusCode)
	}
}
