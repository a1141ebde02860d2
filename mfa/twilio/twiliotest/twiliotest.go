package twiliotest

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Message is a message the server accepted.
type Message struct {
	SID                 string // "SM…"
	AccountSID          string
	To                  string
	From                string
	MessagingServiceSID string
	Body                string
	ValidityPeriod      string
	Created             time.Time
}

// Failure is an error answer the server gives instead of accepting.
type Failure struct {
	Status  int    // HTTP status, e.g. 400 or 429
	Code    int    // Twilio error code, e.g. 21211 or 20429
	Message string // Twilio's message text; may contain %s for the To number
}

// Common failures, with Twilio's codes and messages.
var (
	// InvalidNumber is error 21211, whose message quotes the number as Twilio's does.
	InvalidNumber = Failure{Status: 400, Code: 21211, Message: "The 'To' number %s is not a valid phone number."}
	// TooManyRequests is error 20429.
	TooManyRequests = Failure{Status: 429, Code: 20429, Message: "Too Many Requests"}
	// RegionNotAllowed is error 21408 (Geo Permissions).
	RegionNotAllowed = Failure{Status: 400, Code: 21408, Message: "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: %s."}
)

// Server is a fake Twilio on loopback; create it with New and Close it.
type Server struct {
	// URL is the server's base URL, to put into mfa/twilio Config.BaseURL.
	URL string
	// AccountSID and AuthToken are the credentials it accepts.
	AccountSID string
	AuthToken  string

	srv *httptest.Server

	mu       sync.Mutex
	apiKeys  map[string]string // API key SID → secret
	messages []Message
	requests int
	failAll  *Failure
	failTo   map[string]Failure
}

// New starts a server that accepts a fresh account SID and auth token (see
// the fields) and, if given, the API key and secret.
func New() *Server {
	s := &Server{
		AccountSID: "AC" + randomHex(16),
		AuthToken:  randomHex(16),
		apiKeys:    map[string]string{},
		failTo:     map[string]Failure{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2010-04-01/Accounts/{account}/Messages.json", s.createMessage)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, Failure{Status: 404, Code: 20404, Message: "The requested resource " + r.URL.Path + " was not found"})
	})
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// AddAPIKey makes the server accept an API key ("SK…") and secret for its account.
func (s *Server) AddAPIKey() (sid, secret string) {
	sid, secret = "SK"+randomHex(16), randomHex(16)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apiKeys[sid] = secret
	return sid, secret
}

// FailAll makes every following request fail with f; nil accepts again.
func (s *Server) FailAll(f *Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failAll = f
}

// FailTo makes messages to the number to fail with f; nil accepts them again.
func (s *Server) FailTo(to string, f *Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f == nil {
		delete(s.failTo, to)
		return
	}
	s.failTo[to] = *f
}

// Messages returns the accepted messages, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Count returns how many messages were accepted.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.messages)
}

// Requests returns how many requests arrived, accepted or not.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Last returns the newest accepted message to the number to.
func (s *Server) Last(to string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.messages) - 1; i >= 0; i-- {
		if s.messages[i].To == to {
			return s.messages[i], true
		}
	}
	return Message{}, false
}

// LastCode returns the one-time code of the newest message to the number to.
func (s *Server) LastCode(to string) (string, bool) {
	m, ok := s.Last(to)
	if !ok {
		return "", false
	}
	return Code(m.Body)
}

var codeRE = regexp.MustCompile(`\b[0-9]{6}\b`)

// Code extracts the first six-digit code from an SMS body.
func Code(body string) (string, bool) {
	c := codeRE.FindString(body)
	return c, c != ""
}

