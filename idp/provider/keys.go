package provider

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/keyring"
)

// signingKey is an ES256 private key ready to sign (op.SigningKey).
type signingKey struct {
	id  string
	key *ecdsa.PrivateKey
}

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.ES256 }
func (k *signingKey) Key() any                                    { return k.key }
func (k *signingKey) ID() string                                  { return k.id }

// publicKey is a published verification key (op.Key).
type publicKey struct {
	id  string
	key *ecdsa.PublicKey
}

func (k *publicKey) ID() string                         { return k.id }
func (k *publicKey) Algorithm() jose.SignatureAlgorithm { return jose.ES256 }
func (k *publicKey) Use() string                        { return "sig" }
func (k *publicKey) Key() any                           { return k.key }

// KeyCache holds the signing keys in memory: the library asks for the
// signing key on every token and for the key set on every JWKS request and
// every internal verification. It reloads from the store periodically so
// that a rotation done by another instance (or the admin command) arrives.
type KeyCache struct {
	store   idp.KeyStore
	ring    *keyring.Ring
	refresh time.Duration

	mu       sync.RWMutex
	active   *signingKey
	set      []op.Key
	loadedAt time.Time
}

// NewKeyCache builds the cache; call Load before serving.
func NewKeyCache(store idp.KeyStore, ring *keyring.Ring) *KeyCache {
	return &KeyCache{store: store, ring: ring, refresh: time.Minute}
}

// Load reads the keys; on first start (no keys at all) it generates an
// active and a next key.
func (c *KeyCache) Load(ctx context.Context) error {
	keys, err := c.store.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("list signing keys: %w", err)
	}
	if len(keys) == 0 {
		now := time.Now().UTC()
		active, err := NewSigningKey(c.ring, idp.KeyActive, now)
		if err != nil {
			return err
		}
		next, err := NewSigningKey(c.ring, idp.KeyNext, now)
		if err != nil {
			return err
		}
		if err := c.store.PutSigningKeys(ctx, active, next); err != nil {
			return fmt.Errorf("store first signing keys: %w", err)
		}
		keys = []idp.SigningKey{active, next}
	}
	// Several instances starting at once on an empty database may each
	// create an active key; every instance then signs with the same one: the
	// most recently activated (ties broken by ID). All are published.
	var chosen *idp.SigningKey
	for i, k := range keys {
		if k.State == idp.KeyActive && (chosen == nil || k.UpdatedAt.After(chosen.UpdatedAt) ||
			(k.UpdatedAt.Equal(chosen.UpdatedAt) && k.ID < chosen.ID)) {
			chosen = &keys[i]
		}
	}
	var active *signingKey
	set := make([]op.Key, 0, len(keys))
	for _, k := range keys {
		der, err := x509.ParsePKIXPublicKey(k.Public)
		if err != nil {
			return fmt.Errorf("signing key %s: %w", k.ID, err)
		}
		pub, ok := der.(*ecdsa.PublicKey)
		if !ok {
			return fmt.Errorf("signing key %s: not an EC key", k.ID)
		}
		set = append(set, &publicKey{id: k.ID, key: pub})
		if chosen != nil && k.ID == chosen.ID {
			raw, err := c.ring.Open(k.Sealed, []byte("signing-key:"+k.ID))
			if err != nil {
				return fmt.Errorf("open signing key %s (wrong KC_KEYRING?): %w", k.ID, err)
			}
			priv, err := x509.ParsePKCS8PrivateKey(raw)
			if err != nil {
				return fmt.Errorf("parse signing key %s: %w", k.ID, err)
			}
			ec, ok := priv.(*ecdsa.PrivateKey)
			if !ok {
				return fmt.Errorf("signing key %s: not an EC key", k.ID)
			}
			active = &signingKey{id: k.ID, key: ec}
		}
	}
	if active == nil {
		return errors.New("no active signing key: run `kundencenter admin keys rotate`")
	}
	c.mu.Lock()
	c.active, c.set, c.loadedAt = active, set, time.Now()
	c.mu.Unlock()
	return nil
}

