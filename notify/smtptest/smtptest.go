package smtptest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

// TLS modes of the server.
const (
	TLSNone     = ""         // plain text only
	TLSStartTLS = "starttls" // advertises STARTTLS; AUTH only after it
	TLSImplicit = "tls"      // TLS from the first byte
)

// Options configure a server started with StartWith.
type Options struct {
	// Username and Password, when set, make the server advertise AUTH PLAIN
	// and refuse MAIL before a successful login.
	Username, Password string
	// TLS is TLSNone, TLSStartTLS or TLSImplicit; the certificate is
	// self-signed for 127.0.0.1 and localhost (see Server.RootCAs).
	TLS string
	// FailData makes the first FailData DATA commands end in a temporary
	// failure (451) after the message was read, to exercise retries.
	FailData int
}

// Message is one message the server accepted.
type Message struct {
	From string   // envelope sender (MAIL FROM)
	To   []string // envelope recipients (RCPT TO)
	Data []byte   // the message as received, dot-unstuffed, with LF line ends
	User string   // the authenticated user, if any
	TLS  bool     // whether the session was encrypted

	// Decoded from Data. Err says why decoding failed, if it did.
	Header  mail.Header
	Subject string // RFC 2047-decoded
	Text    string // the text/plain part, transfer-decoded
	HTML    string // the text/html part, transfer-decoded
	Err     error
}

// Server is a running SMTP server on 127.0.0.1. It stops when the test ends.
type Server struct {
	t     testing.TB
	opts  Options
	ln    net.Listener
	tls   *tls.Config
	roots *x509.CertPool

	mu       sync.Mutex
	msgs     []Message
	fails    int
	conns    map[net.Conn]struct{}
	changed  chan struct{}
	closed   bool
	handlers sync.WaitGroup
}

// Start runs a server without TLS or authentication.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith runs a server configured by o.
func StartWith(t testing.TB, o Options) *Server {
	t.Helper()
	s := &Server{t: t, opts: o, conns: map[net.Conn]struct{}{}, changed: make(chan struct{})}
	if o.TLS != TLSNone {
		s.tls, s.roots = selfSigned(t)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	if o.TLS == TLSImplicit {
		ln = tls.NewListener(ln, s.tls)
	}
	s.ln = ln
	s.handlers.Add(1)
	go s.accept()
	t.Cleanup(s.close)
	return s
}

// Addr returns the server's address, "127.0.0.1:port".
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Host returns "127.0.0.1".
func (s *Server) Host() string { return "127.0.0.1" }

// Port returns the server's TCP port.
func (s *Server) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// RootCAs returns a pool trusting the server's certificate (nil without TLS).
func (s *Server) RootCAs() *x509.CertPool { return s.roots }

// Messages returns the accepted messages, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Wait returns the most recent message for which match reports true,
// waiting for one to arrive if there is none yet, until ctx ends.
func (s *Server) Wait(ctx context.Context, match func(Message) bool) (Message, error) {
	for {
		s.mu.Lock()
		changed := s.changed
		for i := len(s.msgs) - 1; i >= 0; i-- {
			if match(s.msgs[i]) {
				m := s.msgs[i]
				s.mu.Unlock()
				return m, nil
			}
		}
		s.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return Message{}, fmt.Errorf("smtptest: no matching message: %w", ctx.Err())
		}
	}
}

// Last returns the most recent message to the envelope recipient to.
func (s *Server) Last(to string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.msgs) - 1; i >= 0; i-- {
		for _, r := range s.msgs[i].To {
			if strings.EqualFold(r, to) {
				return s.msgs[i], true
			}
		}
	}
	return Message{}, false
}

func (s *Server) close() {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	_ = s.ln.Close()
	s.handlers.Wait()
}

func (s *Server) accept() {
	defer s.handlers.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.handlers.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.handlers.Done()
			s.serve(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			_ = c.Close()
		}()
	}
}

type session struct {
	conn net.Conn
	tp   *textproto.Conn
	tls  bool
	user string
	inTx bool // after MAIL
	from string
	to   []string
}

func (s *Server) serve(c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(time.Minute))
	ss := &session{conn: c, tp: textproto.NewConn(c), tls: s.opts.TLS == TLSImplicit}
	ss.reply(220, "smtptest ESMTP ready")
	for {
		line, err := ss.tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			lines := []string{"smtptest", "8BITMIME", "ENHANCEDSTATUSCODES"}
			if s.opts.TLS == TLSStartTLS && !ss.tls {
				lines = append(lines, "STARTTLS")
			}
			if s.authOffered(ss) {
				lines = append(lines, "AUTH PLAIN")
			}
			ss.multi(250, lines)
			ss.resetTx()
		case "HELO":
			ss.reply(250, "smtptest")
			ss.resetTx()
		case "STARTTLS":
			if s.opts.TLS != TLSStartTLS || ss.tls {
				ss.reply(502, "5.5.1 STARTTLS not available")
				continue
			}
			ss.reply(220, "2.0.0 ready to start TLS")
			tc := tls.Server(c, s.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			ss.conn, ss.tp, ss.tls = tc, textproto.NewConn(tc), true
			ss.resetTx()
			ss.user = ""
		case "AUTH":
			s.auth(ss, arg)
		case "MAIL":
			if s.opts.Username != "" && ss.user == "" {
				ss.reply(530, "5.7.0 authentication required")
				continue
			}
			addr, ok := path(arg, "FROM:")
			if !ok {
				ss.reply(501, "5.5.4 syntax: MAIL FROM:<address>")
				continue
			}
			ss.resetTx()
			ss.from, ss.inTx = addr, true
			ss.reply(250, "2.1.0 ok")
		case "RCPT":
			addr, ok := path(arg, "TO:")
			if !ok || addr == "" {
				ss.reply(501, "5.5.4 syntax: RCPT TO:<address>")
				continue
			}
			if !ss.inTx {
				ss.reply(503, "5.5.1 need MAIL first")
				continue
			}
			ss.to = append(ss.to, addr)
			ss.reply(250, "2.1.5 ok")
		case "DATA":
			if len(ss.to) == 0 {
				ss.reply(503, "5.5.1 need RCPT first")
				continue
			}
			ss.reply(354, "end data with <CR><LF>.<CR><LF>")
			data, err := ss.tp.ReadDotBytes()
			if err != nil {
				return
			}
			if s.failData() {
				ss.reply(451, "4.3.0 try again later")
				ss.resetTx()
				continue
			}
			s.store(ss, data)
			ss.reply(250, "2.0.0 queued")
			ss.resetTx()
		case "RSET":
			ss.resetTx()
			ss.reply(250, "2.0.0 ok")
		case "NOOP":
			ss.reply(250, "2.0.0 ok")
		case "QUIT":
			ss.reply(221, "2.0.0 bye")
			return
		default:
			ss.reply(502, "5.5.2 command not implemented")
		}
	}
}

