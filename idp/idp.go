package idp

import (
	"errors"
	"time"
)

// Sentinel errors returned by the stores and matched with errors.Is.
var (
	// ErrNotFound means the requested record does not exist (or has expired).
	ErrNotFound = errors.New("not found")
	// ErrConflict means a unique constraint (e-mail, Konto-ID, ID) was violated.
	ErrConflict = errors.New("conflict")
	// ErrReused means a single-use value (refresh token, action token) was presented again.
	ErrReused = errors.New("already used")
	// ErrUnavailable means a backing service (database, ephemeral store) cannot be reached.
	ErrUnavailable = errors.New("unavailable")
)

// AccountStatus is the lifecycle state of an account.
type AccountStatus string

// Account states.
const (
	StatusPending  AccountStatus = "pending"  // registered, e-mail not yet confirmed
	StatusActive   AccountStatus = "active"   // e-mail confirmed, may log in
	StatusDisabled AccountStatus = "disabled" // blocked by an operator
)

// Account is a citizen's account as stored. Personal data never appear in
// clear text: they are sealed with the key ring (see Personal), and the
// e-mail address is found through its blind index.
type Account struct {
	ID                string        // random, opaque, used as the OIDC subject; never contains ':'
	KontoID           string        // human-readable account number with a Damm check digit, e.g. "4821-7733-9056"
	EmailIndex        []byte        // keyring blind index of the normalised e-mail address (unique)
	Sealed            []byte        // AEAD-sealed JSON of Personal
	PasswordHash      string        // PHC-formatted Argon2id hash
	Status            AccountStatus // pending, active, disabled
	Locale            string        // preferred language: de, fr, it, en
	CreatedAt         time.Time
	ActivatedAt       time.Time // zero until activated
	LastLoginAt       time.Time // zero until the first login
	PasswordChangedAt time.Time
}

// Personal holds an account's personal data; it is stored sealed in Account.Sealed.
// The fields after Email are optional ("Meine Daten", see mydata.go); rows
// sealed before they existed decode with them empty.
type Personal struct {
	GivenName  string `json:"given_name"`
	FamilyName string `json:"family_name"`
	Email      string `json:"email"`

	Street      string `json:"street,omitempty"`
	HouseNumber string `json:"house_number,omitempty"`
	PostalCode  string `json:"postal_code,omitempty"`
	Locality    string `json:"locality,omitempty"`
	Country     string `json:"country,omitempty"`   // "CH", "LI" or the name of another country
	BirthDate   string `json:"birthdate,omitempty"` // YYYY-MM-DD

	// PendingEmail is a new address waiting for its confirmation link;
	// PendingEmailToken is the hex SHA-256 of that link's token, so that
	// only the newest link confirms the newest address.
	PendingEmail      string `json:"pending_email,omitempty"`
	PendingEmailToken string `json:"pending_email_token,omitempty"`
	// PendingEmailUntil is when that link expires; after it the change is
	// no longer shown as pending.
	PendingEmailUntil time.Time `json:"pending_email_until,omitzero"`
}

// Client is a relying party (an integrated cantonal service).
type Client struct {
	ID                     string
	SecretHash             []byte // SHA-256 of the high-entropy secret; empty for public clients
	Name                   string
	RedirectURIs           []string // matched exactly
	PostLogoutRedirectURIs []string // matched exactly
	GrantTypes             []string // authorization_code, refresh_token, client_credentials
	Public                 bool     // token endpoint auth method "none" (PKCE is required for every client anyway)
	AccessTokenType        string   // "opaque" (default) or "jwt"
	Level                  string   // minimum authentication level (acr) the service requires; "" = any
	BackChannelLogoutURI   string   // OIDC Back-Channel Logout 1.0: receives logout tokens; "" = none
	EventsURI              string   // RFC 8935 push endpoint for Security Event Tokens; "" = none
	// Scopes are the scopes the client may request with client_credentials
	// (any other is invalid_scope); a request without scope gets a token
	// with no scope (RFC 6749 §3.3: the default is the empty set).
	Scopes []string
	// APIScopes are the scopes this client serves as an API (resource
	// server): a token granting one has this client in its audience, so
	// that it may introspect the token.
	APIScopes []string
	// SubjectType is the kind of "sub" the client sees (OIDC Core §8):
	// SubjectPublic (also "") the account ID, SubjectPairwise a value of
	// its own sector (subjects.go).
	SubjectType string
	// SectorIdentifier is the host whose pairwise subjects the client
	// shares; "" = the one host of its redirect URIs (OIDC Core §8.1).
	SectorIdentifier string
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// Grant types a client may be allowed.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
	// GrantTokenExchange (RFC 8693) lets a service turn a representative's
	// access token into one for a single other audience, acting for the
	// represented person.
	GrantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
)

