package twilio_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kanton/kundencenter/mfa"
	"github.com/kanton/kundencenter/mfa/twilio"
	"github.com/kanton/kundencenter/mfa/twilio/twiliotest"
)

const (
	to    = "+41791234567"
	body  = "Ihr Code für das Kundencenter: 123456. Gültig 5 Minuten. Geben Sie ihn nie weiter."
	mgSID = "MGa1b2c3d4e5f60718293a4b5c6d7e8f90"
)

func newSender(t *testing.T, cfg twilio.Config) *twilio.Sender {
	t.Helper()
	s, err := twilio.New(cfg)
	if err != nil {
		t.Fatalf("twilio.New: %v", err)
	}
	return s
}

// TestSend sends through the real twilio-go client to the fake Twilio.
func TestSend(t *testing.T) {
	srv := twiliotest.New()
	t.Cleanup(srv.Close)
	keySID, keySecret := srv.AddAPIKey()
	tests := []struct {
		name string
		cfg  twilio.Config
		want twiliotest.Message
	}{
		{"auth token and sender number",
			twilio.Config{AccountSID: srv.AccountSID, AuthToken: srv.AuthToken, From: "+41790000000", BaseURL: srv.URL},
			twiliotest.Message{From: "+41790000000"}},
		{"alphanumeric sender and validity",
			twilio.Config{AccountSID: srv.AccountSID, AuthToken: srv.AuthToken, From: "Kanton", BaseURL: srv.URL, Validity: 5 * time.Minute},
			twiliotest.Message{From: "Kanton", ValidityPeriod: "300"}},
		{"API key and Messaging Service",
			twilio.Config{AccountSID: srv.AccountSID, APIKey: keySID, APISecret: keySecret, MessagingServiceSID: mgSID, BaseURL: srv.URL},
			twiliotest.Message{MessagingServiceSID: mgSID}},
		{"edge and region with a base URL",
			twilio.Config{AccountSID: srv.AccountSID, AuthToken: srv.AuthToken, From: "Kanton", BaseURL: srv.URL + "/", Edge: "dublin", Region: "ie1"},
			twiliotest.Message{From: "Kanton"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := srv.Count()
			if err := newSender(t, tt.cfg).SendSMS(t.Context(), to, body); err != nil {
				t.Fatalf("SendSMS: %v", err)
			}
			if n := srv.Count(); n != before+1 {
				t.Fatalf("%d messages recorded, want %d", n, before+1)
			}
			m, ok := srv.Last(to)
			if !ok {
				t.Fatal("no message to the number")
			}
			if m.Body != body || m.AccountSID != srv.AccountSID || m.From != tt.want.From ||
				m.MessagingServiceSID != tt.want.MessagingServiceSID || m.ValidityPeriod != tt.want.ValidityPeriod ||
				!strings.HasPrefix(m.SID, "SM") {
				t.Errorf("message = %+v, want %+v", m, tt.want)
			}
			if code, ok := srv.LastCode(to); !ok || code != "123456" {
				t.Errorf("LastCode = %q, %v", code, ok)
			}
		})
	}
}

