package delegation

import (
	"context"
	"crypto/rand"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/kanton/kundencenter/idp"
)

// Errors of the representation use cases, matched with errors.Is.
var (
	// ErrCodeInvalid covers an unknown, wrong, expired, used or withdrawn
	// access code alike, so a guess tells nothing about which codes exist.
	ErrCodeInvalid = errors.New("access code invalid")
	// ErrOwnCode means the principal entered their own access code.
	ErrOwnCode = errors.New("own access code")
	// ErrRepState means the representation is not in a state that allows
	// the step (confirming one that was not accepted, ending one that
	// ended, …).
	ErrRepState = errors.New("representation not in a state for this step")
)

// RepStatus is the stored state of a representation. The effective state
// also depends on the clock: see Representation.State.
type RepStatus string

// Representation states. RepExpired is never stored: a pending
// representation past PendingUntil and a confirmed one past ValidUntil are
// expired (Representation.State).
const (
	RepCreated   RepStatus = "created"   // the principal created an access code
	RepAccepted  RepStatus = "accepted"  // the representative entered it and accepted
	RepConfirmed RepStatus = "confirmed" // the principal confirmed: active
	RepRejected  RepStatus = "rejected"  // the principal refused the representative who accepted
	RepRevoked   RepStatus = "revoked"   // ended by either side (or the deletion of an account)
	RepExpired   RepStatus = "expired"   // computed: the code or the end date passed
)

// Representation lets one person (the representative) act for another
// (the principal) at chosen services ("Vertretung", PRODUCT.md §5). It is
// created with a single-use access code; only the code's selector (its
// first group, not secret) and an Argon2id hash of its secret part are
// stored.
type Representation struct {
	ID               string
	PrincipalID      string // account that created the code and is represented
	RepresentativeID string // account that accepted; "" before
	Status           RepStatus
	Services         []string  // client IDs of the catalogue, sorted, at least one
	ValidUntil       time.Time // optional end of an active representation; zero: until ended
	CodeSelector     string    // first group of the access code (lookup key); "" once used or void
	CodeHash         string    // Argon2id PHC string of the code's secret part; "" once used or void
	PendingUntil     time.Time // created: the code's expiry; accepted: the deadline for the confirmation
	CreatedAt        time.Time
	AcceptedAt       time.Time
	ConfirmedAt      time.Time
	EndedAt          time.Time // when rejected or revoked
	EndedBy          string    // account ID, or "system" (account deleted)
	UpdatedAt        time.Time
}

// State returns the effective state at now.
func (r Representation) State(now time.Time) RepStatus {
	switch r.Status {
	case RepCreated, RepAccepted:
		if !now.Before(r.PendingUntil) {
			return RepExpired
		}
	case RepConfirmed:
		if !r.ValidUntil.IsZero() && !now.Before(r.ValidUntil) {
			return RepExpired
		}
	}
	return r.Status
}

// Active reports whether the representation grants anything at now.
func (r Representation) Active(now time.Time) bool {
	return r.State(now) == RepConfirmed && r.PrincipalID != "" && r.RepresentativeID != ""
}

// Covers reports whether the representation names the service.
func (r Representation) Covers(clientID string) bool { return slices.Contains(r.Services, clientID) }

// Open reports whether the representation can still be ended: created,
// accepted or confirmed (expired or not).
func (r Representation) Open() bool {
	return r.Status == RepCreated || r.Status == RepAccepted || r.Status == RepConfirmed
}

// RepEvent is one entry of a representation's append-only history, the
// principal's timeline. It never carries codes, names or addresses:
// Actor is an account ID, "system" or a client ID (RepActionReported),
// ClientID a service, Detail a list of client IDs or a reported action.
type RepEvent struct {
	RepresentationID string
	At               time.Time
	Actor            string
	Action           string // one of the Rep* event constants
	ClientID         string
	Detail           string
}

