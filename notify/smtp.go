package notify

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// TLSMode says how the connection to the SMTP server is secured.
type TLSMode string

// TLS modes.
const (
	TLSNone     TLSMode = "none"     // plain text; only for a relay on localhost or a trusted network
	TLSStartTLS TLSMode = "starttls" // STARTTLS is required (RFC 3207), usually port 587
	TLSImplicit TLSMode = "tls"      // TLS from the first byte (RFC 8314), usually port 465
)

// SMTPConfig configures the SMTP sender.
type SMTPConfig struct {
	Host     string
	Port     int    // 0 means the usual port of the TLS mode: 25, 587 or 465
	Username string // empty means no authentication
	Password string
	From     string  // sender, e.g. "Kundencenter <noreply@kanton.example>"
	TLS      TLSMode // "" means starttls

	// Timeout bounds the connection and each SMTP command; 0 means 30s.
	Timeout time.Duration
	// TLSConfig overrides the TLS settings (e.g. RootCAs for a private CA);
	// ServerName defaults to Host and MinVersion to TLS 1.2.
	TLSConfig *tls.Config
}

// Validate reports every problem of the configuration at once.
func (c SMTPConfig) Validate() error {
	var errs []error
	if strings.TrimSpace(c.Host) == "" {
		errs = append(errs, errors.New("SMTP host: empty"))
	}
	if c.Port < 0 || c.Port > 65535 {
		errs = append(errs, fmt.Errorf("SMTP port: %d is not a TCP port", c.Port))
	}
	if a, err := mail.ParseAddress(c.From); err != nil {
		errs = append(errs, fmt.Errorf("SMTP from: %q is not an e-mail address: %w", c.From, err))
	} else if !strings.Contains(a.Address, "@") {
		errs = append(errs, fmt.Errorf("SMTP from: %q has no domain", c.From))
	}
	switch c.TLS {
	case "", TLSStartTLS, TLSImplicit:
	case TLSNone:
		if c.Username != "" && !isLoopback(c.Host) {
			errs = append(errs, fmt.Errorf("SMTP TLS: mode %q would send the password in clear text to %s; use starttls or tls", c.TLS, c.Host))
		}
	default:
		errs = append(errs, fmt.Errorf("SMTP TLS: %q is not one of none, starttls, tls", c.TLS))
	}
	if c.Username == "" && c.Password != "" {
		errs = append(errs, errors.New("SMTP password: set without a username"))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("SMTP timeout: %s is negative", c.Timeout))
	}
	return errors.Join(errs...)
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// SMTP sends messages through an SMTP server (submission), one connection
// per message. It is safe for concurrent use.
type SMTP struct {
	cfg    SMTPConfig
	from   *mail.Address
	domain string
	opts   []gomail.Option
}

var _ Sender = (*SMTP)(nil)

// NewSMTP returns an SMTP sender for a valid configuration. It does not
// connect; the first Send does.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.TLS == "" {
		cfg.TLS = TLSStartTLS
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	from, _ := mail.ParseAddress(cfg.From)
	domain := from.Address[strings.LastIndex(from.Address, "@")+1:]

	tc := &tls.Config{}
	if cfg.TLSConfig != nil {
		tc = cfg.TLSConfig.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName = cfg.Host
	}
	if tc.MinVersion == 0 {
		tc.MinVersion = tls.VersionTLS12
	}
	opts := []gomail.Option{gomail.WithTimeout(cfg.Timeout), gomail.WithTLSConfig(tc)}
	port := cfg.Port
	switch cfg.TLS {
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
		port = cmpOr(port, 25)
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
		port = cmpOr(port, 587)
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
		port = cmpOr(port, 465)
	}
	opts = append(opts, gomail.WithPort(port))
	if cfg.Username != "" {
		// PLAIN over TLS; go-mail refuses it in clear text except to localhost.
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthPlain),
			gomail.WithUsername(cfg.Username), gomail.WithPassword(cfg.Password))
	}
	return &SMTP{cfg: cfg, from: from, domain: domain, opts: opts}, nil
}

func cmpOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// Send delivers m as multipart/alternative (text and HTML), or as plain
// text when m.HTML is empty.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg, err := s.build(m)
	if err != nil {
		return err
	}
	c, err := gomail.NewClient(s.cfg.Host, s.opts...)
	if err != nil {
		return fmt.Errorf("smtp client for %s: %w", s.cfg.Host, err)
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("smtp %s: %w", c.ServerAddr(), err)
	}
	return nil
}

func (s *SMTP) build(m Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	if err := msg.FromFormat(s.from.Name, s.from.Address); err != nil {
		return nil, fmt.Errorf("smtp from: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("%w: recipient: %w", ErrInvalidMail, err)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	id := m.MessageID
	if id == "" {
		id = "kc." + rand.Text()
	}
	msg.SetMessageIDWithValue(id + "@" + s.domain)
	msg.SetUserAgent("Kundencenter")
	// RFC 3834 §5: tells auto-responders not to answer.
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}
