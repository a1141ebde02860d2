package webkit

// The answers of the JSON APIs (the IdP's and the services'): RFC 9457
// problem details, JSON bodies and a strict body reader.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
)

// Problem is an RFC 9457 problem details object.
type Problem struct {
	Type     string       `json:"type,omitempty"` // a URI; "about:blank" when empty
	Title    string       `json:"title"`
	Status   int          `json:"status"`
	Detail   string       `json:"detail,omitempty"`
	Instance string       `json:"instance,omitempty"`
	Errors   []FieldError `json:"errors,omitempty"` // extension: one entry per invalid field
}

// FieldError names one invalid member of a request body.
type FieldError struct {
	Pointer string `json:"pointer"` // RFC 6901 JSON pointer, e.g. "/owner/sub"
	Detail  string `json:"detail"`
}

// Error makes a Problem usable as an error.
func (p Problem) Error() string {
	if p.Detail != "" {
		return fmt.Sprintf("%d %s: %s", p.Status, p.Title, p.Detail)
	}
	return fmt.Sprintf("%d %s", p.Status, p.Title)
}

// Problems for the common cases; Detail is left to the caller.
var (
	BadRequest  = Problem{Title: "Bad Request", Status: http.StatusBadRequest}
	Invalid     = Problem{Type: "urn:kundencenter:problem:invalid", Title: "Invalid request", Status: http.StatusUnprocessableEntity}
	NotFound    = Problem{Title: "Not Found", Status: http.StatusNotFound}
	Conflict    = Problem{Type: "urn:kundencenter:problem:conflict", Title: "Conflict", Status: http.StatusConflict}
	Forbidden   = Problem{Title: "Forbidden", Status: http.StatusForbidden}
	TooLarge    = Problem{Title: "Content Too Large", Status: http.StatusRequestEntityTooLarge}
	Unsupported = Problem{Title: "Unsupported Media Type", Status: http.StatusUnsupportedMediaType}
	Unavailable = Problem{Title: "Service Unavailable", Status: http.StatusServiceUnavailable}
	Internal    = Problem{Title: "Internal Server Error", Status: http.StatusInternalServerError}
)

// With returns a copy of p with the detail set.
func (p Problem) With(detail string) Problem {
	p.Detail = detail
	return p
}

// WriteProblem writes p as application/problem+json (RFC 9457 §3).
func WriteProblem(w http.ResponseWriter, r *http.Request, p Problem) {
	if p.Type == "" {
		p.Type = "about:blank"
	}
	if p.Instance == "" && r != nil {
		p.Instance = r.URL.Path
	}
	body, err := json.Marshal(p)
	if err != nil {
		body = []byte(`{"type":"about:blank","title":"Internal Server Error","status":500}`)
		p.Status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_, _ = w.Write(body)
}

// WriteJSON writes v as application/json with the status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		WriteProblem(w, nil, Internal)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// Decode reads r's JSON body into v (a non-nil pointer): the content type
// must be JSON, the body at most maxBytes, a single value with no unknown
// members. On success *v is replaced by the decoded value; on failure *v is
// left as it was (never partly decoded), and Decode writes the problem
// itself and returns false.
func Decode(w http.ResponseWriter, r *http.Request, v any, maxBytes int64) bool {
	target := reflect.ValueOf(v)
	if target.Kind() != reflect.Pointer || target.IsNil() {
		panic("webkit.Decode: v must be a non-nil pointer")
	}
	fresh := reflect.New(target.Elem().Type())
	ct := r.Header.Get("Content-Type")
	if mt, _, _ := strings.Cut(ct, ";"); !strings.EqualFold(strings.TrimSpace(mt), "application/json") {
		WriteProblem(w, r, Unsupported.With("the body must be application/json"))
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBytes))
	dec.DisallowUnknownFields()
	err := dec.Decode(fresh.Interface())
	if err == nil {
		if dec.Decode(&struct{}{}) != io.EOF {
			err = errors.New("a single JSON value is expected")
		}
	}
	if err == nil {
		target.Elem().Set(fresh.Elem())
		return true
	}
	var tooLarge *http.MaxBytesError
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooLarge):
		WriteProblem(w, r, TooLarge.With(fmt.Sprintf("the body exceeds %d bytes", maxBytes)))
	case errors.As(err, &syntax):
		WriteProblem(w, r, BadRequest.With(fmt.Sprintf("malformed JSON at byte %d", syntax.Offset)))
	case errors.As(err, &typ):
		p := Invalid.With("a member has the wrong type")
		p.Errors = []FieldError{{Pointer: "/" + strings.ReplaceAll(typ.Field, ".", "/"), Detail: "expected " + typ.Type.String()}}
		WriteProblem(w, r, p)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		WriteProblem(w, r, Invalid.With(strings.TrimPrefix(err.Error(), "json: ")))
	case errors.Is(err, io.EOF):
		WriteProblem(w, r, BadRequest.With("the body is empty"))
	default:
		WriteProblem(w, r, BadRequest.With("the body is not valid JSON"))
	}
	return false
}