// TestErrors maps Twilio's error answers to errors without the number.
func TestErrors(t *testing.T) {
	srv := twiliotest.New()
	t.Cleanup(srv.Close)
	good := twilio.Config{AccountSID: srv.AccountSID, AuthToken: srv.AuthToken, From: "Kanton", BaseURL: srv.URL}
	tests := []struct {
		name      string
		cfg       func() twilio.Config
		setup     func()
		status    int
		code      int
		recipient bool
		temporary bool
	}{
		{"wrong auth token", func() twilio.Config {
			c := good
			c.AuthToken = strings.Repeat("0", 32)
			return c
		}, nil, 401, 20003, false, false},
		{"unknown API key", func() twilio.Config {
			c := good
			c.AuthToken, c.APIKey, c.APISecret = "", "SKa1b2c3d4e5f60718293a4b5c6d7e8f90", "secret"
			return c
		}, nil, 401, 20003, false, false},
		{"other account", func() twilio.Config {
			c := good
			c.AccountSID = "ACa1b2c3d4e5f60718293a4b5c6d7e8f90"
			return c
		}, nil, 401, 20003, false, false},
		{"invalid number", func() twilio.Config { return good },
			func() { srv.FailTo(to, &twiliotest.InvalidNumber) }, 400, 21211, true, false},
		{"region not enabled", func() twilio.Config { return good },
			func() { srv.FailTo(to, &twiliotest.RegionNotAllowed) }, 400, 21408, true, false},
		{"rate limited", func() twilio.Config { return good },
			func() { srv.FailAll(&twiliotest.TooManyRequests) }, 429, 20429, false, true},
		{"server error", func() twilio.Config { return good },
			func() {
				srv.FailAll(&twiliotest.Failure{Status: 503, Code: 20503, Message: "Service unavailable for " + to})
			}, 503, 20503, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Cleanup(func() {
				srv.FailAll(nil)
				srv.FailTo(to, nil)
			})
			if tt.setup != nil {
				tt.setup()
			}
			before := srv.Count()
			err := newSender(t, tt.cfg()).SendSMS(t.Context(), to, body)
			var ae *twilio.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("SendSMS = %v, want an *APIError", err)
			}
			if ae.Status != tt.status || ae.Code != tt.code || ae.Recipient() != tt.recipient || ae.Temporary() != tt.temporary {
				t.Errorf("APIError = %+v (recipient %v, temporary %v), want %d/%d (%v, %v)",
					ae, ae.Recipient(), ae.Temporary(), tt.status, tt.code, tt.recipient, tt.temporary)
			}
			if errors.Is(err, mfa.ErrRecipientRejected) != tt.recipient {
				t.Errorf("errors.Is(ErrRecipientRejected) = %v, want %v", !tt.recipient, tt.recipient)
			}
			if strings.Contains(err.Error(), "791234567") || strings.Contains(err.Error(), "123456") {
				t.Errorf("error leaks the number or the body: %v", err)
			}
			if n := srv.Count(); n != before {
				t.Errorf("a refused message was recorded")
			}
		})
	}
}

// TestTransportFailures: cancellation, timeouts and an unreachable server
// end the call with an error that names neither number nor body.
func TestTransportFailures(t *testing.T) {
	stop := make(chan struct{})
	block := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // lets the server notice a client hanging up
		select {                           // never answers
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	t.Cleanup(block.Close)
	t.Cleanup(func() { close(stop) }) // runs before block.Close
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	const ac = "ACa1b2c3d4e5f60718293a4b5c6d7e8f90"
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		cfg  twilio.Config
		ctx  context.Context
		want error
	}{
		{"cancelled context", twilio.Config{AccountSID: ac, AuthToken: "token", From: "Kanton", BaseURL: block.URL}, cancelled, context.Canceled},
		{"timeout", twilio.Config{AccountSID: ac, AuthToken: "token", From: "Kanton", BaseURL: block.URL, Timeout: 100 * time.Millisecond}, context.Background(), context.DeadlineExceeded},
		{"unreachable", twilio.Config{AccountSID: ac, AuthToken: "token", From: "Kanton", BaseURL: closed.URL}, context.Background(), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := newSender(t, tt.cfg).SendSMS(tt.ctx, to, body)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("SendSMS = %v, want %v", err, tt.want)
			}
			if strings.Contains(err.Error(), "791234567") || strings.Contains(err.Error(), "123456") {
				t.Errorf("error leaks the number or the body: %v", err)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	const ac = "ACa1b2c3d4e5f60718293a4b5c6d7e8f90"
	tests := []struct {
		name string
		cfg  twilio.Config
		want []string
	}{
		{"auth token", twilio.Config{AccountSID: ac, AuthToken: "abc123", From: "+41790000000"}, nil},
		{"API key", twilio.Config{AccountSID: ac, APIKey: "SKa1b2c3d4e5f60718293a4b5c6d7e8f90", APISecret: "s3cret", MessagingServiceSID: mgSID}, nil},
		{"empty", twilio.Config{}, []string{"account SID", "credentials", "sender"}},
		{"both credentials and senders", twilio.Config{AccountSID: ac, AuthToken: "a", APIKey: "SKa1b2c3d4e5f60718293a4b5c6d7e8f90",
			From: "Kanton", MessagingServiceSID: mgSID}, []string{"not both", "From or the Messaging Service SID, not both"}},
		{"bad values", twilio.Config{AccountSID: "ACxyz", AuthToken: "to-ken", From: "Kanton Zürich AG", BaseURL: "ftp://x/y",
			Timeout: -time.Second, Validity: 11 * time.Hour}, []string{"account SID", "auth token", "From", "base URL", "timeout", "validity"}},
		{"bad API key", twilio.Config{AccountSID: ac, APIKey: "AK1", MessagingServiceSID: "MG1"}, []string{"API key", "API secret", "Messaging Service SID"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate accepted the configuration")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
			if strings.Contains(err.Error(), "to-ken") {
				t.Errorf("error echoes the token: %v", err)
			}
		})
	}
}
