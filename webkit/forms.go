package webkit

import (
	"crypto/subtle"
	"errors"
	"mime"
	"net/http"
)

// Refusals of FormGuard, passed to its Refuse function.
var (
	// ErrCrossOrigin: the browser says the request came from another site
	// (Sec-Fetch-Site / Origin, Go's CrossOriginProtection).
	ErrCrossOrigin = errors.New("webkit: cross-origin form post")
	// ErrFormToken: the form's "csrf" field is missing or wrong.
	ErrFormToken = errors.New("webkit: missing or wrong CSRF token")
	// ErrFormBody: the body could not be read as a form (malformed or
	// over MaxBody; errors.As finds *http.MaxBytesError then).
	ErrFormBody = errors.New("webkit: unreadable form")
)

// FormGuard is the CSRF protection of every state-changing request of an
// origin, applied once where routes are registered, never by a handler:
// the request must come from the same site and carry the expected token
// in its "csrf" form field. GET, HEAD and OPTIONS pass unchecked.
type FormGuard struct {
	// Token returns the token the request's form must carry, "" when
	// none can be valid (no session).
	Token func(r *http.Request) string
	// Refuse answers a refused request; err is ErrCrossOrigin,
	// ErrFormToken or wraps ErrFormBody.
	Refuse func(w http.ResponseWriter, r *http.Request, err error)
	// MaxBody bounds the body (default 256 KiB); multipart forms are
	// parsed with MaxMemory (default 1 MiB) in memory, the rest on disk.
	MaxBody   func(r *http.Request) int64
	MaxMemory int64

	cop *http.CrossOriginProtection
}

const defaultMaxBody = 256 << 10

// Wrap returns next guarded.
func (g *FormGuard) Wrap(next http.Handler) http.Handler {
	if g.cop == nil {
		g.cop = http.NewCrossOriginProtection()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			next.ServeHTTP(w, r)
			return
		}
		if err := g.cop.Check(r); err != nil {
			g.Refuse(w, r, ErrCrossOrigin)
			return
		}
		limit := int64(defaultMaxBody)
		if g.MaxBody != nil {
			limit = g.MaxBody(r)
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		if err := parseForm(r, g.MaxMemory); err != nil {
			g.Refuse(w, r, errors.Join(ErrFormBody, err))
			return
		}
		if !TokenEqual(r.PostFormValue("csrf"), g.Token(r)) {
			g.Refuse(w, r, ErrFormToken)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func parseForm(r *http.Request, maxMemory int64) error {
	if maxMemory <= 0 {
		maxMemory = 1 << 20
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		return r.ParseMultipartForm(maxMemory)
	}
	return r.ParseForm()
}

// TokenEqual compares a presented token with the expected one in constant
// time; an empty expected token matches nothing.
func TokenEqual(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
