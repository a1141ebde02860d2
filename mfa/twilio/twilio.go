package twilio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/kanton/kundencenter/mfa"
)

var _ mfa.SMSSender = (*Sender)(nil)

// DefaultBaseURL is Twilio's REST API.
const DefaultBaseURL = "https://api.twilio.com"

// Config is a Twilio account and sender.
type Config struct {
	// AccountSID is the account ("AC…").
	AccountSID string
	// AuthToken is the account's auth token; or use APIKey and APISecret.
	AuthToken string
	// APIKey ("SK…") and APISecret are a standard API key of the account,
	// which can be revoked on its own (preferred over the auth token).
	APIKey    string
	APISecret string
	// From is the sender: a Twilio number in E.164 or an alphanumeric sender
	// ID (up to 11 characters, allowed for CH and LI). Exactly one of From
	// and MessagingServiceSID is set.
	From string
	// MessagingServiceSID ("MG…") sends through a Messaging Service (sender
	// pool, Geo Permissions, fraud settings in the Twilio console).
	MessagingServiceSID string
	// BaseURL replaces DefaultBaseURL, e.g. the URL of a twiliotest server.
	BaseURL string
	// Edge and Region choose Twilio's edge location and processing region
	// (e.g. "dublin", "ie1"); empty means Twilio's default (US).
	Edge, Region string
	// Timeout bounds one API call; 0 means 10 s.
	Timeout time.Duration
	// Validity, if set, is the message's ValidityPeriod: Twilio drops an SMS
	// still queued after it (use the code lifetime). 0 leaves Twilio's default.
	Validity time.Duration
	// Transport is the HTTP transport; nil means http.DefaultTransport.
	Transport http.RoundTripper
}

// Validate reports every problem of the configuration at once; it never
// echoes a secret.
func (c Config) Validate() error {
	var errs []error
	if !sid(c.AccountSID, "AC") {
		errs = append(errs, errors.New("Twilio account SID: want AC followed by 32 hex digits"))
	}
	switch {
	case c.AuthToken != "" && c.APIKey != "":
		errs = append(errs, errors.New("Twilio credentials: set either the auth token or an API key and secret, not both"))
	case c.AuthToken != "":
		if !alnum(c.AuthToken) {
			errs = append(errs, errors.New("Twilio auth token: must be letters and digits only"))
		}
	case c.APIKey != "":
		if !sid(c.APIKey, "SK") {
			errs = append(errs, errors.New("Twilio API key: want SK followed by 32 hex digits"))
		}
		if c.APISecret == "" || !alnum(c.APISecret) {
			errs = append(errs, errors.New("Twilio API secret: empty or not letters and digits only"))
		}
	default:
		errs = append(errs, errors.New("Twilio credentials: set the auth token or an API key and secret"))
	}
	switch {
	case c.From != "" && c.MessagingServiceSID != "":
		errs = append(errs, errors.New("Twilio sender: set either From or the Messaging Service SID, not both"))
	case c.From != "":
		if !senderID(c.From) {
			errs = append(errs, fmt.Errorf("Twilio From: %q is neither an E.164 number nor an alphanumeric sender ID of at most 11 characters", c.From))
		}
	case c.MessagingServiceSID != "":
		if !sid(c.MessagingServiceSID, "MG") {
			errs = append(errs, errors.New("Twilio Messaging Service SID: want MG followed by 32 hex digits"))
		}
	default:
		errs = append(errs, errors.New("Twilio sender: set From or the Messaging Service SID"))
	}
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			errs = append(errs, fmt.Errorf("Twilio base URL: %q is not an http(s) URL without a path", c.BaseURL))
		}
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("Twilio timeout: %s is negative", c.Timeout))
	}
	if c.Validity != 0 && (c.Validity < time.Second || c.Validity > 36000*time.Second) {
		errs = append(errs, fmt.Errorf("Twilio validity: %s, must be between 1s and 10h", c.Validity))
	}
	return errors.Join(errs...)
}

// Sender sends SMS through Twilio Programmable Messaging (the Message
// resource of API 2010-04-01) with the twilio-go client. It is safe for
// concurrent use.
type Sender struct {
	cfg  Config
	base *url.URL // nil: Twilio itself
}

// New returns a sender for cfg, or the configuration's problems.
func New(cfg Config) (*Sender, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Transport == nil {
		cfg.Transport = http.DefaultTransport
	}
	s := &Sender{cfg: cfg}
	if cfg.BaseURL != "" {
		s.base, _ = url.Parse(cfg.BaseURL) // checked by Validate
	}
	return s, nil
}

