package idp

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are the cost parameters of Argon2id (RFC 9106).
type Argon2Params struct {
	Memory  uint32 // memory in KiB
	Time    uint32 // number of passes
	Threads uint8  // degree of parallelism
	SaltLen uint32 // salt length in bytes
	KeyLen  uint32 // hash length in bytes
}

// DefaultArgon2 is the OWASP Password Storage Cheat Sheet baseline for
// Argon2id: 19 MiB of memory, two passes, one thread (ASVS 5.0 11.4.2).
var DefaultArgon2 = Argon2Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Bounds on the parameters Verify accepts from a stored hash, so that a
// damaged or planted hash cannot make one verification exhaust memory or
// CPU.
const (
	maxArgon2Memory  = 1 << 20 // KiB, 1 GiB
	maxArgon2Time    = 64
	minArgon2SaltLen = 8
	maxArgon2SaltLen = 64
	minArgon2KeyLen  = 16
	maxArgon2KeyLen  = 64
)

// ErrInvalidHash means a stored password hash is not an Argon2id PHC string
// this package can verify.
var ErrInvalidHash = errors.New("invalid password hash")

// Hasher hashes and verifies passwords with Argon2id. A semaphore caps the
// number of hashes computed at once, so memory use stays below
// maxConcurrent × Memory however many logins arrive together (as long as
// stored hashes were made with at most Memory; Verify refuses more than
// 1 GiB in any case): a burst queues, and a request whose context ends while
// queued gives up.
type Hasher struct {
	p   Argon2Params
	sem chan struct{}
}

// Validate reports whether the parameters lie within the bounds Verify
// accepts, so that every hash made with them can be verified again.
func (p Argon2Params) Validate() error {
	var errs []error
	if p.Threads < 1 {
		errs = append(errs, errors.New("argon2 threads must be at least 1"))
	}
	if p.Memory < 8*uint32(p.Threads) || p.Memory > maxArgon2Memory {
		errs = append(errs, fmt.Errorf("argon2 memory must be between 8 KiB per thread and %d KiB, not %d", maxArgon2Memory, p.Memory))
	}
	if p.Time < 1 || p.Time > maxArgon2Time {
		errs = append(errs, fmt.Errorf("argon2 time must be between 1 and %d, not %d", maxArgon2Time, p.Time))
	}
	if p.SaltLen < minArgon2SaltLen || p.SaltLen > maxArgon2SaltLen {
		errs = append(errs, fmt.Errorf("argon2 salt length must be between %d and %d bytes, not %d", minArgon2SaltLen, maxArgon2SaltLen, p.SaltLen))
	}
	if p.KeyLen < minArgon2KeyLen || p.KeyLen > maxArgon2KeyLen {
		errs = append(errs, fmt.Errorf("argon2 key length must be between %d and %d bytes, not %d", minArgon2KeyLen, maxArgon2KeyLen, p.KeyLen))
	}
	return errors.Join(errs...)
}

// NewHasher returns a Hasher with the given parameters that computes at most
// maxConcurrent hashes at once (at least one). A zero field of p takes the
// value of DefaultArgon2. NewHasher panics if the result fails Validate;
// configuration is validated before it gets here.
func NewHasher(p Argon2Params, maxConcurrent int) *Hasher {
	d := DefaultArgon2
	if p.Memory == 0 {
		p.Memory = d.Memory
	}
	if p.Time == 0 {
		p.Time = d.Time
	}
	if p.Threads == 0 {
		p.Threads = d.Threads
	}
	if p.SaltLen == 0 {
		p.SaltLen = d.SaltLen
	}
	if p.KeyLen == 0 {
		p.KeyLen = d.KeyLen
	}
	if err := p.Validate(); err != nil {
		panic(fmt.Sprintf("idp.NewHasher: %v", err))
	}
	if maxConcurrent < 1 {
		maxConcurrent = 1
	}
	return &Hasher{p: p, sem: make(chan struct{}, maxConcurrent)}
}

// Params returns the parameters new hashes are made with.
func (h *Hasher) Params() Argon2Params {
	return h.p
}

// acquire waits for a free slot or for the end of ctx.
func (h *Hasher) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("wait for password hasher: %w", err)
	}
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for password hasher: %w", ctx.Err())
	}
}

func (h *Hasher) release() { <-h.sem }

