package status

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/kanton/kundencenter/services/api"
	"github.com/kanton/kundencenter/webkit"
)

// peer is the IdP as the API and the notifications see it, on loopback:
// discovery, client-credentials tokens (RFC 6749 §4.4), introspection
// (RFC 7662) and the notification endpoint of CONTRACTS.md. Tokens are
// "tok~<client>~<scope,scope>".
type peer struct {
	*httptest.Server
	mu      sync.Mutex
	notes   []api.Notification
	seen    map[string]bool
	failing int // answer the next n notifications with 503
}

// newPeer starts a peer; the status service's own client is "status".
func newPeer(t *testing.T) *peer {
	t.Helper()
	p := &peer{seen: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		webkit.WriteJSON(w, 200, map[string]string{"issuer": p.URL, "token_endpoint": p.URL + "/token", "introspection_endpoint": p.URL + "/introspect"})
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		id, _, _ := r.BasicAuth()
		_ = r.ParseForm()
		webkit.WriteJSON(w, 200, map[string]any{"access_token": token(id, strings.Fields(r.PostForm.Get("scope"))...),
			"token_type": "Bearer", "expires_in": 300})
	})
	mux.HandleFunc("POST /introspect", func(w http.ResponseWriter, r *http.Request) {
		if id, _, _ := r.BasicAuth(); id != "status" {
			http.Error(w, "", http.StatusUnauthorized)
			return
		}
		_ = r.ParseForm()
		parts := strings.Split(r.PostForm.Get("token"), "~")
		if (len(parts) != 3 && len(parts) != 4) || parts[0] != "tok" {
			webkit.WriteJSON(w, 200, map[string]bool{"active": false})
			return
		}
		sub := parts[1] // client credentials: the client itself
		if len(parts) == 4 {
			sub = parts[3] // a person's token
		}
		webkit.WriteJSON(w, 200, map[string]any{"active": true, "client_id": parts[1], "sub": sub,
			"scope": strings.ReplaceAll(parts[2], ",", " "), "aud": []string{parts[1], "status"}})
	})
	mux.HandleFunc("POST "+api.NotificationsPath, func(w http.ResponseWriter, r *http.Request) {
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if parts := strings.Split(tok, "~"); len(parts) != 3 || !slices.Contains(strings.Split(parts[2], ","), api.ScopeNotify) {
			webkit.WriteProblem(w, r, webkit.Forbidden)
			return
		}
		var n api.Notification
		if !webkit.Decode(w, r, &n, 8<<10) {
			return
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.failing > 0 {
			p.failing--
			webkit.WriteProblem(w, r, webkit.Unavailable)
			return
		}
		if !p.seen[n.MessageID] {
			p.seen[n.MessageID] = true
			p.notes = append(p.notes, n)
		}
		webkit.WriteJSON(w, http.StatusAccepted, map[string]string{"messageId": n.MessageID})
	})
	p.Server = httptest.NewServer(mux)
	t.Cleanup(p.Close)
	return p
}

// token returns a bearer token the peer knows as the client's with scopes.
func token(client string, scopes ...string) string {
	return "tok~" + client + "~" + strings.Join(scopes, ",")
}

// personToken returns a token of the portal's client for a person.
func personToken(sub string, scopes ...string) string {
	return token("portal", scopes...) + "~" + sub
}

// notifications returns the notifications the peer accepted (one per messageId).
func (p *peer) notifications() []api.Notification {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.notes)
}

func (p *peer) fail(n int) {
	p.mu.Lock()
	p.failing = n
	p.mu.Unlock()
}

// encode returns v as JSON.
func encode(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
