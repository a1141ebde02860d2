package notify

import (
	"crypto/tls"
	"strings"
	"testing"

	"github.com/kanton/kundencenter/notify/smtptest"
)

// TestSMTPSend sends through the SMTP sender to a real SMTP server on
// loopback, in every TLS mode, and checks what arrived.
func TestSMTPSend(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts smtptest.Options
		mode TLSMode
		user string
		pass string
	}{
		{name: "plain, no auth", mode: TLSNone},
		{name: "plain, AUTH PLAIN on loopback", mode: TLSNone, user: "kc", pass: "pässwörd",
			opts: smtptest.Options{Username: "kc", Password: "pässwörd"}},
		{name: "STARTTLS with AUTH PLAIN", mode: TLSStartTLS, user: "kc", pass: "s3cret",
			opts: smtptest.Options{TLS: smtptest.TLSStartTLS, Username: "kc", Password: "s3cret"}},
		{name: "implicit TLS with AUTH PLAIN", mode: TLSImplicit, user: "kc", pass: "s3cret",
			opts: smtptest.Options{TLS: smtptest.TLSImplicit, Username: "kc", Password: "s3cret"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.StartWith(t, tt.opts)
			s, err := NewSMTP(SMTPConfig{
				Host: srv.Host(), Port: srv.Port(), TLS: tt.mode,
				Username: tt.user, Password: tt.pass,
				From:      "Kundencenter des Kantons <noreply@kanton.example>",
				TLSConfig: &tls.Config{RootCAs: srv.RootCAs()},
			})
			if err != nil {
				t.Fatalf("NewSMTP: %v", err)
			}
			msg := Message{
				To:        "zoe.mueller@example.ch",
				Subject:   "Grüsse aus Zürich – Passwort geändert",
				Text:      "Guten Tag Zoë Müller-Grünig\n\nÄnderung bestätigt: https://konto.example.ch/x?a=1&b=2\n",
				HTML:      "<!DOCTYPE html><html lang=\"de\"><body><p>Guten Tag Zoë Müller-Grünig</p></body></html>\n",
				MessageID: "kc-mail.42.abcdef",
			}
			if err := s.Send(t.Context(), msg); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := srv.Messages()
			if len(got) != 1 {
				t.Fatalf("server received %d messages, want 1", len(got))
			}
			m := got[0]
			if m.Err != nil {
				t.Fatalf("decode received message: %v\n%s", m.Err, m.Data)
			}
			checks := []struct{ what, got, want string }{
				{"envelope from", m.From, "noreply@kanton.example"},
				{"envelope to", strings.Join(m.To, ","), "zoe.mueller@example.ch"},
				{"From", m.Header.Get("From"), `"Kundencenter des Kantons" <noreply@kanton.example>`},
				{"To", m.Header.Get("To"), "<zoe.mueller@example.ch>"},
				{"Subject", m.Subject, msg.Subject},
				{"Message-ID", m.Header.Get("Message-ID"), "<kc-mail.42.abcdef@kanton.example>"},
				{"Auto-Submitted", m.Header.Get("Auto-Submitted"), "auto-generated"},
				{"text part", m.Text, msg.Text},
				{"HTML part", m.HTML, msg.HTML},
				{"user", m.User, tt.user},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
				}
			}
			if !strings.HasPrefix(m.Header.Get("Content-Type"), "multipart/alternative") {
				t.Errorf("Content-Type = %q, want multipart/alternative", m.Header.Get("Content-Type"))
			}
			if m.Header.Get("Date") == "" {
				t.Errorf("no Date header")
			}
			if m.TLS != (tt.mode != TLSNone) {
				t.Errorf("session TLS = %v, want %v", m.TLS, tt.mode != TLSNone)
			}
		})
	}
}

func TestSMTPSendErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts smtptest.Options
		cfg  func(*SMTPConfig)
	}{
		{name: "wrong password", opts: smtptest.Options{Username: "kc", Password: "right"},
			cfg: func(c *SMTPConfig) { c.Username, c.Password = "kc", "wrong" }},
		{name: "STARTTLS required but not offered", cfg: func(c *SMTPConfig) { c.TLS = TLSStartTLS }},
		{name: "server refuses data", opts: smtptest.Options{FailData: 1}},
		{name: "untrusted certificate", opts: smtptest.Options{TLS: smtptest.TLSImplicit},
			cfg: func(c *SMTPConfig) { c.TLS, c.TLSConfig = TLSImplicit, nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.StartWith(t, tt.opts)
			cfg := SMTPConfig{Host: srv.Host(), Port: srv.Port(), TLS: TLSNone, From: "noreply@kanton.example",
				TLSConfig: &tls.Config{RootCAs: srv.RootCAs()}}
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			s, err := NewSMTP(cfg)
			if err != nil {
				t.Fatalf("NewSMTP: %v", err)
			}
			err = s.Send(t.Context(), Message{To: "zoe@example.ch", Subject: "x", Text: "x"})
			if err == nil {
				t.Fatal("Send succeeded")
			}
			if n := len(srv.Messages()); n != 0 {
				t.Errorf("server kept %d messages, want 0", n)
			}
		})
	}
}

func TestSMTPConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  SMTPConfig
		want []string
	}{
		{name: "valid", cfg: SMTPConfig{Host: "smtp.example.ch", From: "noreply@kanton.example", Username: "u", Password: "p"}},
		{name: "valid plain relay on localhost", cfg: SMTPConfig{Host: "localhost", From: "noreply@kanton.example", TLS: TLSNone, Username: "u"}},
		{name: "everything wrong", cfg: SMTPConfig{Port: 70000, From: "nobody", TLS: "ssl", Password: "p", Timeout: -1},
			want: []string{"SMTP host: empty", "SMTP port", "SMTP from", "SMTP TLS", "SMTP password", "SMTP timeout"}},
		{name: "password in clear text", cfg: SMTPConfig{Host: "smtp.example.ch", From: "a@b.ch", TLS: TLSNone, Username: "u"},
			want: []string{"clear text"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate = nil")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate = %q, want it to mention %q", err, w)
				}
			}
			if _, err := NewSMTP(tt.cfg); err == nil {
				t.Errorf("NewSMTP accepted an invalid config")
			}
		})
	}
}