// api returns a twilio-go API service whose requests carry ctx. The client
// library builds requests without a context and with the fixed base URL
// https://api.twilio.com, so the HTTP transport attaches ctx and, for
// tests, points the request at BaseURL; everything else (form encoding,
// authentication, error decoding) is twilio-go's own.
func (s *Sender) api(ctx context.Context) *openapi.ApiService {
	user, pass := s.cfg.AccountSID, s.cfg.AuthToken
	if s.cfg.APIKey != "" {
		user, pass = s.cfg.APIKey, s.cfg.APISecret
	}
	c := &client.Client{
		Credentials: client.NewCredentials(user, pass),
		HTTPClient: &http.Client{
			// No Timeout here: ctx carries it (see SendSMS), and the
			// transport replaces the request's context with ctx.
			Transport: &transport{ctx: ctx, base: s.base, next: s.cfg.Transport},
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
	}
	c.SetAccountSid(s.cfg.AccountSID)
	// Built directly, not with client.NewRequestHandler, which reads
	// TWILIO_EDGE and TWILIO_REGION from the environment.
	return openapi.NewApiService(&client.RequestHandler{Client: c, Edge: s.cfg.Edge, Region: s.cfg.Region})
}

// SendSMS sends body to the E.164 number to. Errors never contain the
// number or the body: a Twilio error becomes an *APIError (status and
// error code only), which wraps mfa.ErrRecipientRejected when Twilio
// refused the number.
func (s *Sender) SendSMS(ctx context.Context, to, body string) error {
	p := &openapi.CreateMessageParams{}
	p.SetTo(to).SetBody(body)
	if s.cfg.MessagingServiceSID != "" {
		p.SetMessagingServiceSid(s.cfg.MessagingServiceSID)
	} else {
		p.SetFrom(s.cfg.From)
	}
	if s.cfg.Validity > 0 {
		p.SetValidityPeriod(int(s.cfg.Validity / time.Second))
	}
	// CreateMessage reads the whole answer before it returns, so the
	// deadline may end with this call.
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	msg, err := s.api(ctx).CreateMessage(p)
	if err != nil {
		return translate(ctx, err)
	}
	if msg.ErrorCode != nil && *msg.ErrorCode != 0 {
		return &APIError{Status: http.StatusCreated, Code: *msg.ErrorCode}
	}
	if msg.Status != nil && (*msg.Status == "failed" || *msg.Status == "undelivered") {
		return &APIError{Status: http.StatusCreated, Code: 0}
	}
	return nil
}

// APIError is an error answer of Twilio, without its message text (which
// may quote the number).
type APIError struct {
	// Status is the HTTP status.
	Status int
	// Code is Twilio's error code (https://www.twilio.com/docs/api/errors).
	Code int
}

func (e *APIError) Error() string {
	what := ""
	switch {
	case e.Recipient():
		what = " (recipient refused)"
	case e.Temporary():
		what = " (temporary)"
	case e.Status == http.StatusUnauthorized || e.Code == 20003:
		what = " (authentication failed: check the account SID and token or API key)"
	}
	return fmt.Sprintf("twilio: HTTP %d, error %d%s", e.Status, e.Code, what)
}

// recipientCodes are Twilio errors about the "To" number.
var recipientCodes = map[int]bool{
	21211: true, // invalid "To" number
	21408: true, // no permission for the region (Geo Permissions)
	21610: true, // the recipient replied STOP
	21612: true, // cannot route to this number
	21614: true, // not a mobile number
	21635: true, // "To" number cannot be a landline
	30003: true, // unreachable handset
	30005: true, // unknown handset
	30006: true, // landline or unreachable carrier
}

// Recipient reports whether Twilio refused the number.
func (e *APIError) Recipient() bool { return recipientCodes[e.Code] }

// Temporary reports whether a later retry may succeed (rate limit, queue
// full, server error).
func (e *APIError) Temporary() bool {
	return e.Status == http.StatusTooManyRequests || e.Status >= 500 || e.Code == 20429 || e.Code == 30001
}

// Unwrap makes errors.Is(err, mfa.ErrRecipientRejected) hold for a refused number.
func (e *APIError) Unwrap() error {
	if e.Recipient() {
		return mfa.ErrRecipientRejected
	}
	return nil
}

// translate turns a twilio-go error into an error without the number.
func translate(ctx context.Context, err error) error {
	var rest *client.TwilioRestError
	if errors.As(err, &rest) {
		return &APIError{Status: rest.Status, Code: rest.Code}
	}
	var v1 *client.RestErrorV1
	if errors.As(err, &v1) {
		return &APIError{Status: v1.HttpStatusCode, Code: v1.Code}
	}
	if ctx.Err() != nil {
		return fmt.Errorf("twilio: %w", ctx.Err())
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		// "Post <url>: <cause>": the URL holds the account SID only.
		return fmt.Errorf("twilio: %w", uerr)
	}
	// Decoding errors of twilio-go name the HTTP status, not the request.
	return fmt.Errorf("twilio: %w", err)
}

// transport attaches the caller's context to each request and, with a
// base URL, sends it there instead of to Twilio.
type transport struct {
	ctx  context.Context
	base *url.URL
	next http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(t.ctx)
	if t.base != nil {
		r.URL.Scheme = t.base.Scheme
		r.URL.Host = t.base.Host
		r.Host = t.base.Host
	}
	return t.next.RoundTrip(r)
}

func sid(s, prefix string) bool {
	if len(s) != 34 || !strings.HasPrefix(s, prefix) {
		return false
	}
	for _, c := range strings.ToLower(s[2:]) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func alnum(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return s != ""
}

// senderID reports whether s is an E.164 number or an alphanumeric sender
// ID (1–11 letters, digits and spaces, at least one letter).
func senderID(s string) bool {
	if strings.HasPrefix(s, "+") {
		return len(s) >= 8 && len(s) <= 16 && alnum(s[1:]) && strings.Trim(s[1:], "0123456789") == ""
	}
	if len(s) == 0 || len(s) > 11 {
		return false
	}
	letter := false
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			letter = true
		case c >= '0' && c <= '9' || c == ' ':
		default:
			return false
		}
	}
	return letter
}
