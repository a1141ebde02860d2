package notify

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/kanton/kundencenter/idp"
)

// freeText are the data keys that carry text people typed (names, the
// contact message, notes) rather than values the system made.
var freeText = []string{KeyName, KeyOrgName, KeyInviterName, KeyPartyName, KeyServiceName, KeyReference, KeyNote,
	KeyMessage, KeyTopic}

// FuzzRender renders every mail with arbitrary free text: whatever the
// text, a rendered mail is valid UTF-8 without NUL, control characters
// (but the line breaks of the body) or bidi controls, and its subject is
// one line (issue 16, item 11: such input must never reach a mail).
func FuzzRender(f *testing.F) {
	r, err := NewRenderer()
	if err != nil {
		f.Fatal(err)
	}
	for i := range allMails {
		f.Add(uint8(i), "de", "Zoë Müller-Grünig", "Ich komme nicht weiter.\nDanke.")
	}
	f.Add(uint8(0), "fr", "Anna\x00", "a\r\nb\rc")
	f.Add(uint8(5), "it", "Anna \u202eretsuM", "\xff\xfe\x00")
	f.Add(uint8(19), "en", "Bcc: x@example.ch\r\nSubject: y", "\u2066x\u2069\u2028\ufeff")
	f.Add(uint8(1), "de", "<b>&amp;</b>{{.Link}}", "\x1b[31mrot\x7f\u0085")
	f.Fuzz(func(t *testing.T, tmpl uint8, locale, text, message string) {
		m := testMail(allMails[int(tmpl)%len(allMails)], locale)
		for _, k := range freeText {
			m.Data[k] = m.Data[k] + text
		}
		m.Data[KeyMessage] = message
		if strings.TrimSpace(message) == "" {
			m.Data[KeyMessage] = "x" + message
		}
		out, err := r.Render(m)
		if err != nil {
			t.Fatalf("Render(%s) = %v", m.Template, err)
		}
		for part, s := range map[string]string{"subject": out.Subject, "text": out.Text, "html": out.HTML} {
			if !utf8.ValidString(s) {
				t.Fatalf("%s %s: invalid UTF-8: %q", m.Template, part, s)
			}
			if i := strings.IndexFunc(s, func(r rune) bool {
				return unicode.IsControl(r) && (r != '\n' || part == "subject") || unicode.Is(unicode.Bidi_Control, r) ||
					r == '\u2028' || r == '\u2029'
			}); i >= 0 {
				t.Fatalf("%s %s: a control character at %d: %q", m.Template, part, i, s)
			}
		}
	})
}

// TestRenderDropsControlCharacters: NUL, invalid UTF-8 and bidi
// overrides in names and messages used to reach the mail as they came.
func TestRenderDropsControlCharacters(t *testing.T) {
	t.Parallel()
	r, err := NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	m := testMail("contact", "de")
	m.Data[KeyName] = "Zoë\x00 \u202eMüller\xff"
	m.Data[KeyMessage] = "Zeile 1\r\nZeile 2\x00\u202e"
	out, err := r.Render(m)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.Text, "Zeile 1\nZeile 2\n") && !strings.Contains(out.Text, "Zeile 1\nZeile 2") {
		t.Errorf("message lines lost:\n%s", out.Text)
	}
	for _, bad := range []string{"\x00", "\u202e", "\xff", "\r"} {
		if strings.Contains(out.Text, bad) || strings.Contains(out.HTML, bad) || strings.Contains(out.Subject, bad) {
			t.Errorf("rendered mail contains %q:\n%s", bad, out.Text)
		}
	}
	m = testMail(idp.MailActivate, "de")
	m.Data[KeyName] = "Zoë\x00 \u202eMüller\xff"
	if out, err := r.Render(m); err != nil || !strings.Contains(out.Text, "Zoë Müller\uFFFD") {
		t.Errorf("Render = %v; the name should read %q:\n%s", err, "Zoë Müller\uFFFD", out.Text)
	}
}
