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

// ErrUnknownKey is returned (together with ErrOpen: errors.Is matches both)
// when a value was sealed with a key this ring does not have. During a
// rotation that is temporary (another instance already has the key, or
// this one gets it with its next restart), so the error says Temporary()
// and job queues retry it instead of giving the job up.
var ErrUnknownKey = errors.New("keyring: sealed with a key not in this ring")

type unknownKeyError struct{ id string }

func (e *unknownKeyError) Error() string {
	return fmt.Sprintf("keyring: sealed with key %q, which is not in this ring", e.id)
}
func (e *unknownKeyError) Is(target error) bool { return target == ErrOpen || target == ErrUnknownKey }

// Temporary reports true: the key may arrive with the next deployment.
func (e *unknownKeyError) Temporary() bool { return true }

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

// AddKey returns the text form s with a fresh key named id, staged: every
// ring parsed from the result opens values sealed with it, but the current
// key still seals. Deploy the result to every instance first, then make the
// key current with Activate (phase two of a rotation, see docs/keyring.md);
// so no instance ever meets a value sealed with a key it does not know.
func AddKey(s, id string) (string, error) {
	t, err := parseText(s)
	if err != nil {
		return "", err
	}
	if t.has(id) {
		return "", fmt.Errorf("keyring: key %q exists", id)
	}
	t.keys = append(t.keys, [2]string{id, random32()})
	return t.check()
}

// Activate returns the text form s with the key id (already in the ring)
// as the current one.
func Activate(s, id string) (string, error) {
	t, err := parseText(s)
	if err != nil {
		return "", err
	}
	if !t.has(id) {
		return "", fmt.Errorf("keyring: key %q is not in the ring; add it first (keyring add-key)", id)
	}
	t.current = id
	return t.check()
}

// Remove returns the text form s without the key id, which must not be the
// current one. Callers check first that nothing sealed with it remains.
func Remove(s, id string) (string, error) {
	t, err := parseText(s)
	if err != nil {
		return "", err
	}
	if !t.has(id) {
		return "", fmt.Errorf("keyring: key %q is not in the ring", id)
	}
	if t.current == id {
		return "", fmt.Errorf("keyring: key %q is current; activate another key first", id)
	}
	for i, kv := range t.keys {
		if kv[0] == id {
			t.keys = append(t.keys[:i], t.keys[i+1:]...)
			break
		}
	}
	return t.check()
}

// text is the text form of a ring with its entries in their order.
type text struct {
	current, index string
	keys           [][2]string
}

func parseText(s string) (text, error) {
	if _, err := Parse(s); err != nil {
		return text{}, err
	}
	var t text
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ',' }) {
		name, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch name {
		case "current":
			t.current = val
		case "index":
			t.index = val
		default:
			t.keys = append(t.keys, [2]string{name, val})
		}
	}
	return t, nil
}

func (t text) has(id string) bool {
	for _, kv := range t.keys {
		if kv[0] == id {
			return true
		}
	}
	return false
}

// check formats t and parses the result, so no operation returns a ring
// that does not load.
func (t text) check() (string, error) {
	parts := []string{"current=" + t.current, "index=" + t.index}
	for _, kv := range t.keys {
		parts = append(parts, kv[0]+"="+kv[1])
	}
	out := strings.Join(parts, ",")
	if _, err := Parse(out); err != nil {
		return "", err
	}
	return out, nil
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
	if !ok {
		return nil, &unknownKeyError{id: id}
	}
	if len(rest) < aead.NonceSize()+aead.Overhead() {
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

// KeyID names the key sealed was made with ("" and false if sealed is
// not a sealed value at all). The key ID is not secret: it is stored in
// clear in every sealed value's header.
func KeyID(sealed []byte) (string, bool) {
	id, _, err := splitHeader(sealed)
	return id, err == nil
}

// Has reports whether the ring has the key id.
func (r *Ring) Has(id string) bool {
	_, ok := r.aeads[id]
	return ok
}

// Reseal opens sealed with its key and seals the plaintext again with the
// current key under the same aad. Values already sealed with the current
// key are returned unchanged with changed false.
func (r *Ring) Reseal(sealed, aad []byte) (out []byte, changed bool, err error) {
	if !r.NeedsReseal(sealed) {
		return sealed, false, nil
	}
	pt, err := r.Open(sealed, aad)
	if err != nil {
		return nil, false, err
	}
	return r.Seal(pt, aad), true, nil
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
