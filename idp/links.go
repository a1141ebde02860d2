package idp

import (
	"context"
	"errors"
	"time"
)

// Identity-proofing levels: how well the person behind an upstream login
// was identified, kept apart from how strongly they authenticated (the
// acr levels in levels.go). They follow the registration-quality
// ("Vertrauensstufe der Registrierung") idea of eCH-0170. Connectors map
// their provider's scale onto these (see connectors.Identity):
//
//   - ProofingSelfDeclared: name and e-mail typed in by the person
//     (SwissID qor0, eIAM/AGOV below QoA40).
//   - ProofingVerified: identity document checked remotely or by a
//     confirmed postal address (SwissID qor1, AGOV online or address
//     verification, eIAM QoA40/QoA50).
//   - ProofingVerifiedStrong: identity checked in person or with a
//     hardware-bound state credential (SwissID qor2, AGOV counter
//     identification, eIAM QoA51/QoA60, the Swiss e-ID).
//
// An empty proofing level means the provider said nothing about it.
const (
	ProofingSelfDeclared   = "urn:kundencenter:proofing:self-declared"
	ProofingVerified       = "urn:kundencenter:proofing:verified"
	ProofingVerifiedStrong = "urn:kundencenter:proofing:verified-strong"
)

// ProofingLevels lists the identity-proofing levels, weakest first.
var ProofingLevels = []string{ProofingSelfDeclared, ProofingVerified, ProofingVerifiedStrong}

// ExternalLink ties an account to a login at an upstream identity provider
// (SwissID, AGOV, …). The link is identified by (Connector, Issuer,
// Subject): a subject is only meaningful together with the issuer that
// assigned it, so the same "sub" from another issuer is another link.
// Accounts are never found through e-mail addresses an upstream provider
// reports, only through links.
type ExternalLink struct {
	AccountID     string
	Connector     string // configured connector ID, e.g. "swissid"
	Issuer        string // the upstream issuer URL exactly as in its ID tokens
	Subject       string // the upstream "sub"
	ProofingLevel string // one of the Proofing* constants or ""
	// Sealed is the AEAD-sealed JSON of LinkPersonal (the verified birth
	// date); the caller seals it with the key ring, as for Account.Sealed.
	Sealed     []byte
	CreatedAt  time.Time
	LastUsedAt time.Time // zero until the first login through the link after creating it
}

// LinkPersonal holds the personal data an upstream provider vouched for; it
// is stored sealed in ExternalLink.Sealed.
type LinkPersonal struct {
	BirthDate         string `json:"birth_date,omitempty"` // YYYY-MM-DD
	BirthDateVerified bool   `json:"birth_date_verified,omitempty"`
}

// LinkStore holds the links between accounts and upstream logins.
type LinkStore interface {
	// CreateLink stores a new link and enqueues the messages in the same
	// transaction. ErrConflict if (connector, issuer, subject) is already
	// linked (to this or another account); ErrNotFound if the account does
	// not exist.
	CreateLink(ctx context.Context, l ExternalLink, out ...Outgoing) error
	// CreateLinkedAccount inserts an account registered through an
	// upstream login together with that login's link, its activation token
	// (none when the hash is empty) and the messages, in one transaction:
	// no account is ever left without its only way in. ErrConflict, with
	// nothing written, if the e-mail index, Konto-ID, ID or the link's
	// (connector, issuer, subject) is taken.
	CreateLinkedAccount(ctx context.Context, a Account, activation ActionToken, l ExternalLink, out ...Outgoing) error
	// GetLink returns the link for this upstream login or ErrNotFound.
	GetLink(ctx context.Context, connector, issuer, subject string) (ExternalLink, error)
	// ListLinks returns an account's links, oldest first (none for an
	// unknown account).
	ListLinks(ctx context.Context, accountID string) ([]ExternalLink, error)
	// UpdateLink applies fn to the current link inside a transaction and
	// stores the result: the proofing level, sealed data and last use may
	// change, the account and the identifying triple cannot. An error from
	// fn aborts with nothing written; ErrNotFound if there is no such link.
	UpdateLink(ctx context.Context, connector, issuer, subject string,
		fn func(ExternalLink) (ExternalLink, error)) (ExternalLink, error)
	// DeleteLink removes the account's link and enqueues the messages in
	// the same transaction; ErrNotFound if the account has no such link
	// (a link of another account is left alone), ErrLastLogin if it is the
	// account's last way to log in (no password, see Account.HasPassword,
	// and no other link). The check and the deletion hold the account's
	// row lock, so concurrent deletions of an account's last two links
	// leave one. DeleteAccount removes an account's links with it.
	DeleteLink(ctx context.Context, accountID, connector, issuer, subject string, out ...Outgoing) error
}

// ErrLastLogin means the upstream login to unlink is the account's last
// way to log in: it has no password of its own and no other link.
// Passkeys are not counted (the rule as it was in the web handler).
var ErrLastLogin = errors.New("the last way to log in cannot be removed")
