package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Protocol edges where the library is laxer than the specifications and a
// strict relying party notices (issue 17).

// VerifyAuthRequest refuses a missing redirect_uri as the user's error
// (400, an error page, never a redirect: RFC 6749 §4.1.2.1); the library
// would answer 500 server_error.
func (s *server) VerifyAuthRequest(ctx context.Context, r *op.Request[oidc.AuthRequest]) (*op.ClientRequest[oidc.AuthRequest], error) {
	cr, err := s.LegacyServer.VerifyAuthRequest(ctx, r)
	if err != nil {
		return nil, err
	}
	if cr.Data.RedirectURI == "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("redirect_uri is missing")
	}
	return cr, nil
}

// Introspect answers only an authenticated client (RFC 7662 §2.1); the
// library answers unauthorized_client (400) for a wrong secret, which
// clientAuthErrors turns into invalid_client with 401.
func (s *server) Introspect(ctx context.Context, r *op.Request[op.IntrospectionRequest]) (*op.Response, error) {
	cc := r.Data.ClientCredentials
	if cc.ClientAssertion != "" || (storage{s.p}).AuthorizeClientIDSecret(ctx, cc.ClientID, cc.ClientSecret) != nil {
		return nil, oidc.ErrInvalidClient().WithDescription("client authentication failed")
	}
	return s.LegacyServer.Introspect(ctx, r)
}

// clientAuthErrors finishes the responses of the endpoints where clients
// authenticate (token, introspection, revocation): a failed client
// authentication is 401 with a WWW-Authenticate challenge (RFC 6749 §5.2,
// RFC 7235 §3.1; the library answers 400 or unauthorized_client), and
// token and introspection responses are not cached (RFC 6749 §5.1:
// Cache-Control: no-store and Pragma: no-cache).
//
// An outage of a store becomes 503 temporarily_unavailable (outage.go).
func (p *Provider) clientAuthErrors(paths []string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !containsPath(paths, r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		ctx, outage := withOutageFlag(r.Context())
		r = r.WithContext(ctx)
		rec := &recorder{header: http.Header{}, status: http.StatusOK}
		if _, _, basic := r.BasicAuth(); !basic && strings.HasSuffix(r.URL.Path, "/introspect") && r.PostFormValue("client_id") == "" {
			// Introspection needs an authenticated client (RFC 7662 §2.1).
			rec.status = http.StatusUnauthorized
			_ = json.NewEncoder(&rec.body).Encode(oidc.ErrInvalidClient().WithDescription("client authentication required"))
			rec.header.Set("Content-Type", "application/json")
		} else {
			next.ServeHTTP(rec, r)
		}
		p.finishOutage(r, outage.Load(), rec)
		h := w.Header()
		for k, v := range rec.header {
			h[k] = v
		}
		h.Set("Cache-Control", "no-store")
		h.Set("Pragma", "no-cache")
		status := rec.status
		if status >= 400 {
			var e struct {
				Error string `json:"error"`
			}
			_ = json.Unmarshal(rec.body.Bytes(), &e)
			if e.Error == string(oidc.InvalidClient) || (e.Error == "unauthorized_client" && strings.HasSuffix(r.URL.Path, "/introspect")) {
				status = http.StatusUnauthorized
				h.Set("WWW-Authenticate", `Basic realm="kundencenter", charset="UTF-8"`)
			}
		}
		w.WriteHeader(status)
		_, _ = w.Write(rec.body.Bytes())
	})
}

func containsPath(paths []string, p string) bool {
	for _, x := range paths {
		if strings.HasSuffix(p, x) {
			return true
		}
	}
	return false
}

// recorder buffers a response (those of the client endpoints are small).
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(status int)      { r.status = status }

// withIss adds the RFC 9207 iss parameter to an authorization response
// (success or error) redirected to a client.
func (p *Provider) withIss(location string) string {
	u, err := url.Parse(location)
	if err != nil || u.Query().Has("iss") {
		return location
	}
	q := "iss=" + url.QueryEscape(p.cfg.Issuer)
	if u.RawQuery != "" {
		q = u.RawQuery + "&" + q
	}
	u.RawQuery = q
	return u.String()
}

// issWriter adds iss to the Location of the library's authorize callback,
// which only ever redirects to the client.
type issWriter struct {
	http.ResponseWriter
	p *Provider
}

func (w issWriter) WriteHeader(status int) {
	if loc := w.Header().Get("Location"); status/100 == 3 && loc != "" {
		w.Header().Set("Location", w.p.withIss(loc))
	}
	w.ResponseWriter.WriteHeader(status)
}

// authError ends a validated authorize request with an error redirected
// to the client (OIDC Core §3.1.2.6), with state and iss.
func (p *Provider) authError(r *oidc.AuthRequest, e *oidc.Error) (*op.Redirect, error) {
	e.State = r.State
	u, err := op.AuthResponseURL(r.RedirectURI, r.ResponseType, r.ResponseMode, e, p.op.Encoder())
	if err != nil {
		return nil, err
	}
	return op.NewRedirect(p.withIss(u)), nil
}

// discoveryDocument is the library's metadata plus what it has no field for.
type discoveryDocument struct {
	*oidc.DiscoveryConfiguration
	// RFC 9207 §3: iss in every authorization response.
	AuthorizationResponseIssParameterSupported bool `json:"authorization_response_iss_parameter_supported"`
}
