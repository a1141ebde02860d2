package rp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/kanton/kundencenter/services/page"
)

// Session is the logged-in person as the service knows them, kept in the
// sealed session cookie.
type Session struct {
	Subject    string // the IdP's sub
	Name       string
	GivenName  string
	FamilyName string
	Email      string
	// For is whom the person acts for at this service, from the ID token's
	// "represents" claim (an organisation's or a represented person's
	// name); "" when they act for themself.
	For string
	// Acting is the "represents" claim of the login: whom the person acts
	// for at this service; nil when they act for themself.
	Acting   *Represents
	Lang     string // the person's language from the "locale" claim (de, fr, it, en); "" when unknown
	Prefill         // contact data for pre-filling forms (scopes address, phone, profile)
	IDToken  string // the raw ID token, sent as id_token_hint on logout
	ACR      string
	AMR      []string
	AuthTime time.Time // when the person authenticated at the IdP
	Expires  time.Time // end of the service session
	SID      string    // the IdP session's "sid" from the ID token (back-channel logout)
	Started  time.Time // when the service session began
	CSRF     string    // token of the logout form
}

// Represents is the ID token's "represents" claim: the organisation or the
// represented person the logged-in person acts for at this service. The IdP
// issues it only when the membership (with this service assigned) or the
// representation (covering this service) is valid.
type Represents struct {
	Kind  string   `json:"k"`           // "organisation" or "person"
	ID    string   `json:"i,omitempty"` // the organisation's ID (kind organisation)
	Sub   string   `json:"s,omitempty"` // the represented person's subject (kind person)
	Name  string   `json:"n,omitempty"`
	UID   string   `json:"u,omitempty"` // the organisation's UID (CHE-…)
	Roles []string `json:"r,omitempty"` // the member's roles (kind organisation)
	// Representation is the representation's ID (kind person), for the
	// action receipts of the represented person's timeline.
	Representation string `json:"rp,omitempty"`
}

// Kinds of Represents.
const (
	ActingOrganisation = "organisation"
	ActingPerson       = "person"
)

// Prefill holds the person's contact data from the login, for pre-filling
// forms; each field is empty when the IdP did not send it.
type Prefill struct {
	Birthdate  string `json:"bd,omitempty"` // YYYY-MM-DD
	Phone      string `json:"ph,omitempty"`
	Street     string `json:"st,omitempty"`
	PostalCode string `json:"pc,omitempty"`
	Locality   string `json:"lo,omitempty"`
	Country    string `json:"co,omitempty"`
}

// Owner returns whose data the session sees at this service: the
// organisation's ID or the represented person's subject when acting for
// someone, else the person's own subject; kind is "organisation" or
// "person".
func (s *Session) Owner() (kind, id string) {
	if s.Acting != nil {
		if s.Acting.Kind == ActingOrganisation {
			return ActingOrganisation, s.Acting.ID
		}
		return ActingPerson, s.Acting.Sub
	}
	return ActingPerson, s.Subject
}

// DisplayName returns the name to greet the person with: the full name, else
// given and family name, else the e-mail address.
func (s *Session) DisplayName() string {
	if s.Name != "" {
		return s.Name
	}
	if n := strings.TrimSpace(s.GivenName + " " + s.FamilyName); n != "" {
		return n
	}
	return s.Email
}

// sessionWire is the cookie form of Session, with short keys and Unix times
// to stay well below the cookie size limit.
type sessionWire struct {
	Sub  string      `json:"s"`
	Name string      `json:"n,omitempty"`
	GN   string      `json:"g,omitempty"`
	FN   string      `json:"f,omitempty"`
	Mail string      `json:"m,omitempty"`
	For  string      `json:"o,omitempty"`
	Act  *Represents `json:"ac,omitempty"`
	Lang string      `json:"l,omitempty"`
	Pre  *Prefill    `json:"p,omitempty"`
	IDT  string      `json:"t"`
	ACR  string      `json:"a,omitempty"`
	AMR  []string    `json:"r,omitempty"`
	Auth int64       `json:"at,omitempty"`
	Exp  int64       `json:"e"`
	CSRF string      `json:"c"`
	SID  string      `json:"i,omitempty"`
	Iat  int64       `json:"b,omitempty"`
}