// KeyState is the place of a signing key in its rotation.
type KeyState string

// Signing key states: the next key is published in the JWKS before it signs;
// the active key signs; a retired key is published until its tokens expire.
const (
	KeyNext    KeyState = "next"
	KeyActive  KeyState = "active"
	KeyRetired KeyState = "retired"
)

// SigningKey is an ES256 token-signing key.
type SigningKey struct {
	ID        string
	Algorithm string   // "ES256"
	Sealed    []byte   // AEAD-sealed PKCS#8 private key
	Public    []byte   // PKIX DER public key
	State     KeyState // next, active, retired
	CreatedAt time.Time
	UpdatedAt time.Time // when the state last changed
}

// RefreshToken is one link in a rotated refresh-token family. Only the
// SHA-256 hash of the token value is stored.
type RefreshToken struct {
	ID        string
	Hash      []byte // SHA-256 of the token value (unique)
	FamilyID  string // shared by every rotation of one grant; reuse revokes the family
	ClientID  string
	AccountID string
	SessionID string
	Scopes    []string
	Audience  []string
	AuthTime  time.Time
	AMR       []string
	ACR       string
	Acting    Acting // whom the grant acts for (zero: the person themself)
	Profile   string // the profile the service sees (see profiles.go); "" = the account's first
	CreatedAt time.Time
	ExpiresAt time.Time // absolute expiry of the family, carried over on rotation
	UsedAt    time.Time // zero until rotated
	RevokedAt time.Time // zero unless revoked
}

// ActionPurpose names what an e-mailed single-use link is for.
type ActionPurpose string

// Action purposes.
const (
	PurposeActivate ActionPurpose = "activate"
	PurposeReset    ActionPurpose = "reset"
)

// ActionToken is a single-use, expiring token sent by e-mail (activation,
// password reset). Only its SHA-256 hash is stored.
type ActionToken struct {
	Hash      []byte
	Purpose   ActionPurpose
	AccountID string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time
}

// Outgoing is a message (e-mail now, SMS later) written in the same
// transaction as the change that causes it and delivered by the job queue.
// Its payload is sealed with the key ring because it carries personal data
// and single-use links.
type Outgoing struct {
	Kind   string // "mail"
	Sealed []byte
}

// AuditEvent is one entry of the append-only audit log. It never carries
// secrets or personal data values; Detail names what changed.
type AuditEvent struct {
	At      time.Time
	Actor   string // account ID, client ID or "system"
	Action  string // e.g. "account.registered", "account.password_reset"
	Subject string // the account or client affected
	Detail  string
	IP      string // the client's address truncated to /24 (IPv4) or /48 (IPv6); "" if none
	Outcome string // security events: "success", "failure", "blocked"; "" otherwise
}

// Mail is the content of an outgoing e-mail before it is sealed into an
// Outgoing: which template, in which language, to whom, with which values.
// The notify package renders and sends it.
type Mail struct {
	To       string            `json:"to"`
	Locale   string            `json:"locale"`
	Template string            `json:"template"` // activate, reset, password_changed, already_registered
	Data     map[string]string `json:"data"`
}

// Mail templates.
const (
	MailActivate          = "activate"
	MailReset             = "reset"
	MailPasswordChanged   = "password_changed"
	MailAlreadyRegistered = "already_registered"
	// MailSecurityNotice tells the account holder that a security setting
	// changed (Data["Event"]: phone_added, phone_changed, phone_removed,
	// mfa_on, mfa_off, passkey_added, passkey_removed, recovery_new,
	// recovery_used, login_linked, login_unlinked).
	MailSecurityNotice = "security_notice"
)
