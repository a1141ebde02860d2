package api

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kanton/kundencenter/webkit"
)

// idpPeer is an RFC 7662 introspection endpoint and a client-credentials
// token endpoint on loopback, speaking the protocol the IdP speaks.
type idpPeer struct {
	srv    *httptest.Server
	calls  atomic.Int32
	tokens map[string]map[string]any // token → introspection answer
	down   atomic.Bool
}

func newIDPPeer(t *testing.T) *idpPeer {
	p := &idpPeer{tokens: map[string]map[string]any{}}
	mux := http.NewServeMux()
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		webkit.WriteJSON(w, 200, map[string]string{"issuer": p.srv.URL, "token_endpoint": p.srv.URL + "/oauth/token",
			"introspection_endpoint": p.srv.URL + "/oauth/introspect"})
	})
	mux.HandleFunc("POST /oauth/introspect", func(w http.ResponseWriter, r *http.Request) {
		p.calls.Add(1)
		if p.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		if id, secret, ok := r.BasicAuth(); !ok || id != "status" || secret != "s3cret" {
			w.Header().Set("WWW-Authenticate", "Basic")
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		answer, ok := p.tokens[r.PostFormValue("token")]
		if !ok {
			answer = map[string]any{"active": false}
		}
		webkit.WriteJSON(w, 200, answer)
	})
	return p
}

func TestAuthenticator(t *testing.T) {
	t.Parallel()
	peer := newIDPPeer(t)
	exp := time.Now().Add(time.Hour).Unix()
	peer.tokens["good"] = map[string]any{"active": true, "client_id": "backoffice", "sub": "backoffice",
		"scope": "cases:write cases:read", "aud": []string{"backoffice", "status"}, "exp": exp}
	peer.tokens["other-aud"] = map[string]any{"active": true, "client_id": "backoffice", "scope": "cases:write",
		"aud": "documents", "exp": exp}
	peer.tokens["expired"] = map[string]any{"active": true, "client_id": "backoffice", "scope": "cases:write",
		"aud": "status", "exp": time.Now().Add(-time.Minute).Unix()}
	a := NewAuthenticator(AuthConfig{Issuer: peer.srv.URL, ClientID: "status", ClientSecret: "s3cret"})
	h := a.Require("cases:write", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := CallerFrom(r.Context())
		_, _ = w.Write([]byte(c.ClientID))
	}))
	tests := []struct {
		name, auth string
		status     int
		wwwAuth    string
	}{
		{name: "good", auth: "Bearer good", status: 200},
		{name: "scheme case-insensitive", auth: "bearer good", status: 200},
		{name: "no token", auth: "", status: 401, wwwAuth: `Bearer realm="kundencenter"`},
		{name: "basic", auth: "Basic Zm9vOmJhcg==", status: 401, wwwAuth: `Bearer realm="kundencenter"`},
		{name: "unknown token", auth: "Bearer nope", status: 401, wwwAuth: `error="invalid_token"`},
		{name: "other audience", auth: "Bearer other-aud", status: 401, wwwAuth: `error="invalid_token"`},
		{name: "expired", auth: "Bearer expired", status: 401, wwwAuth: `error="invalid_token"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/api/v1/cases", nil)
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if got := w.Header().Get("WWW-Authenticate"); !strings.Contains(got, tt.wwwAuth) {
				t.Errorf("WWW-Authenticate %q lacks %q", got, tt.wwwAuth)
			}
			if tt.status == 200 && w.Body.String() != "backoffice" {
				t.Errorf("caller %q", w.Body)
			}
		})
	}

	t.Run("insufficient scope", func(t *testing.T) {
		h := a.Require("documents:write", http.NotFoundHandler())
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.Header.Set("Authorization", "Bearer good")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 403 || !strings.Contains(w.Header().Get("WWW-Authenticate"), `error="insufficient_scope"`) {
			t.Errorf("got %d %q", w.Code, w.Header().Get("WWW-Authenticate"))
		}
	})
	t.Run("answers are cached", func(t *testing.T) {
		before := peer.calls.Load()
		for range 5 {
			if _, err := a.Check(t.Context(), "good"); err != nil {
				t.Fatal(err)
			}
		}
		if n := peer.calls.Load() - before; n != 0 {
			t.Errorf("%d introspections for cached token", n)
		}
	})
}

func TestAuthenticatorUnavailable(t *testing.T) {
	t.Parallel()
	peer := newIDPPeer(t)
	peer.down.Store(true)
	a := NewAuthenticator(AuthConfig{Issuer: peer.srv.URL, ClientID: "status", ClientSecret: "s3cret"})
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer good")
	w := httptest.NewRecorder()
	a.Require("", http.NotFoundHandler()).ServeHTTP(w, r)
	if w.Code != 503 || w.Header().Get("WWW-Authenticate") != "" {
		t.Errorf("IdP down: %d %q, want 503 without a token error", w.Code, w.Header().Get("WWW-Authenticate"))
	}
	// A wrong registration of the service itself is not the caller's fault either.
	b := NewAuthenticator(AuthConfig{Issuer: peer.srv.URL, ClientID: "status", ClientSecret: "wrong"})
	peer.down.Store(false)
	if _, err := b.Check(t.Context(), "good"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("own client refused: %v, want ErrUnavailable", err)
	}
}
