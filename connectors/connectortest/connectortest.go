package connectortest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/kanton/kundencenter/connectors"
)

// Path is where the provider lives under its server, as at SwissID.
const Path = "/idp/oauth2"

// User is the person who "logs in" at the provider.
type User struct {
	Subject       string
	Email         string
	EmailVerified bool
	GivenName     string
	FamilyName    string
	FirstName     string // urn:swissid:first_name (official first names); "" = not sent
	Language      string // SwissID's "language" claim
	QoR           string // urn:swissid:qor: qor0, qor1, qor2
	DateOfBirth   string // urn:swissid:date_of_birth, released only with qor1 or qor2
}

// Signing choices for the knobs.
const (
	SignDefault    = ""           // ID token RS256 with the provider key; userinfo HS256 with the client secret
	SignRS256      = "RS256"      // with the provider key (published in the JWKS)
	SignHS256      = "HS256"      // with the client secret
	SignNone       = "none"       // alg "none", no signature
	SignOtherKey   = "other-key"  // RS256 with a key not in the JWKS, under the provider key's kid
	SignWrongHMAC  = "wrong-hmac" // HS256 with a secret other than the client's
	SignPlainJSON  = "json"       // userinfo as unsigned application/json
	defaultSubject = "swissid-subject-1"
)

// Knobs make the provider misbehave, or answer as a test needs.
type Knobs struct {
	// Error, if set, makes the login page redirect back with this error
	// code (access_denied, authentication_cancelled, …) instead of logging in.
	Error, ErrorDescription string
	// ACR, if set, is reported instead of the level acr_values asked for.
	ACR string
	// IDToken, if set, edits the ID token's claims, which are then signed
	// again as IDTokenSigning says.
	IDToken func(claims map[string]any)
	// IDTokenSigning re-signs the ID token (Sign* constants).
	IDTokenSigning string
	// Userinfo, if set, edits the userinfo claims before signing.
	Userinfo func(claims map[string]any)
	// UserinfoSigning selects how userinfo is answered (Sign* constants;
	// default HS256 with the client secret).
	UserinfoSigning string
}

// Options configure the provider's single client.
type Options struct {
	ClientID, ClientSecret string
	// RedirectURL is the client's registered redirect URI (SetRedirectURL
	// changes it later).
	RedirectURL string
}

// Provider is a running SwissID-like OpenID provider.
type Provider struct {
	// Issuer is the issuer URL (server URL + Path).
	Issuer string
	// URL is the server's base URL.
	URL string

	opts   Options
	srv    *httptest.Server
	op     *op.Provider
	key    *rsa.PrivateKey
	other  *rsa.PrivateKey
	keyID  string
	stor   *storage
	logins chan struct{}

	mu        sync.Mutex
	user      User
	knobs     Knobs
	redirect  string
	authz     []url.Values
	tokenAuth []string
}

// New starts a provider on loopback; it stops at the test's cleanup.
func New(t testing.TB, opts Options) *Provider {
	t.Helper()
	if opts.ClientID == "" {
		opts.ClientID = "kundencenter"
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = "swissid-test-secret-0123456789abcdef"
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("connectortest: RSA key: %v", err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("connectortest: RSA key: %v", err)
	}
	p := &Provider{
		opts: opts, key: key, other: other, keyID: "swissid-test-key",
		redirect: opts.RedirectURL,
		user: User{Subject: defaultSubject, Email: "anna.muster@example.ch", EmailVerified: true,
			GivenName: "Anna", FamilyName: "Muster", Language: "de", QoR: "qor0"},
	}
	p.stor = &storage{p: p, requests: map[string]*authRequest{}, codes: map[string]string{}, tokens: map[string]*accessToken{}}
	p.srv = httptest.NewUnstartedServer(nil)
	p.URL = "http://" + p.srv.Listener.Addr().String()
	p.Issuer = p.URL + Path

	var cryptoKey [32]byte
	if _, err := rand.Read(cryptoKey[:]); err != nil {
		t.Fatalf("connectortest: crypto key: %v", err)
	}
	cfg := &op.Config{
		CryptoKey:          cryptoKey,
		CodeMethodS256:     true,
		AuthMethodPost:     true,
		SupportedUILocales: []language.Tag{language.German, language.French, language.Italian, language.English},
		SupportedScopes:    []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail, oidc.ScopePhone, oidc.ScopeAddress},
	}
	// SwissID's token and keys paths differ from the library's defaults.
	// They are mapped onto the default ones here and advertised in the
	// discovery document, not set with op.WithCustom*Endpoint: those
	// options write into the package variable op.DefaultEndpoints that
	// every provider of the process shares, the IdP's own included (a
	// data race under -race; zitadel/oidc pull request 927).
	o, err := op.NewProvider(cfg, p.stor, op.StaticIssuer(p.Issuer), op.WithAllowInsecure())
	if err != nil {
		t.Fatalf("connectortest: provider: %v", err)
	}
	p.op = o
	mux := http.NewServeMux()
	mux.Handle(Path+"/", http.StripPrefix(Path, o))
	mux.HandleFunc(Path+"/.well-known/openid-configuration", p.discovery)
	mux.HandleFunc(Path+"/authorize", p.authorize)
	mux.HandleFunc(Path+"/access_token", p.token)
	mux.HandleFunc(Path+"/userinfo", p.userinfo)
	mux.HandleFunc(Path+"/connect/jwk_uri", func(w http.ResponseWriter, r *http.Request) { p.serveAt(w, r, opKeysPath) })
	// The library's own paths of the two are not the provider's.
	mux.Handle(Path+opTokenPath, http.NotFoundHandler())
	mux.Handle(Path+opKeysPath, http.NotFoundHandler())
	mux.HandleFunc("/login", p.login)
	p.srv.Config.Handler = mux
	p.srv.Start()
	t.Cleanup(p.srv.Close)
	return p
}

