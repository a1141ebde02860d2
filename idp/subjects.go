package idp

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"

	"github.com/kanton/kundencenter/keyring"
)

// Subject types a client may be registered with (OIDC Core §8).
const (
	// SubjectPublic: the client sees the account ID as "sub", the same at
	// every public client (the default; "" means the same).
	SubjectPublic = "public"
	// SubjectPairwise: the client sees a subject of its own sector, which
	// clients of other sectors cannot correlate with theirs.
	SubjectPairwise = "pairwise"
)

// SubjectStore maps pairwise subjects back to their accounts: a pairwise
// value cannot be reversed, and a service sends it back (id_token_hint,
// the notification API's recipient, an action receipt's actor).
type SubjectStore interface {
	// PutPairwiseSubject records that sub is accountID's subject in
	// sector. Recording the same again is no error; ErrNotFound if the
	// account does not exist, ErrConflict if (sector, sub) names another
	// account. The rows go with the account when it is deleted.
	PutPairwiseSubject(ctx context.Context, sector, sub, accountID string) error
	// PairwiseAccount returns the account whose subject in sector is sub,
	// or ErrNotFound.
	PairwiseAccount(ctx context.Context, sector, sub string) (string, error)
}

// Pairwise reports whether the client sees pairwise subjects.
func (c Client) Pairwise() bool { return c.SubjectType == SubjectPairwise }

// Sector returns the sector whose pairwise subjects the client sees (OIDC
// Core §8.1): the registered sector identifier, else the host of its
// redirect URIs, which must then all have the same host. A public client
// has none (""). An error means a pairwise client without a sector, which
// must see no subject at all.
func (c Client) Sector() (string, error) {
	if !c.Pairwise() {
		return "", nil
	}
	if c.SectorIdentifier != "" {
		return c.SectorIdentifier, nil
	}
	host := ""
	for _, r := range c.RedirectURIs {
		u, err := url.Parse(r)
		if err != nil || u.Hostname() == "" {
			return "", fmt.Errorf("client %q: redirect URI %q has no host for a pairwise sector", c.ID, r)
		}
		h := strings.ToLower(u.Hostname())
		if host != "" && h != host {
			return "", fmt.Errorf("client %q: redirect URIs span the hosts %q and %q; a pairwise client needs a sector identifier (OIDC Core §8.1)", c.ID, host, h)
		}
		host = h
	}
	if host == "" {
		return "", fmt.Errorf("client %q: a pairwise client needs a redirect URI or a sector identifier", c.ID)
	}
	return host, nil
}

// hostName is a DNS host name in lower case (RFC 1123 labels).
var hostName = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// CheckSubjectType checks a registration's subject settings: a known
// subject type; a sector identifier only for a pairwise client and only as
// a host name; a pairwise client whose redirect URIs span several hosts
// needs one (OIDC Core §8.1).
func CheckSubjectType(c Client) error {
	switch c.SubjectType {
	case "", SubjectPublic:
		if c.SectorIdentifier != "" {
			return errors.New("sector_identifier: only for subject_type pairwise")
		}
		return nil
	case SubjectPairwise:
	default:
		return fmt.Errorf("subject_type %q: public or pairwise", c.SubjectType)
	}
	if s := c.SectorIdentifier; s != "" && (len(s) > 253 || !hostName.MatchString(s)) {
		return fmt.Errorf("sector_identifier %q: a host name in lower case, e.g. steuern.example.ch (no scheme, port or path)", s)
	}
	_, err := c.Sector()
	return err
}

// Subjects derives pairwise subject identifiers (OIDC Core §8.1):
// HMAC-SHA-256 over the sector and the account ID under a key derived from
// the key ring's index key, base64url without padding (43 characters).
// The same account and sector always give the same value, which no one
// without the key can link to the account or to another sector's value.
// The index key never changes (keyring.New), so neither do the subjects.
type Subjects struct{ key []byte }

// NewSubjects derives the pairwise key from ring's index key.
func NewSubjects(ring *keyring.Ring) Subjects {
	return Subjects{key: ring.Index("pairwise-subject-key", "v1")}
}

// Pairwise returns accountID's subject in sector.
func (s Subjects) Pairwise(sector, accountID string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(sector))
	m.Write([]byte{0})
	m.Write([]byte(accountID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// For returns accountID's subject as c sees it: the account ID for a
// public client, the pairwise value of its sector otherwise.
func (s Subjects) For(c Client, accountID string) (string, error) {
	if !c.Pairwise() {
		return accountID, nil
	}
	if len(s.key) == 0 {
		return "", fmt.Errorf("client %q: no key for pairwise subjects", c.ID)
	}
	sector, err := c.Sector()
	if err != nil {
		return "", err
	}
	return s.Pairwise(sector, accountID), nil
}

// recorded remembers which pairwise subjects this process has written to
// the store, so that a token issuance writes each mapping once (the
// refresh hot path stays free of writes). Bounded: when full it starts
// over, and the store's write is idempotent anyway.
type recorded struct {
	mu   sync.Mutex
	seen map[string]struct{}
}

const maxRecorded = 100_000

func (r *recorded) has(k string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.seen[k]
	return ok
}

func (r *recorded) add(k string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen == nil || len(r.seen) >= maxRecorded {
		r.seen = map[string]struct{}{}
	}
	r.seen[k] = struct{}{}
}

// Subjects returns the derivation of pairwise subjects (for the event
// workers, which sign Security Event and logout tokens for clients).
func (s *Service) Subjects() Subjects { return s.subjects }

// SubjectFor returns accountID's subject as the client c sees it and, for
// a pairwise client, records the value so that it can be mapped back
// (AccountForSubject) when the client sends it. Every place that hands a
// subject to a client goes through here.
func (s *Service) SubjectFor(ctx context.Context, c Client, accountID string) (string, error) {
	sub, err := s.subjects.For(c, accountID)
	if err != nil || !c.Pairwise() {
		return sub, err
	}
	sector, _ := c.Sector() // For checked it
	key := sector + "\x00" + sub
	if s.recorded.has(key) {
		return sub, nil
	}
	if err := s.store.PutPairwiseSubject(ctx, sector, sub, accountID); err != nil {
		return "", fmt.Errorf("record pairwise subject: %w", err)
	}
	s.recorded.add(key)
	return sub, nil
}

// AccountForSubject returns the account behind a subject the client c
// sent (the account ID itself for a public client); ErrNotFound if c has
// never been given that subject.
func (s *Service) AccountForSubject(ctx context.Context, c Client, sub string) (string, error) {
	if !c.Pairwise() {
		return sub, nil
	}
	sector, err := c.Sector()
	if err != nil {
		return "", err
	}
	if sub == "" {
		return "", ErrNotFound
	}
	return s.store.PairwiseAccount(ctx, sector, sub)
}
