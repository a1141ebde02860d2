// Package keyring seals personal data at rest (AES-256-GCM with a ring of
// named keys, so keys can be rotated while old ciphertexts stay readable)
// and derives blind indexes (HMAC-SHA-256) for look-ups of sealed values
// such as the e-mail address. It owns no storage; cmd loads the keys.
package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrOpen is returned when a ciphertext cannot be opened: unknown key,
// tampered data or wrong associated data.
var ErrOpen = errors.New("keyring: cannot open sealed value")

const version = 1

// Ring is a set of AEAD keys, one of which seals; all of them open.
// It is safe for concurrent use.
type Ring struct {
	current string
	aeads   map[string]cipher.AEAD
	index   []byte
}

// New builds a ring from named 32-byte keys, the name of the key that seals
// new values, and a separate 32-byte key for blind indexes (which must never
// change, or every index has to be recomputed).
func New(keys map[string][]byte, current string, indexKey []byte) (*Ring, error) {
	if len(keys) == 0 {
		return nil, errors.New("keyring: no keys")
	}
	r := &Ring{current: current, aeads: make(map[string]cipher.AEAD, len(keys))}
	for id, k := range keys {
		if id == "" || len(id) > 32 || strings.ContainsAny(id, ":,= ") {
			return nil, fmt.Errorf("keyring: bad key id %q (1-32 characters, no ':', ',', '=' or space)", id)
		}
		if len(k) != 32 {
			return nil, fmt.Errorf("keyring: key %q has %d bytes, want 32", id, len(k))
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, fmt.Errorf("keyring: key %q: %w", id, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("keyring: key %q: %w", id, err)
		}
		r.aeads[id] = aead
	}
	if _, ok := r.aeads[current]; !ok {
		return nil, fmt.Errorf("keyring: current key %q is not in the ring", current)
	}
	if len(indexKey) != 32 {
		return nil, fmt.Errorf("keyring: index key has %d bytes, want 32", len(indexKey))
	}
	r.index = append([]byte(nil), indexKey...)
	return r, nil
}

// Parse reads a ring from its text form "current=ID,index=BASE64,ID=BASE64,…"
// (";" is accepted as a separator too)
// as used in the KC_KEYRING setting (see Generate).
func Parse(s string) (*Ring, error) {
	var current string
	var index []byte
	keys := map[string][]byte{}
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ',' }) {
		name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, fmt.Errorf("keyring: %q is not NAME=VALUE", part)
		}
		if name == "current" {
			current = val
			continue
		}
		b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(val, "="))
		if err != nil {
			return nil, fmt.Errorf("keyring: %s: not base64url: %w", name, err)
		}
		if name == "index" {
			index = b
		} else {
			keys[name] = b
		}
	}
	if current == "" {
		return nil, errors.New("keyring: no current=ID entry")
	}
	return New(keys, current, index)
}

// Generate returns the text form of a new ring with one fresh key.
func Generate() string {
	return fmt.Sprintf("current=k1,index=%s,k1=%s", random32(), random32())
}

// AddKey returns the text form s with a fresh key named id that becomes
// current; the old keys stay in the ring so existing values can be opened.
func AddKey(s, id string) (string, error) {
	r, err := Parse(s)
	if err != nil {
		return "", err
	}
	if _, ok := r.aeads[id]; ok {
		return "", fmt.Errorf("keyring: key %q exists", id)
	}
	if _, err := New(map[string][]byte{id: make([]byte, 32)}, id, r.index); err != nil {
		return "", err
	}
	var keep []string
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ',' }) {
		if !strings.HasPrefix(strings.TrimSpace(part), "current=") {
			keep = append(keep, strings.TrimSpace(part))
		}
	}
	return strings.Join(append([]string{"current=" + id}, append(keep, id+"="+random32())...), ","), nil
}

func random32() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// Current names the key that seals new values.
func (r *Ring) Current() string { return r.current }

// KeyIDs lists the key names, sorted.
func (r *Ring) KeyIDs() []string {
	ids := make([]string, 0, len(r.aeads))
	for id := range r.aeads {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Seal encrypts plaintext with the current key. aad binds the ciphertext to
// its context (e.g. the account ID) so it cannot be moved to another record.
// Format: version byte, key-id length, key id, nonce, ciphertext+tag.
func (r *Ring) Seal(plaintext, aad []byte) []byte {
	aead := r.aeads[r.current]
	out := make([]byte, 0, 2+len(r.current)+aead.NonceSize()+len(plaintext)+aead.Overhead())
	out = append(out, version, byte(len(r.current)))
	out = append(out, r.current...)
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(err)
	}
	out = append(out, nonce...)
	return aead.Seal(out, nonce, plaintext, aad)
}

// Open decrypts a value sealed by Seal with any key of the ring.
func (r *Ring) Open(sealed, aad []byte) ([]byte, error) {
	id, rest, err := splitHeader(sealed)
	if err != nil {
		return nil, err
	}
	aead, ok := r.aeads[id]
	if !ok || len(rest) < aead.NonceSize()+aead.Overhead() {
		return nil, ErrOpen
	}
	pt, err := aead.Open(nil, rest[:aead.NonceSize()], rest[aead.NonceSize():], aad)
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// NeedsReseal reports whether sealed was made with a key other than the
// current one (a rotation job re-seals such values).
func (r *Ring) NeedsReseal(sealed []byte) bool {
	id, _, err := splitHeader(sealed)
	return err != nil || id != r.current
}

func splitHeader(sealed []byte) (string, []byte, error) {
	if len(sealed) < 2 || sealed[0] != version || len(sealed) < 2+int(sealed[1]) {
		return "", nil, ErrOpen
	}
	n := int(sealed[1])
	return string(sealed[2 : 2+n]), sealed[2+n:], nil
}

// Index returns the blind index of value: HMAC-SHA-256 under the index key,
// with a domain label so indexes of different fields never collide.
func (r *Ring) Index(domain, value string) []byte {
	m := hmac.New(sha256.New, r.index)
	m.Write([]byte(domain))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return m.Sum(nil)
}