// createMessage is POST /2010-04-01/Accounts/{AccountSid}/Messages.json
// (https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource).
func (s *Server) createMessage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	s.mu.Unlock()

	user, pass, ok := r.BasicAuth()
	if !ok || !s.authenticate(user, pass) {
		writeError(w, Failure{Status: 401, Code: 20003, Message: "Authenticate"})
		return
	}
	if r.PathValue("account") != s.AccountSID {
		writeError(w, Failure{Status: 404, Code: 20404, Message: "The requested resource " + r.URL.Path + " was not found"})
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		writeError(w, Failure{Status: 400, Code: 20001, Message: "Content-Type must be application/x-www-form-urlencoded"})
		return
	}
	if err := r.ParseForm(); err != nil {
		writeError(w, Failure{Status: 400, Code: 20001, Message: "Malformed form"})
		return
	}
	m := Message{
		AccountSID:          s.AccountSID,
		To:                  r.PostForm.Get("To"),
		From:                r.PostForm.Get("From"),
		MessagingServiceSID: r.PostForm.Get("MessagingServiceSid"),
		Body:                r.PostForm.Get("Body"),
		ValidityPeriod:      r.PostForm.Get("ValidityPeriod"),
	}
	switch {
	case m.To == "":
		writeError(w, Failure{Status: 400, Code: 21604, Message: "A 'To' phone number is required."})
		return
	case m.From == "" && m.MessagingServiceSID == "":
		writeError(w, Failure{Status: 400, Code: 21603, Message: "A 'From' phone number is required."})
		return
	case m.Body == "":
		writeError(w, Failure{Status: 400, Code: 21602, Message: "Message body is required."})
		return
	case len([]rune(m.Body)) > 1600:
		writeError(w, Failure{Status: 400, Code: 21617, Message: "The concatenated message body exceeds the 1600 character limit."})
		return
	case !e164(m.To):
		writeError(w, fill(InvalidNumber, m.To))
		return
	}
	s.mu.Lock()
	if f := s.failAll; f != nil {
		s.mu.Unlock()
		writeError(w, fill(*f, m.To))
		return
	}
	if f, ok := s.failTo[m.To]; ok {
		s.mu.Unlock()
		writeError(w, fill(f, m.To))
		return
	}
	m.SID = "SM" + randomHex(16)
	m.Created = time.Now().UTC()
	s.messages = append(s.messages, m)
	s.mu.Unlock()

	status := "queued"
	if m.MessagingServiceSID != "" {
		status = "accepted"
	}
	date := m.Created.Format(time.RFC1123Z)
	writeJSON(w, http.StatusCreated, map[string]any{
		"account_sid":           m.AccountSID,
		"api_version":           "2010-04-01",
		"body":                  m.Body,
		"date_created":          date,
		"date_sent":             nil,
		"date_updated":          date,
		"direction":             "outbound-api",
		"error_code":            nil,
		"error_message":         nil,
		"from":                  nilIfEmpty(m.From),
		"messaging_service_sid": nilIfEmpty(m.MessagingServiceSID),
		"num_media":             "0",
		"num_segments":          "1",
		"price":                 nil,
		"price_unit":            "USD",
		"sid":                   m.SID,
		"status":                status,
		"subresource_uris": map[string]string{
			"media": "/2010-04-01/Accounts/" + m.AccountSID + "/Messages/" + m.SID + "/Media.json",
		},
		"to":  m.To,
		"uri": "/2010-04-01/Accounts/" + m.AccountSID + "/Messages/" + m.SID + ".json",
	})
}

func (s *Server) authenticate(user, pass string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	want := s.AuthToken
	if user != s.AccountSID {
		secret, ok := s.apiKeys[user]
		if !ok {
			return false
		}
		want = secret
	}
	return subtle.ConstantTimeCompare([]byte(pass), []byte(want)) == 1
}

func fill(f Failure, to string) Failure {
	if strings.Contains(f.Message, "%s") {
		f.Message = fmt.Sprintf(f.Message, to)
	}
	return f
}

// writeError writes Twilio's error document.
func writeError(w http.ResponseWriter, f Failure) {
	writeJSON(w, f.Status, map[string]any{
		"code":      f.Code,
		"message":   f.Message,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", f.Code),
		"status":    f.Status,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func e164(s string) bool {
	if len(s) < 8 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