// sessionCtxKey is the context key of the Session set by RequireLogin.
type sessionCtxKey struct{}

// WithSession returns ctx carrying s, as RequireLogin passes it on.
func WithSession(ctx context.Context, s *Session) context.Context {
	if s != nil && s.Lang != "" {
		ctx = page.WithLang(ctx, s.Lang) // the account's language for the pages
	}
	return context.WithValue(ctx, sessionCtxKey{}, s)
}

// SessionFrom returns the Session RequireLogin put into ctx.
func SessionFrom(ctx context.Context) (*Session, bool) {
	s, ok := ctx.Value(sessionCtxKey{}).(*Session)
	return s, ok && s != nil
}

// FormToken is the CSRF token the forms of r's session carry ("" without
// a session, which no form matches): the Token of a webkit.FormGuard.
func FormToken(r *http.Request) string {
	if s, ok := SessionFrom(r.Context()); ok {
		return s.CSRF
	}
	return ""
}

// Session returns the valid, unexpired session of r.
func (c *Client) Session(r *http.Request) (*Session, bool) {
	raw, err := c.sesCookies.CheckCookie(r, c.sesName)
	if err != nil {
		return nil, false
	}
	var w sessionWire
	if err := json.Unmarshal([]byte(raw), &w); err != nil || w.Sub == "" {
		return nil, false
	}
	s := &Session{
		Subject: w.Sub, Name: w.Name, GivenName: w.GN, FamilyName: w.FN, Email: w.Mail, For: w.For,
		IDToken: w.IDT, ACR: w.ACR, AMR: w.AMR, Expires: time.Unix(w.Exp, 0), CSRF: w.CSRF,
		SID: w.SID, Started: time.Unix(w.Iat, 0), Acting: w.Act, Lang: w.Lang,
	}
	if w.Pre != nil {
		s.Prefill = *w.Pre
	}
	if w.Auth != 0 {
		s.AuthTime = time.Unix(w.Auth, 0)
	}
	if !c.cfg.Now().Before(s.Expires) {
		return nil, false
	}
	if c.revoked.revoked(s.SID, s.Subject, s.Started, c.cfg.Now()) { // ended at the IdP (backchannel.go)
		return nil, false
	}
	return s, true
}

// setSession writes s as the session cookie.
func (c *Client) setSession(w http.ResponseWriter, s *Session) error {
	wire := sessionWire{
		Sub: s.Subject, Name: s.Name, GN: s.GivenName, FN: s.FamilyName, Mail: s.Email, For: s.For,
		IDT: s.IDToken, ACR: s.ACR, AMR: s.AMR, Exp: s.Expires.Unix(), CSRF: s.CSRF,
		SID: s.SID, Iat: s.Started.Unix(), Act: s.Acting, Lang: s.Lang,
	}
	if s.Prefill != (Prefill{}) {
		pre := s.Prefill
		wire.Pre = &pre
	}
	if !s.AuthTime.IsZero() {
		wire.Auth = s.AuthTime.Unix()
	}
	raw, err := json.Marshal(wire)
	if err != nil {
		return fmt.Errorf("encode session: %w", err)
	}
	cookie, err := c.sesCookies.CreateCookie(c.sesName, string(raw))
	if err != nil {
		return fmt.Errorf("seal session: %w", err)
	}
	if n := len(cookie.Name) + len(cookie.Value); n > maxCookieBytes {
		return fmt.Errorf("seal session: cookie of %d bytes exceeds %d", n, maxCookieBytes)
	}
	http.SetCookie(w, cookie)
	return nil
}

// clearSession deletes the session cookie.
func (c *Client) clearSession(w http.ResponseWriter) {
	c.sesCookies.DeleteCookie(w, c.sesName)
}

// RequireLogin wraps next so that it only runs with a valid session, which it
// finds with SessionFrom; without one, GET and HEAD requests are sent to the
// login with the requested path as return target, other methods to the login
// without one.
func (c *Client) RequireLogin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok := c.Session(r)
		if !ok {
			target := LoginPath
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				target += "?return=" + url.QueryEscape(r.URL.RequestURI())
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		next.ServeHTTP(w, r.WithContext(WithSession(r.Context(), s)))
	})
}
