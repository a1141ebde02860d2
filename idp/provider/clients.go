package provider

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/kanton/kundencenter/idp"
)

// client adapts idp.Client to op.Client.
type client struct {
	c          idp.Client
	loginURL   string
	idTokenTTL time.Duration
}

var _ op.Client = (*client)(nil)

func (c *client) GetID() string                    { return c.c.ID }
func (c *client) RedirectURIs() []string           { return c.c.RedirectURIs }
func (c *client) PostLogoutRedirectURIs() []string { return c.c.PostLogoutRedirectURIs }
func (c *client) ApplicationType() op.ApplicationType {
	return op.ApplicationTypeWeb
}
func (c *client) AuthMethod() oidc.AuthMethod {
	if c.c.Public {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic
}
func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *client) GrantTypes() []oidc.GrantType {
	out := make([]oidc.GrantType, 0, len(c.c.GrantTypes))
	for _, g := range c.c.GrantTypes {
		out = append(out, oidc.GrantType(g))
	}
	return out
}
func (c *client) LoginURL(id string) string { return c.loginURL + "?authRequestID=" + id }
func (c *client) AccessTokenType() op.AccessTokenType {
	if c.c.AccessTokenType == "jwt" {
		return op.AccessTokenTypeJWT
	}
	return op.AccessTokenTypeBearer
}
func (c *client) IDTokenLifetime() time.Duration { return c.idTokenTTL }
func (c *client) DevMode() bool                  { return false }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) IsScopeAllowed(s string) bool         { return s == ScopeProofing }
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return false }
func (c *client) ClockSkew() time.Duration             { return 0 }
func (c *client) allows(grant string) bool             { return slices.Contains(c.c.GrantTypes, grant) }

// ClientCache keeps the registered clients in memory: the library looks a
// client up several times per request. Unknown IDs go to the store (so a
// client added by another instance is found at once); the whole cache is
// reloaded every refresh interval so changes and deletions arrive.
type ClientCache struct {
	store      idp.ClientStore
	loginURL   string
	idTokenTTL time.Duration
	refresh    time.Duration

	mu       sync.RWMutex
	clients  map[string]*client
	loadedAt time.Time
}

// NewClientCache builds the cache.
func NewClientCache(store idp.ClientStore, loginURL string, idTokenTTL time.Duration) *ClientCache {
	return &ClientCache{store: store, loginURL: loginURL, idTokenTTL: idTokenTTL, refresh: 30 * time.Second,
		clients: map[string]*client{}}
}

// Load reads every client from the store.
func (c *ClientCache) Load(ctx context.Context) error {
	list, err := c.store.ListClients(ctx)
	if err != nil {
		return fmt.Errorf("list clients: %w", err)
	}
	m := make(map[string]*client, len(list))
	for _, cl := range list {
		m[cl.ID] = &client{c: cl, loginURL: c.loginURL, idTokenTTL: c.idTokenTTL}
	}
	c.mu.Lock()
	c.clients, c.loadedAt = m, time.Now()
	c.mu.Unlock()
	return nil
}

// Get returns a client or idp.ErrNotFound.
func (c *ClientCache) Get(ctx context.Context, id string) (*client, error) {
	c.mu.RLock()
	cl, ok := c.clients[id]
	stale := time.Since(c.loadedAt) > c.refresh
	c.mu.RUnlock()
	if ok && !stale {
		return cl, nil
	}
	if stale {
		if err := c.Load(ctx); err != nil {
			// The store is down: the clients known before stay valid
			// (an outage must not become invalid_client); unknown ones
			// get the outage error.
			if ok {
				return cl, nil
			}
			return nil, err
		}
		c.mu.RLock()
		cl, ok = c.clients[id]
		c.mu.RUnlock()
		if ok {
			return cl, nil
		}
		return nil, idp.ErrNotFound
	}
	// Not cached and the cache is fresh: ask the store directly (a client
	// registered a moment ago on another instance).
	got, err := c.store.GetClient(ctx, id)
	if errors.Is(err, idp.ErrNotFound) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("get client %q: %w", id, err)
	}
	cl = &client{c: got, loginURL: c.loginURL, idTokenTTL: c.idTokenTTL}
	c.mu.Lock()
	c.clients[id] = cl
	c.mu.Unlock()
	return cl, nil
}

// APIAudience returns the audience of a token for clientID granting
// scopes: clientID first, then, ordered by ID, every other client whose
// APIScopes contain a granted scope.
func (c *ClientCache) APIAudience(ctx context.Context, clientID string, scopes []string) ([]string, error) {
	aud := []string{clientID}
	if len(scopes) == 0 {
		return aud, nil
	}
	c.mu.RLock()
	stale := time.Since(c.loadedAt) > c.refresh
	c.mu.RUnlock()
	if stale {
		// A failed reload keeps the clients known before (see Get).
		_ = c.Load(ctx)
	}
	c.mu.RLock()
	var apis []string
	for id, cl := range c.clients {
		if id != clientID && slices.ContainsFunc(scopes, func(s string) bool { return slices.Contains(cl.c.APIScopes, s) }) {
			apis = append(apis, id)
		}
	}
	c.mu.RUnlock()
	slices.Sort(apis)
	return append(aud, apis...), nil
}
