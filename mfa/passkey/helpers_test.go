package passkey_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/keyring"
	"github.com/kanton/kundencenter/mfa"
	"github.com/kanton/kundencenter/mfa/passkey"
	"github.com/kanton/kundencenter/store/memory"
	"github.com/kanton/kundencenter/store/sqlite"
	"github.com/kanton/kundencenter/store/sqlite/sqlitetest"
)

// clock is a settable fake clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

const (
	testRPID   = "konto.kanton.example"
	testOrigin = "https://konto.kanton.example"
)

// env is a passkey service over the real SQLite store and the in-process
// ephemeral store.
type env struct {
	svc   *passkey.Service
	store *sqlite.Store
	eph   idp.Ephemeral
	ring  *keyring.Ring
	clock *clock
}

func newEnv(t *testing.T, mod func(*passkey.Config)) *env {
	t.Helper()
	st := sqlitetest.Open(t)
	clk := &clock{now: time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)}
	eph := memory.New(clk.Now)
	t.Cleanup(func() { eph.Close() })
	ring, err := keyring.Parse(keyring.Generate())
	if err != nil {
		t.Fatal(err)
	}
	cfg := passkey.Config{
		RPID: testRPID, RPDisplayName: "Kundencenter", Origins: []string{testOrigin},
		UserHandles: ring, Now: clk.Now,
	}
	if mod != nil {
		mod(&cfg)
	}
	svc, err := passkey.New(cfg, eph, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("passkey.New: %v", err)
	}
	return &env{svc: svc, store: st, eph: eph, ring: ring, clock: clk}
}

var accountSeq int

// account creates an active account in the store.
func (e *env) account(t *testing.T) idp.Account {
	t.Helper()
	accountSeq++
	a := idp.Account{
		ID: fmt.Sprintf("acc-%d-%s", accountSeq, rand.Text()[:8]), KontoID: fmt.Sprintf("4821-7733-%04d", accountSeq),
		EmailIndex: []byte(rand.Text()), Sealed: []byte("sealed"), PasswordHash: "x",
		Status: idp.StatusActive, Locale: "de", CreatedAt: e.clock.Now(),
	}
	if err := e.store.CreateAccount(t.Context(), a, idp.ActionToken{}); err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	return a
}

// Authenticator flags (WebAuthn Level 3 §6.1).
const (
	flagUP = 0x01
	flagUV = 0x04
	flagBE = 0x08
	flagBS = 0x10
	flagAT = 0x40
)

// softKey is a software authenticator with one ES256 credential: it
// answers the options the service produced the way a browser and an
// authenticator would, with knobs to produce wrong answers.
type softKey struct {
	id     []byte
	priv   *ecdsa.PrivateKey
	count  uint32 // next assertion uses count+step (0 step: no counter)
	step   uint32
	handle []byte // user handle stored at registration
}

func newSoftKey(t *testing.T) *softKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 32)
	_, _ = rand.Read(id)
	return &softKey{id: id, priv: priv, step: 1}
}

// answer describes how to answer a ceremony.
type answer struct {
	origin string // "" = testOrigin
	rpID   string // "" = testRPID
	flags  byte   // 0 = UP|UV
	typ    string // clientData type, "" = the right one
	// challenge overrides the challenge (from another ceremony).
	challenge string
}

func (a answer) defaults() answer {
	if a.origin == "" {
		a.origin = testOrigin
	}
	if a.rpID == "" {
		a.rpID = testRPID
	}
	if a.flags == 0 {
		a.flags = flagUP | flagUV
	}
	return a
}

func b64u(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func clientData(t *testing.T, typ, challenge, origin string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": origin, "crossOrigin": false})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (k *softKey) coseKey(t *testing.T) []byte {
	t.Helper()
	pub, err := k.priv.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		t.Fatal(err)
	}
	b, err := webauthncbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: pub[1:33], -3: pub[33:65]})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func authData(rpID string, flags byte, counter uint32, attested []byte) []byte {
	h := sha256.Sum256([]byte(rpID))
	out := append(h[:], flags)
	out = binary.BigEndian.AppendUint32(out, counter)
	return append(out, attested...)
}