func (s *Server) authOffered(ss *session) bool {
	return s.opts.Username != "" && (s.opts.TLS != TLSStartTLS || ss.tls)
}

// auth handles AUTH PLAIN (RFC 4616), with or without an initial response.
func (s *Server) auth(ss *session, arg string) {
	mech, initial, _ := strings.Cut(arg, " ")
	if !s.authOffered(ss) || !strings.EqualFold(mech, "PLAIN") {
		ss.reply(504, "5.5.4 mechanism not available")
		return
	}
	if ss.user != "" {
		ss.reply(503, "5.5.1 already authenticated")
		return
	}
	if initial == "" {
		ss.reply(334, "")
		l, err := ss.tp.ReadLine()
		if err != nil {
			return
		}
		initial = l
	}
	b, err := base64.StdEncoding.DecodeString(initial)
	if err != nil {
		ss.reply(501, "5.5.2 bad base64")
		return
	}
	parts := strings.Split(string(b), "\x00")
	if len(parts) != 3 || parts[1] != s.opts.Username || parts[2] != s.opts.Password {
		ss.reply(535, "5.7.8 authentication credentials invalid")
		return
	}
	ss.user = parts[1]
	ss.reply(235, "2.7.0 authentication successful")
}

func (s *Server) failData() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fails < s.opts.FailData {
		s.fails++
		return true
	}
	return false
}

func (s *Server) store(ss *session, data []byte) {
	m := Message{From: ss.from, To: append([]string(nil), ss.to...), Data: data, User: ss.user, TLS: ss.tls}
	m.Err = m.decode()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	close(s.changed)
	s.changed = make(chan struct{})
}

func (ss *session) reply(code int, text string) {
	_ = ss.tp.PrintfLine("%d %s", code, text)
}

func (ss *session) multi(code int, lines []string) {
	for i, l := range lines {
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		_ = ss.tp.PrintfLine("%d%s%s", code, sep, l)
	}
}

func (ss *session) resetTx() {
	ss.inTx, ss.from, ss.to = false, "", nil
}

// path parses "FROM:<a@b> PARAMS" or "TO:<a@b>" and returns the address.
func path(arg, prefix string) (string, bool) {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return "", false
	}
	rest := strings.TrimSpace(arg[len(prefix):])
	if !strings.HasPrefix(rest, "<") {
		return "", false
	}
	end := strings.IndexByte(rest, '>')
	if end < 0 {
		return "", false
	}
	return rest[1:end], true
}

// decode fills Header, Subject, Text and HTML from Data.
func (m *Message) decode() error {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		return fmt.Errorf("read message: %w", err)
	}
	m.Header = msg.Header
	dec := new(mime.WordDecoder)
	if m.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return fmt.Errorf("decode subject: %w", err)
	}
	return m.walk(textproto.MIMEHeader(msg.Header), msg.Body)
}

func (m *Message) walk(h textproto.MIMEHeader, body io.Reader) error {
	ct := h.Get("Content-Type")
	if ct == "" {
		ct = "text/plain; charset=us-ascii"
	}
	mediaType, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return fmt.Errorf("content type %q: %w", ct, err)
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		r := multipart.NewReader(body, params["boundary"])
		for {
			p, err := r.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("multipart: %w", err)
			}
			if err := m.walk(p.Header, p); err != nil {
				return err
			}
		}
	}
	var rd io.Reader = body
	switch strings.ToLower(h.Get("Content-Transfer-Encoding")) {
	case "quoted-printable":
		rd = quotedprintable.NewReader(body)
	case "base64":
		rd = base64.NewDecoder(base64.StdEncoding, body) // skips CR and LF
	}
	b, err := io.ReadAll(rd)
	if err != nil {
		return fmt.Errorf("%s part: %w", mediaType, err)
	}
	switch mediaType {
	case "text/plain":
		if m.Text == "" {
			m.Text = string(b)
		}
	case "text/html":
		if m.HTML == "" {
			m.HTML = string(b)
		}
	}
	return nil
}

func selfSigned(t testing.TB) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("smtptest: key: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "smtptest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("smtptest: certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("smtptest: certificate: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}},
		MinVersion:   tls.VersionTLS12,
	}, pool
}
