package rptest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// User is a person who can log in at the Provider.
type User struct {
	ID         string
	Username   string
	Password   string
	GivenName  string
	FamilyName string
	Email      string
}

// Anna is the Provider's user.
var Anna = User{
	ID:         "u-anna-4821",
	Username:   "anna",
	Password:   "Sicher-2025-Bern",
	GivenName:  "Anna",
	FamilyName: "Muster",
	Email:      "anna.muster@example.ch",
}

// Provider is an OpenID provider on loopback.
type Provider struct {
	Issuer string
	Server *httptest.Server

	store *store
	mu    sync.Mutex
	// tamper changes the query of the next authorization requests.
	tamper    func(url.Values)
	authorize []url.Values
	hits      map[string]int
	fail      map[string]int // path → number of 503 answers left
}

// New starts a Provider for t, plain http (tls false) or https with the
// httptest certificate (use Client for a client that trusts it). It stops
// when t ends.
func New(t testing.TB, tls bool) *Provider {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("rptest: generate signing key: %v", err)
	}
	p := &Provider{hits: map[string]int{}, fail: map[string]int{}}
	p.store = &store{
		Storage: storage.NewStorageWithClients(users{Anna.Username: Anna}, map[string]*storage.Client{}),
		clients: map[string]*client{},
		key:     key,
		kid:     "rptest-" + rand.Text()[:8],
	}
	mux := http.NewServeMux()
	p.Server = httptest.NewUnstartedServer(mux)
	t.Cleanup(p.Server.Close)
	scheme := "http"
	if tls {
		scheme = "https"
	}
	p.Issuer = scheme + "://" + p.Server.Listener.Addr().String()

	var cryptoKey [32]byte
	_, _ = rand.Read(cryptoKey[:])
	provider, err := op.NewProvider(&op.Config{
		CryptoKey:                cryptoKey,
		DefaultLogoutRedirectURI: "/signed-out",
		CodeMethodS256:           true,
		SupportedUILocales:       []language.Tag{language.German},
	}, p.store, op.StaticIssuer(p.Issuer), op.WithAllowInsecure())
	if err != nil {
		t.Fatalf("rptest: start provider: %v", err)
	}
	interceptor := op.NewIssuerInterceptor(provider.IssuerFromRequest)
	mux.HandleFunc("GET /login/username", p.loginForm)
	mux.Handle("POST /login/username", interceptor.HandlerFunc(p.login(op.AuthCallbackURL(provider))))
	mux.HandleFunc("GET /signed-out", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("signed out"))
	})
	mux.Handle("/", p.intercept(provider))
	if tls {
		p.Server.StartTLS()
	} else {
		p.Server.Start()
	}
	return p
}

// Register adds a confidential web client whose redirect URI is
// baseURL+"/auth/callback" and post-logout redirect URI
// baseURL+"/logged-out", as the IdP will register the bundled services.
func (p *Provider) Register(clientID, secret, baseURL string) {
	p.store.mu.Lock()
	defer p.store.mu.Unlock()
	p.store.clients[clientID] = &client{
		id:         clientID,
		secret:     secret,
		redirect:   []string{baseURL + "/auth/callback"},
		postLogout: []string{baseURL + "/logged-out"},
	}
}

// Client returns an HTTP client that trusts the Provider's certificate.
func (p *Provider) Client() *http.Client {
	return p.Server.Client()
}

// TamperAuthorize makes f change the query of every following authorization
// request before the provider sees it; nil stops tampering.
func (p *Provider) TamperAuthorize(f func(url.Values)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tamper = f
}

// FailNext makes the next n requests to path answer 503.
func (p *Provider) FailNext(path string, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fail[path] = n
}

// Hits returns how many requests reached path.
func (p *Provider) Hits(path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hits[path]
}

// AuthorizeRequests returns the queries of the authorization requests
// received so far, as the relying party sent them.
func (p *Provider) AuthorizeRequests() []url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]url.Values(nil), p.authorize...)
}