// Representation history actions.
const (
	RepEventCreated         = "created"
	RepEventCodeSent        = "code_sent"
	RepEventAccepted        = "accepted"
	RepEventConfirmed       = "confirmed"
	RepEventRejected        = "rejected"
	RepEventEnded           = "ended"
	RepEventServicesChanged = "services_changed"
	RepEventUsed            = "used"   // the representative logged in to ClientID for the principal
	RepEventAction          = "action" // ClientID reported an action (Detail) done for the principal
)

// RepresentationStore is the durable state of representations. Errors are
// the idp sentinels; events and messages passed to a method are written in
// the transaction of its change.
type RepresentationStore interface {
	// CreateRepresentation inserts a representation with its events and
	// messages. ErrConflict if the ID is taken, ErrNotFound if an account
	// does not exist.
	CreateRepresentation(ctx context.Context, r Representation, events []RepEvent, out ...idp.Outgoing) error
	// GetRepresentation returns a representation by ID or ErrNotFound.
	GetRepresentation(ctx context.Context, id string) (Representation, error)
	// UpdateRepresentation locks the representation (SELECT … FOR UPDATE in
	// PostgreSQL, the write lock of an immediate transaction in SQLite),
	// applies fn to its current value and writes the result with fn's events
	// and messages — or nothing if fn fails. The ID and the principal
	// cannot change.
	UpdateRepresentation(ctx context.Context, id string,
		fn func(Representation) (Representation, []RepEvent, []idp.Outgoing, error)) (Representation, error)
	// ListRepresentationsBySelector returns the representations in state
	// created whose code has this selector.
	ListRepresentationsBySelector(ctx context.Context, selector string) ([]Representation, error)
	// ListRepresentations returns the representations in which the account
	// is principal or representative, newest first.
	ListRepresentations(ctx context.Context, accountID string) ([]Representation, error)
	// AppendRepEvents appends events to existing representations
	// (ErrNotFound for an unknown one).
	AppendRepEvents(ctx context.Context, events ...RepEvent) error
	// ListRepEvents returns a representation's history, newest first, at
	// most limit.
	ListRepEvents(ctx context.Context, id string, limit int) ([]RepEvent, error)
}

// The access code: 16 characters of Crockford's base32 (no I, L, O, U),
// shown as four groups "ABCD-EFGH-JKMN-PQRS". The first group is the
// selector (20 bits, not secret, looks the code up); the other twelve
// characters are the secret (60 bits from crypto/rand), stored only as an
// Argon2id hash (ASVS 6.5.2: secrets under 112 bits get a salted password
// hash) and guessed only through the throttle (Limits.CodePerActor,
// CodePerIP).
const (
	codeAlphabet    = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	codeSelectorLen = 4
	codeSecretLen   = 12
	codeLen         = codeSelectorLen + codeSecretLen
)

func randomCode(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	for i := range b {
		b[i] = codeAlphabet[int(b[i])%len(codeAlphabet)] // 256 % 32 == 0: uniform
	}
	return string(b)
}

// FormatCode groups a normalised code in fours for display.
func FormatCode(c string) string {
	var b strings.Builder
	for i := 0; i < len(c); i += 4 {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(c[i:min(i+4, len(c))])
	}
	return b.String()
}

// NormalizeCode uppercases a typed code, drops spaces and dashes and maps
// the letters Crockford's base32 reads as digits (O → 0, I and L → 1). It
// returns "" unless the result is a well-formed code.
func NormalizeCode(s string) string {
	if len(s) > 64 {
		return ""
	}
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch r {
		case ' ', '-', '\t', '\u00a0':
			continue
		case 'O':
			r = '0'
		case 'I', 'L':
			r = '1'
		}
		if !strings.ContainsRune(codeAlphabet, r) {
			return ""
		}
		b.WriteRune(r)
	}
	if b.Len() != codeLen {
		return ""
	}
	return b.String()
}