// Client returns an HTTP client for the provider's server.
func (p *Provider) Client() *http.Client { return p.srv.Client() }

// ClientID returns the registered client's ID.
func (p *Provider) ClientID() string { return p.opts.ClientID }

// ClientSecret returns the registered client's secret.
func (p *Provider) ClientSecret() string { return p.opts.ClientSecret }

// SetUser sets who logs in next.
func (p *Provider) SetUser(u User) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.user = u
}

// SetKnobs replaces the misbehaviour knobs (Knobs{} for a well-behaved provider).
func (p *Provider) SetKnobs(k Knobs) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.knobs = k
}

// SetRedirectURL changes the client's registered redirect URI.
func (p *Provider) SetRedirectURL(u string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.redirect = u
}

// Authorizations returns the query of every authorization request so far.
func (p *Provider) Authorizations() []url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.authz)
}

// TokenAuthMethods returns how the client authenticated at each token
// request: client_secret_basic or client_secret_post.
func (p *Provider) TokenAuthMethods() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.tokenAuth)
}

// Config returns a SwissID connector configuration for this provider.
func (p *Provider) Config(id string) connectors.Config {
	p.mu.Lock()
	defer p.mu.Unlock()
	return connectors.Config{
		ID: id, Type: connectors.TypeSwissID, Issuer: p.Issuer,
		ClientID: p.opts.ClientID, ClientSecret: p.opts.ClientSecret, RedirectURL: p.redirect,
	}
}

func (p *Provider) state() (User, Knobs) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.user, p.knobs
}

// authorize records the request and hands it to the provider.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err == nil {
		p.mu.Lock()
		p.authz = append(p.authz, r.Form)
		p.mu.Unlock()
	}
	http.StripPrefix(Path, p.op).ServeHTTP(w, r)
}

// login is the provider's "login page": it logs the chosen user in at the
// level acr_values asked for and continues the authorization, or
// redirects back with the knob's error (RFC 6749 §4.1.2.1).
func (p *Provider) login(w http.ResponseWriter, r *http.Request) {
	req, ok := p.stor.request(r.URL.Query().Get("id"))
	if !ok {
		http.Error(w, "unknown auth request", http.StatusBadRequest)
		return
	}
	user, knobs := p.state()
	if knobs.Error != "" {
		q := url.Values{"error": {knobs.Error}, "state": {req.State}}
		if knobs.ErrorDescription != "" {
			q.Set("error_description", knobs.ErrorDescription)
		}
		http.Redirect(w, r, req.RedirectURI+"?"+q.Encode(), http.StatusFound)
		return
	}
	acr, amr := "qoa1", []string{"pwd"}
	if slices.Contains(req.ACRValues, "qoa2") {
		acr, amr = "qoa2", []string{"pwd", "sms"}
	}
	if knobs.ACR != "" {
		acr = knobs.ACR
	}
	p.stor.complete(req.ID, user.Subject, acr, amr)
	http.Redirect(w, r, p.Issuer+"/authorize/callback?id="+url.QueryEscape(req.ID), http.StatusFound)
}

// token records the client authentication and lets the knobs rewrite the
// ID token in the provider's answer.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	method := "client_secret_post"
	if _, _, ok := r.BasicAuth(); ok {
		method = "client_secret_basic"
	}
	p.mu.Lock()
	p.tokenAuth = append(p.tokenAuth, method)
	p.mu.Unlock()

	rec := httptest.NewRecorder()
	p.serveAt(rec, r, opTokenPath)
	body := rec.Body.Bytes()
	_, knobs := p.state()
	if rec.Code == http.StatusOK && (knobs.IDToken != nil || knobs.IDTokenSigning != "") {
		var resp map[string]any
		if err := json.Unmarshal(body, &resp); err == nil {
			if idt, ok := resp["id_token"].(string); ok {
				if resp["id_token"], err = p.rewrite(idt, knobs); err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
				body, _ = json.Marshal(resp)
			}
		}
	}
	for k, v := range rec.Header() {
		if k != "Content-Length" {
			w.Header()[k] = v
		}
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(body)
}

// The library's default paths of the token and keys endpoints.
const opTokenPath, opKeysPath = "/oauth/token", "/keys"