// intercept counts requests, answers 503 when told to, records
// authorization requests and tampers with them.
func (p *Provider) intercept(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.hits[r.URL.Path]++
		if p.fail[r.URL.Path] > 0 {
			p.fail[r.URL.Path]--
			p.mu.Unlock()
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		if r.URL.Path == "/authorize" {
			q := r.URL.Query()
			p.authorize = append(p.authorize, cloneValues(q))
			if p.tamper != nil {
				p.tamper(q)
				r.URL.RawQuery = q.Encode()
			}
		}
		p.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

// loginForm shows the login form of an authorization request.
func (p *Provider) loginForm(w http.ResponseWriter, r *http.Request) {
	id := html.EscapeString(r.URL.Query().Get("authRequestID"))
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!doctype html><title>Login</title><form method="post" action="/login/username">`+
		`<input type="hidden" name="id" value="%s"><input name="username"><input name="password" type="password">`+
		`<button name="action" value="login">Login</button><button name="action" value="deny">Abbrechen</button></form>`, id)
}

// login checks the credentials and returns to the provider, or answers
// access_denied to the relying party when the person cancels.
func (p *Provider) login(callback func(context.Context, string) string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PostFormValue("id")
		if r.PostFormValue("action") == "deny" {
			req, err := p.store.AuthRequestByID(r.Context(), id)
			if err != nil {
				http.Error(w, "unknown request", http.StatusBadRequest)
				return
			}
			v := url.Values{"error": {"access_denied"}, "state": {req.GetState()}}
			http.Redirect(w, r, req.GetRedirectURI()+"?"+v.Encode(), http.StatusFound)
			return
		}
		if err := p.store.CheckUsernamePassword(r.PostFormValue("username"), r.PostFormValue("password"), id); err != nil {
			http.Error(w, "wrong username or password", http.StatusUnauthorized)
			return
		}
		http.Redirect(w, r, callback(r.Context(), id), http.StatusFound)
	}
}

// Browser is a plain HTTP client with a cookie jar that follows redirects,
// like a browser without JavaScript.
type Browser struct {
	*http.Client
}

// NewBrowser returns a Browser that trusts the Provider's certificate.
func (p *Provider) NewBrowser(t testing.TB) *Browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatalf("rptest: cookie jar: %v", err)
	}
	c := *p.Client()
	c.Jar = jar
	c.Timeout = 10 * time.Second
	return &Browser{Client: &c}
}

// Get fetches u, following redirects, and returns the final response with
// its body read.
func (b *Browser) Get(t testing.TB, u string) (*http.Response, string) {
	t.Helper()
	resp, err := b.Client.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return resp, readBody(t, resp)
}

// LoginAt fetches start and, when it lands on the Provider's login form,
// logs in as user (or cancels with action "deny"); it returns the final
// response and body.
func (b *Browser) LoginAt(t testing.TB, start string, user User, action string) (*http.Response, string) {
	t.Helper()
	resp, body := b.Get(t, start)
	if resp.Request.URL.Path != "/login/username" {
		return resp, body
	}
	form := url.Values{
		"id":       {resp.Request.URL.Query().Get("authRequestID")},
		"username": {user.Username},
		"password": {user.Password},
		"action":   {action},
	}
	target := resp.Request.URL.Scheme + "://" + resp.Request.URL.Host + "/login/username"
	resp, err := b.Client.PostForm(target, form)
	if err != nil {
		t.Fatalf("POST %s: %v", target, err)
	}
	return resp, readBody(t, resp)
}

// Login is LoginAt with action "login".
func (b *Browser) Login(t testing.TB, start string, user User) (*http.Response, string) {
	t.Helper()
	return b.LoginAt(t, start, user, "login")
}

func readBody(t testing.TB, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body of %s: %v", resp.Request.URL, err)
	}
	return string(b)
}

func cloneValues(v url.Values) url.Values {
	c := make(url.Values, len(v))
	for k, vs := range v {
		c[k] = append([]string(nil), vs...)
	}
	return c
}

// users is the storage.UserStore of the Provider, keyed by username.
type users map[string]User

func (u users) GetUserByID(id string) *storage.User {
	for _, x := range u {
		if x.ID == id {
			return toStorageUser(x)
		}
	}
	return nil
}

func (u users) GetUserByUsername(name string) *storage.User {
	if x, ok := u[name]; ok {
		return toStorageUser(x)
	}
	return nil
}

func (u users) ExampleClientID() string { return "rptest-service" }

func toStorageUser(x User) *storage.User {
	return &storage.User{
		ID: x.ID, Username: x.Username, Password: x.Password, FirstName: x.GivenName, LastName: x.FamilyName,
		Email: x.Email, EmailVerified: true, PreferredLanguage: language.German,
	}
}

// store is the example storage with clients registered at run time and an
// ES256 signing key.
type store struct {
	*storage.Storage
	mu      sync.Mutex
	clients map[string]*client
	key     *ecdsa.PrivateKey
	kid     string
}

var _ op.Storage = (*store)(nil)

// GetClientByClientID implements op.Storage.
func (s *store) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[id]
	if !ok {
		return nil, errors.New("client not found")
	}
	return c, nil
}

// AuthorizeClientIDSecret implements op.Storage.
func (s *store) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[id]
	if !ok || subtle.ConstantTimeCompare([]byte(c.secret), []byte(secret)) != 1 {
		return errors.New("invalid client")
	}
	return nil
}

// SigningKey implements op.Storage.
func (s *store) SigningKey(context.Context) (op.SigningKey, error) {
	return signingKey{s}, nil
}

// SignatureAlgorithms implements op.Storage.
func (s *store) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.ES256}, nil
}

// KeySet implements op.Storage.
func (s *store) KeySet(context.Context) ([]op.Key, error) {
	return []op.Key{publicKey{s}}, nil
}

type signingKey struct{ s *store }

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.ES256 }
func (k signingKey) Key() any                                    { return k.s.key }
func (k signingKey) ID() string                                  { return k.s.kid }

type publicKey struct{ s *store }

func (k publicKey) ID() string                         { return k.s.kid }
func (k publicKey) Algorithm() jose.SignatureAlgorithm { return jose.ES256 }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return &k.s.key.PublicKey }

// client is a confidential web client (client_secret_basic, code flow).
type client struct {
	id, secret string
	redirect   []string
	postLogout []string
}

var _ op.Client = (*client)(nil)

func (c *client) GetID() string                       { return c.id }
func (c *client) RedirectURIs() []string              { return c.redirect }
func (c *client) PostLogoutRedirectURIs() []string    { return c.postLogout }
func (c *client) ApplicationType() op.ApplicationType { return op.ApplicationTypeWeb }
func (c *client) AuthMethod() oidc.AuthMethod         { return oidc.AuthMethodBasic }
func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *client) GrantTypes() []oidc.GrantType { return []oidc.GrantType{oidc.GrantTypeCode} }
func (c *client) LoginURL(id string) string {
	return "/login/username?authRequestID=" + url.QueryEscape(id)
}
func (c *client) AccessTokenType() op.AccessTokenType {
	return op.AccessTokenTypeBearer
}
func (c *client) IDTokenLifetime() time.Duration { return time.Hour }

// DevMode allows http redirect URIs on loopback.
func (c *client) DevMode() bool { return true }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) IsScopeAllowed(string) bool { return false }

// IDTokenUserinfoClaimsAssertion puts name and e-mail into the ID token, as
// the Kundencenter IdP does.
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c *client) ClockSkew() time.Duration             { return 0 }

// Serve starts a relying party on loopback for t: it registers clientID
// with secret at the Provider for the server's base URL, builds the handler
// with build(baseURL) and serves it until t ends. It returns the base URL.
func (p *Provider) Serve(t testing.TB, clientID, secret string, build func(baseURL string) (http.Handler, error)) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	t.Cleanup(srv.Close)
	base := "http://" + srv.Listener.Addr().String()
	p.Register(clientID, secret, base)
	h, err := build(base)
	if err != nil {
		t.Fatalf("rptest: build relying party: %v", err)
	}
	srv.Config.Handler = h
	srv.Start()
	return base
}

// Sign signs payload with the Provider's key as a compact JWS of type typ
// (e.g. "logout+jwt"), as the Provider would; for tests that forge the
// Provider's tokens (back-channel logout).
func (p *Provider) Sign(typ string, payload []byte) (string, error) {
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256,
		Key: jose.JSONWebKey{Key: p.store.key, KeyID: p.store.kid}}, (&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
	if err != nil {
		return "", err
	}
	jws, err := sig.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}
