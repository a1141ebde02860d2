package smtptest

import (
	"context"
	"net"
	"net/smtp"
	"net/textproto"
	"strings"
	"testing"
	"time"
)

// TestStdlibClient talks to the server with net/smtp, a client other than
// the one the notify package uses.
func TestStdlibClient(t *testing.T) {
	srv := StartWith(t, Options{Username: "kc", Password: "pw"})
	body := "From: a@example.ch\r\nTo: b@example.ch\r\nSubject: =?UTF-8?q?Gr=C3=BCsse?=\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=XX\r\n\r\n" +
		"--XX\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		"R3LDvHNzZSBh\r\ndXMgWsO8cmljaA==\r\n" +
		"--XX\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
		"<p>Gr=C3=BCsse</p>\r\n--XX--\r\n.leading dot\r\n"
	auth := smtp.PlainAuth("", "kc", "pw", "127.0.0.1")
	if err := smtp.SendMail(srv.Addr(), auth, "a@example.ch", []string{"b@example.ch", "c@example.ch"}, []byte(body)); err != nil {
		t.Fatalf("SendMail: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	m, err := srv.Wait(ctx, func(m Message) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, got, want string }{
		{"from", m.From, "a@example.ch"},
		{"to", strings.Join(m.To, ","), "b@example.ch,c@example.ch"},
		{"user", m.User, "kc"},
		{"subject", m.Subject, "Grüsse"},
		{"text", m.Text, "Grüsse aus Zürich"},
		{"html", m.HTML, "<p>Grüsse</p>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("%s = %q, want %q", tt.name, tt.got, tt.want)
			}
		})
	}
	if m.Err != nil {
		t.Errorf("decode: %v", m.Err)
	}
	if _, ok := srv.Last("C@example.ch"); !ok {
		t.Errorf("Last(C@example.ch) found nothing")
	}
}

// TestProtocolErrors checks the replies to commands out of order.
func TestProtocolErrors(t *testing.T) {
	srv := StartWith(t, Options{Username: "kc", Password: "pw"})
	c, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tp := textproto.NewConn(c)
	if _, _, err := tp.ReadResponse(220); err != nil {
		t.Fatalf("greeting: %v", err)
	}
	tests := []struct {
		name, cmd string
		code      int
	}{
		{name: "EHLO", cmd: "EHLO test", code: 250},
		{name: "MAIL before AUTH", cmd: "MAIL FROM:<a@example.ch>", code: 530},
		{name: "wrong password", cmd: "AUTH PLAIN AGtjAHdyb25n", code: 535},
		{name: "right password", cmd: "AUTH PLAIN AGtjAHB3", code: 235},
		{name: "RCPT before MAIL", cmd: "RCPT TO:<b@example.ch>", code: 503},
		{name: "DATA before RCPT", cmd: "DATA", code: 503},
		{name: "bad MAIL syntax", cmd: "MAIL FROM:a@example.ch", code: 501},
		{name: "unknown command", cmd: "VRFY b", code: 502},
		{name: "QUIT", cmd: "QUIT", code: 221},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tp.PrintfLine("%s", tt.cmd); err != nil {
				t.Fatal(err)
			}
			code, msg, err := tp.ReadResponse(0)
			if code != tt.code {
				t.Errorf("%s: %d %s (%v), want %d", tt.cmd, code, msg, err, tt.code)
			}
		})
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("kept %d messages", n)
	}
}