// serveAt lets the library's provider answer r as a request to its path.
func (p *Provider) serveAt(w http.ResponseWriter, r *http.Request, path string) {
	r = r.Clone(r.Context())
	r.URL.Path, r.URL.RawPath = path, ""
	p.op.ServeHTTP(w, r)
}

// discovery is the library's discovery document with SwissID's token and
// keys endpoints.
func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	http.StripPrefix(Path, p.op).ServeHTTP(rec, r)
	var doc map[string]any
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &doc) != nil {
		http.Error(w, "connectortest: no discovery document", http.StatusInternalServerError)
		return
	}
	doc["token_endpoint"] = p.Issuer + "/access_token"
	doc["jwks_uri"] = p.Issuer + "/connect/jwk_uri"
	body, err := json.Marshal(doc)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	for k, v := range rec.Header() {
		if k != "Content-Length" {
			w.Header()[k] = v
		}
	}
	_, _ = w.Write(body)
}

func (p *Provider) rewrite(idToken string, knobs Knobs) (string, error) {
	parts := strings.Split(idToken, ".")
	if len(parts) != 3 {
		return "", errors.New("id token is not a JWS")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", err
	}
	claims := map[string]any{}
	if err := json.Unmarshal(raw, &claims); err != nil {
		return "", err
	}
	if knobs.IDToken != nil {
		knobs.IDToken(claims)
	}
	return p.sign(claims, knobs.IDTokenSigning, SignRS256)
}

// sign serialises claims as a JWT signed as how says (def when how is "").
func (p *Provider) sign(claims map[string]any, how, def string) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	if how == "" {
		how = def
	}
	var (
		alg jose.SignatureAlgorithm
		key any
	)
	switch how {
	case SignNone:
		header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
		return header + "." + base64.RawURLEncoding.EncodeToString(payload) + ".", nil
	case SignRS256:
		alg, key = jose.RS256, p.key
	case SignOtherKey:
		alg, key = jose.RS256, p.other
	case SignHS256:
		alg, key = jose.HS256, []byte(p.opts.ClientSecret)
	case SignWrongHMAC:
		alg, key = jose.HS256, []byte("not-the-client-secret-0123456789abcdef")
	default:
		return "", fmt.Errorf("unknown signing %q", how)
	}
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if alg == jose.RS256 {
		opts = opts.WithHeader("kid", p.keyID)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// userinfo answers like SwissID: the claims the scopes allow plus
// urn:swissid:*, as a JWT signed HS256 with the client secret (OIDC Core
// 1.0 §5.3.2).
func (p *Provider) userinfo(w http.ResponseWriter, r *http.Request) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	var at *accessToken
	if ok {
		if plain, err := p.op.Crypto().Decrypt(tok); err == nil {
			id, _, _ := strings.Cut(plain, ":")
			at = p.stor.token(id)
		}
	}
	if at == nil || time.Now().After(at.expires) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		http.Error(w, "invalid token", http.StatusUnauthorized)
		return
	}
	user, knobs := p.state()
	claims := map[string]any{"sub": at.subject, "iss": p.Issuer, "aud": at.clientID,
		"urn:swissid:qor": user.QoR}
	if slices.Contains(at.scopes, oidc.ScopeProfile) {
		claims["given_name"], claims["family_name"], claims["language"] = user.GivenName, user.FamilyName, user.Language
		if user.FirstName != "" {
			claims["urn:swissid:first_name"] = user.FirstName
		}
	}
	if slices.Contains(at.scopes, oidc.ScopeEmail) {
		claims["email"], claims["email_verified"] = user.Email, user.EmailVerified
	}
	if user.DateOfBirth != "" && (user.QoR == "qor1" || user.QoR == "qor2") {
		claims["urn:swissid:date_of_birth"] = user.DateOfBirth
	}
	if knobs.Userinfo != nil {
		knobs.Userinfo(claims)
	}
	if knobs.UserinfoSigning == SignPlainJSON {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(claims)
		return
	}
	jwt, err := p.sign(claims, knobs.UserinfoSigning, SignHS256)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/jwt")
	_, _ = w.Write([]byte(jwt))
}

// clientSecretOK compares a presented secret in constant time.
func (p *Provider) clientSecretOK(id, secret string) bool {
	return id == p.opts.ClientID && subtle.ConstantTimeCompare([]byte(secret), []byte(p.opts.ClientSecret)) == 1
}

// Login follows authURL through the provider as a browser would (the
// provider's login page logs the chosen user in without a form) and
// returns the query of the redirect back to the client: code and state,
// or error and state.
func (p *Provider) Login(t testing.TB, authURL string) url.Values {
	t.Helper()
	p.mu.Lock()
	redirect := p.redirect
	p.mu.Unlock()
	c := *p.srv.Client()
	var back *url.URL
	c.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), redirect) {
			back = req.URL
			return http.ErrUseLastResponse
		}
		return nil
	}
	resp, err := c.Get(authURL)
	if err != nil {
		t.Fatalf("connectortest: log in: %v", err)
	}
	_ = resp.Body.Close()
	if back == nil {
		t.Fatalf("connectortest: log in: the provider answered %d without redirecting back to %s", resp.StatusCode, redirect)
	}
	return back.Query()
}