// Run reloads the keys every refresh interval until ctx ends.
func (c *KeyCache) Run(ctx context.Context, onErr func(error)) {
	t := time.NewTicker(c.refresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := c.Load(ctx); err != nil && onErr != nil {
				onErr(err)
			}
		}
	}
}

// SigningKey returns the active key.
func (c *KeyCache) SigningKey() op.SigningKey {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.active
}

// KeySet returns every published key (next, active, retired).
func (c *KeyCache) KeySet() []op.Key {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.set
}

// NewSigningKey generates a sealed ES256 key in the given state.
func NewSigningKey(ring *keyring.Ring, state idp.KeyState, now time.Time) (idp.SigningKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return idp.SigningKey{}, err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return idp.SigningKey{}, err
	}
	pub, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return idp.SigningKey{}, err
	}
	id := idp.NewID()
	return idp.SigningKey{ID: id, Algorithm: "ES256", Sealed: ring.Seal(pkcs8, []byte("signing-key:"+id)), Public: pub,
		State: state, CreatedAt: now, UpdatedAt: now}, nil
}

// RotationPolicy bounds a key rotation.
type RotationPolicy struct {
	// PublishLead is how long the next key must have been published (in the
	// JWKS, so relying parties have fetched it) before it may sign.
	PublishLead time.Duration
	// RetireKeep is how long a retired key stays published: at least the
	// longest lifetime of a token it signed.
	RetireKeep time.Duration
}

// DefaultRotation waits an hour before a published key signs and keeps
// retired keys a day (ID and access tokens live minutes).
var DefaultRotation = RotationPolicy{PublishLead: time.Hour, RetireKeep: 24 * time.Hour}

// Rotate promotes the next key to active, retires the active key, publishes
// a fresh next key, and deletes retired keys older than RetireKeep. With
// force, the publish lead is not waited for.
func Rotate(ctx context.Context, store idp.KeyStore, ring *keyring.Ring, now time.Time, pol RotationPolicy, force bool) (idp.SigningKey, error) {
	keys, err := store.ListSigningKeys(ctx)
	if err != nil {
		return idp.SigningKey{}, err
	}
	var next *idp.SigningKey
	var changed []idp.SigningKey
	for i := range keys {
		if keys[i].State == idp.KeyNext && (next == nil || keys[i].CreatedAt.Before(next.CreatedAt)) {
			next = &keys[i] // the longest-published next key
		}
	}
	if next == nil {
		return idp.SigningKey{}, errors.New("no next key published yet; start the IdP once (it publishes one) and retry")
	}
	if age := now.Sub(next.CreatedAt); age < pol.PublishLead && !force {
		return idp.SigningKey{}, fmt.Errorf("the next key was published only %s ago; wait until it is %s old so relying parties have fetched it, or pass -force", age.Round(time.Second), pol.PublishLead)
	}
	for _, k := range keys {
		switch k.State {
		case idp.KeyActive:
			k.State, k.UpdatedAt = idp.KeyRetired, now
			changed = append(changed, k)
		case idp.KeyNext:
			if k.ID == next.ID {
				k.State, k.UpdatedAt = idp.KeyActive, now
				changed = append(changed, k)
			}
		case idp.KeyRetired:
			if now.Sub(k.UpdatedAt) > pol.RetireKeep {
				if err := store.DeleteSigningKey(ctx, k.ID); err != nil {
					return idp.SigningKey{}, err
				}
			}
		}
	}
	fresh, err := NewSigningKey(ring, idp.KeyNext, now)
	if err != nil {
		return idp.SigningKey{}, err
	}
	changed = append(changed, fresh)
	if err := store.PutSigningKeys(ctx, changed...); err != nil {
		return idp.SigningKey{}, err
	}
	return *next, nil
}