// creationOpts is the part of Ceremony.Options the soft key reads.
type creationOpts struct {
	Challenge string `json:"challenge"`
	User      struct {
		ID string `json:"id"`
	} `json:"user"`
}

// register answers a registration ceremony.
func (k *softKey) register(t *testing.T, c passkey.Ceremony, a answer) []byte {
	t.Helper()
	a = a.defaults()
	var o creationOpts
	if err := json.Unmarshal(c.Options, &o); err != nil {
		t.Fatalf("creation options: %v", err)
	}
	if a.challenge != "" {
		o.Challenge = a.challenge
	}
	if a.typ == "" {
		a.typ = "webauthn.create"
	}
	handle, err := base64.RawURLEncoding.DecodeString(o.User.ID)
	if err != nil {
		t.Fatalf("user.id: %v", err)
	}
	k.handle = handle
	attested := make([]byte, 16) // AAGUID zero
	attested = binary.BigEndian.AppendUint16(attested, uint16(len(k.id)))
	attested = append(attested, k.id...)
	attested = append(attested, k.coseKey(t)...)
	ad := authData(a.rpID, a.flags|flagAT, 0, attested)
	att, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": ad})
	if err != nil {
		t.Fatal(err)
	}
	return k.json(t, map[string]any{
		"clientDataJSON":    b64u(clientData(t, a.typ, o.Challenge, a.origin)),
		"attestationObject": b64u(att),
		"transports":        []string{"usb", "nfc"},
	})
}

// assert answers a login ceremony and advances the counter.
func (k *softKey) assert(t *testing.T, c passkey.Ceremony, a answer) []byte {
	t.Helper()
	a = a.defaults()
	var o struct {
		Challenge string `json:"challenge"`
	}
	if err := json.Unmarshal(c.Options, &o); err != nil {
		t.Fatalf("request options: %v", err)
	}
	if a.challenge != "" {
		o.Challenge = a.challenge
	}
	if a.typ == "" {
		a.typ = "webauthn.get"
	}
	k.count += k.step
	return k.assertRaw(t, o.Challenge, a, k.count)
}

func (k *softKey) assertRaw(t *testing.T, challenge string, a answer, counter uint32) []byte {
	t.Helper()
	a = a.defaults()
	if a.typ == "" {
		a.typ = "webauthn.get"
	}
	cd := clientData(t, a.typ, challenge, a.origin)
	ad := authData(a.rpID, a.flags, counter, nil)
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.priv, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	resp := map[string]any{
		"clientDataJSON":    b64u(cd),
		"authenticatorData": b64u(ad),
		"signature":         b64u(sig),
	}
	if k.handle != nil {
		resp["userHandle"] = b64u(k.handle)
	}
	return k.json(t, resp)
}

func (k *softKey) json(t *testing.T, response map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"id": b64u(k.id), "rawId": b64u(k.id), "type": "public-key",
		"response": response, "clientExtensionResults": map[string]any{},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// enrol registers a new soft key for the account.
func (e *env) enrol(t *testing.T, a idp.Account) (*softKey, mfa.WebAuthnCredential) {
	t.Helper()
	ctx := t.Context()
	existing, err := e.store.ListWebAuthnCredentials(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.svc.BeginRegistration(ctx, passkey.User{AccountID: a.ID, Name: a.KontoID, DisplayName: "Anna Muster"}, existing)
	if err != nil {
		t.Fatalf("BeginRegistration: %v", err)
	}
	k := newSoftKey(t)
	cred, err := e.svc.FinishRegistration(ctx, c.ID, a.ID, "Schlüssel", k.register(t, c, answer{}))
	if err != nil {
		t.Fatalf("FinishRegistration: %v", err)
	}
	return k, cred
}

// failingEph is an ephemeral store that does not answer.
type failingEph struct{ idp.Ephemeral }

var errDown = fmt.Errorf("connection refused")

func (failingEph) SetNX(context.Context, string, []byte, time.Duration) (bool, error) {
	return false, errDown
}
func (failingEph) Take(context.Context, string) ([]byte, error) { return nil, errDown }
func (failingEph) Delete(context.Context, ...string) error      { return errDown }