// Hash returns the PHC string
// "$argon2id$v=19$m=<Memory>,t=<Time>,p=<Threads>$<salt>$<hash>" (unpadded
// standard base64) of the normalised password with a fresh random salt. The
// whole password is hashed: nothing is truncated (ASVS 5.0 6.2.8).
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	salt := make([]byte, h.p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(NormalizePassword(pw)), salt, h.p.Time, h.p.Memory, h.p.Threads, h.p.KeyLen)
	h.release()
	return encodePHC(h.p, salt, key), nil
}

// Verify reports whether pw matches the PHC hash, comparing in constant
// time, and, when it does, whether the hash was made with parameters other
// than the Hasher's so that the caller should store a fresh Hash.
// ErrInvalidHash is returned for a hash that cannot be parsed.
func (h *Hasher) Verify(ctx context.Context, pw, phc string) (ok, needsRehash bool, err error) {
	p, salt, want, err := decodePHC(phc)
	if err != nil {
		return false, false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	got := argon2.IDKey([]byte(NormalizePassword(pw)), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	h.release()
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return false, false, nil
	}
	return true, p != h.p, nil
}

// dummySalt and dummyKey stand in for a stored hash in Dummy; no password
// matches them, and their value does not matter.
var (
	dummySalt = make([]byte, maxArgon2SaltLen)
	dummyKey  = make([]byte, maxArgon2KeyLen)
)

// Dummy costs the same as Verify against a hash with the Hasher's
// parameters and always fails. Login runs it for an unknown account so that
// the answer takes as long as for a known one (ASVS 5.0 6.3.8). The only
// error is the end of ctx while waiting for a slot.
func (h *Hasher) Dummy(ctx context.Context, pw string) error {
	if err := h.acquire(ctx); err != nil {
		return err
	}
	got := argon2.IDKey([]byte(NormalizePassword(pw)), dummySalt[:h.p.SaltLen], h.p.Time, h.p.Memory, h.p.Threads, h.p.KeyLen)
	h.release()
	subtle.ConstantTimeCompare(got, dummyKey[:h.p.KeyLen])
	return nil
}

var b64 = base64.RawStdEncoding

// encodePHC formats an Argon2id hash as a PHC string.
func encodePHC(p Argon2Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// decodePHC parses an Argon2id PHC string and checks its parameters against
// the package bounds.
func decodePHC(phc string) (Argon2Params, []byte, []byte, error) {
	var p Argon2Params
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("%w: not an argon2id PHC string", ErrInvalidHash)
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || parts[2] != fmt.Sprintf("v=%d", version) {
		return p, nil, nil, fmt.Errorf("%w: bad version field", ErrInvalidHash)
	}
	if version != argon2.Version {
		return p, nil, nil, fmt.Errorf("%w: unsupported version %d", ErrInvalidHash, version)
	}
	var threads uint32
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &threads); err != nil ||
		parts[3] != fmt.Sprintf("m=%d,t=%d,p=%d", p.Memory, p.Time, threads) {
		return p, nil, nil, fmt.Errorf("%w: bad parameter field", ErrInvalidHash)
	}
	salt, err := b64.Strict().DecodeString(parts[4])
	if err != nil {
		return p, nil, nil, fmt.Errorf("%w: salt: %w", ErrInvalidHash, err)
	}
	key, err := b64.Strict().DecodeString(parts[5])
	if err != nil {
		return p, nil, nil, fmt.Errorf("%w: hash: %w", ErrInvalidHash, err)
	}
	switch {
	case threads < 1 || threads > 255:
		return p, nil, nil, fmt.Errorf("%w: parallelism %d out of range", ErrInvalidHash, threads)
	case p.Memory < 8*threads || p.Memory > maxArgon2Memory:
		return p, nil, nil, fmt.Errorf("%w: memory %d KiB out of range", ErrInvalidHash, p.Memory)
	case p.Time < 1 || p.Time > maxArgon2Time:
		return p, nil, nil, fmt.Errorf("%w: time %d out of range", ErrInvalidHash, p.Time)
	case len(salt) < minArgon2SaltLen || len(salt) > maxArgon2SaltLen:
		return p, nil, nil, fmt.Errorf("%w: salt length %d out of range", ErrInvalidHash, len(salt))
	case len(key) < minArgon2KeyLen || len(key) > maxArgon2KeyLen:
		return p, nil, nil, fmt.Errorf("%w: hash length %d out of range", ErrInvalidHash, len(key))
	}
	p.Threads = uint8(threads)
	p.SaltLen = uint32(len(salt))
	p.KeyLen = uint32(len(key))
	return p, salt, key, nil
}
