// Command rp is the smallest cantonal service that logs people in with the
// Kundencenter: OpenID Connect authorization code flow with PKCE (S256),
// the ID token verified against the IdP's keys, the "represents" claim
// shown when the person acts for an organisation or someone else.
//
// It is an example for service teams (docs/integrating-services.md), built
// by CI and driven once by its test. Run it against `kundencenter serve`
// after registering a client:
//
//	kundencenter admin clients add -id example -name "Beispiel" -redirect http://localhost:9090/callback
//	RP_ISSUER=http://localhost:8080 RP_CLIENT_ID=example RP_CLIENT_SECRET=… go run ./examples/rp
//
// A real service keeps its session in a sealed cookie or a store, checks
// the "state" against the browser's transaction (as here) and logs out at
// the IdP's end_session endpoint; see services/rp for the bundled services'
// complete implementation.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"log"
	"net/http"
	"os"
	"sync"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

func main() {
	cfg := Config{Issuer: env("RP_ISSUER", "http://localhost:8080"), ClientID: env("RP_CLIENT_ID", "example"),
		ClientSecret: os.Getenv("RP_CLIENT_SECRET"), BaseURL: env("RP_BASE_URL", "http://localhost:9090")}
	h, err := New(context.Background(), cfg)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("example service on %s", cfg.BaseURL)
	log.Fatal(http.ListenAndServe(env("RP_LISTEN", "127.0.0.1:9090"), h))
}

func env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// Config is the client registration at the IdP.
type Config struct {
	Issuer, ClientID, ClientSecret string
	BaseURL                        string // the redirect URI is BaseURL + "/callback"
}

// Handler serves "/" (login required), "/login" and "/callback".
type Handler struct {
	oauth    oauth2.Config
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
	mu       sync.Mutex
	pending  map[string]string  // state → PKCE verifier (a real service: a sealed cookie)
	sessions map[string]session // session cookie → person (a real service: a sealed cookie)
}

type session struct {
	Name       string
	Represents *struct {
		Kind, Name string
	}
	ACR string
}

// New discovers the IdP (OIDC Discovery 1.0) and returns the handler.
func New(ctx context.Context, cfg Config) (*Handler, error) {
	p, err := oidc.NewProvider(ctx, cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("discover %s: %w", cfg.Issuer, err)
	}
	return &Handler{
		oauth: oauth2.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Endpoint: p.Endpoint(),
			RedirectURL: cfg.BaseURL + "/callback", Scopes: []string{oidc.ScopeOpenID, "profile"}},
		provider: p, verifier: p.Verifier(&oidc.Config{ClientID: cfg.ClientID}),
		pending: map[string]string{}, sessions: map[string]session{},
	}, nil
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/login":
		h.login(w, r)
	case "/callback":
		h.callback(w, r)
	case "/":
		h.home(w, r)
	default:
		http.NotFound(w, r)
	}
}

func random() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// login starts the code flow with PKCE S256 (RFC 7636), which the
// Kundencenter requires of every client.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	state, verifier := random(), oauth2.GenerateVerifier()
	h.mu.Lock()
	h.pending[state] = verifier
	h.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: "rp_state", Value: state, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, h.oauth.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("ui_locales", "de")), http.StatusFound)
}

// callback redeems the code (with the PKCE verifier) and verifies the ID
// token (OIDC Core 1.0 §3.1.3.7).
func (h *Handler) callback(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie("rp_state")
	state := r.URL.Query().Get("state")
	h.mu.Lock()
	verifier, ok := h.pending[state]
	delete(h.pending, state)
	h.mu.Unlock()
	if err != nil || c.Value != state || !ok {
		http.Error(w, "login expired, please try again", http.StatusBadRequest)
		return
	}
	if e := r.URL.Query().Get("error"); e != "" {
		http.Error(w, "login refused: "+e, http.StatusForbidden)
		return
	}
	tok, err := h.oauth.Exchange(r.Context(), r.URL.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		http.Error(w, "code exchange failed", http.StatusBadGateway)
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := h.verifier.Verify(r.Context(), raw)
	if err != nil {
		http.Error(w, "invalid ID token", http.StatusBadGateway)
		return
	}
	var s session
	if err := idt.Claims(&s); err != nil {
		http.Error(w, "invalid claims", http.StatusBadGateway)
		return
	}
	var acr struct {
		ACR string `json:"acr"`
	}
	_ = idt.Claims(&acr)
	s.ACR = acr.ACR
	// The name comes from userinfo (OIDC Core 1.0 §5.3); its sub must be
	// the ID token's (§5.3.2).
	ui, err := h.provider.UserInfo(r.Context(), oauth2.StaticTokenSource(tok))
	if err != nil || ui.Subject != idt.Subject {
		http.Error(w, "userinfo failed", http.StatusBadGateway)
		return
	}
	var name struct {
		Name string `json:"name"`
	}
	_ = ui.Claims(&name)
	s.Name = name.Name
	id := random()
	h.mu.Lock()
	h.sessions[id] = s
	h.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: "rp_session", Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

var page = template.Must(template.New("home").Parse(`<!doctype html><html lang="de"><meta charset="utf-8"><title>Beispiel</title>
<h1>Grüezi {{.Name}}</h1>
{{with .Represents}}<p>Sie handeln für {{.Name}} ({{.Kind}}).</p>{{else}}<p>Sie handeln für sich selbst.</p>{{end}}
<p>Anmeldestufe: {{.ACR}}</p>`))

func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie("rp_session")
	var s session
	ok := false
	if err == nil {
		h.mu.Lock()
		s, ok = h.sessions[c.Value]
		h.mu.Unlock()
	}
	if !ok {
		http.Redirect(w, r, "/login", http.StatusFound)
		return
	}
	if err := page.Execute(w, s); err != nil && !errors.Is(err, http.ErrHandlerTimeout) {
		log.Print(err)
	}
}
