package delegation

import (
	"errors"
	"slices"
	"time"
)

// Errors of the organisation use cases, matched with errors.Is. Store
// errors use the idp sentinels (idp.ErrNotFound, idp.ErrConflict, …).
var (
	// ErrForbidden means the actor may not do this (not a member, not an admin).
	ErrForbidden = errors.New("forbidden")
	// ErrLastAdmin means the change would leave the organisation without an admin.
	ErrLastAdmin = errors.New("the last admin cannot leave or be demoted")
	// ErrInvitationInvalid covers an unknown, expired, used, revoked
	// invitation and one addressed to someone else, alike.
	ErrInvitationInvalid = errors.New("invitation invalid")
	// ErrAlreadyMember means the invitee already belongs to the organisation.
	ErrAlreadyMember = errors.New("already a member")
	// ErrMigrated means a legacy organisation account was already migrated.
	ErrMigrated = errors.New("legacy account already migrated")
)

// Roles a member can hold. A member holds one or more; RoleAdmin
// ("Organisationsverantwortliche") may invite, remove, change roles and
// assign services. The set is open: new roles are added to Roles.
const (
	RoleAdmin  = "admin"
	RoleMember = "member"
)

// Roles lists the known roles in the order the pages show them.
var Roles = []string{RoleAdmin, RoleMember}

// ValidRole reports whether r is a known role.
func ValidRole(r string) bool { return slices.Contains(Roles, r) }

// Address is one postal address of an organisation.
type Address struct {
	Street     string `json:"street"`      // street and number, or PO box
	PostalCode string `json:"postal_code"` // 4 digits in CH/LI
	Town       string `json:"town"`
	Country    string `json:"country"` // ISO 3166-1 alpha-2, "CH" by default
}

// Organisation is a company, association or authority that members act for.
type Organisation struct {
	ID          string // random, opaque, stable: the "represents" identifier
	Name        string
	Designation string    // additional designation ("Zusatzbezeichnung"), optional
	Addresses   []Address // at least one
	UID         string    // Swiss business ID in canonical form "CHE-123.456.789", optional
	LegacyID    string    // identifier of the migrated legacy organisation account, "" if none
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Membership says that an account belongs to an organisation, with which
// roles, and which services (client IDs of the catalogue) it may use for it.
type Membership struct {
	OrgID     string
	AccountID string
	Roles     []string // sorted, at least one
	Services  []string // client IDs, sorted
	CreatedAt time.Time
	UpdatedAt time.Time
}

// IsAdmin reports whether the member holds RoleAdmin.
func (m Membership) IsAdmin() bool { return slices.Contains(m.Roles, RoleAdmin) }

// MayUse reports whether the member was assigned the service.
func (m Membership) MayUse(clientID string) bool { return slices.Contains(m.Services, clientID) }

// InvitationStatus is the state of an invitation. An invitation past its
// expiry that is still pending counts as expired (Invitation.Open).
type InvitationStatus string

// Invitation states.
const (
	InvitationPending  InvitationStatus = "pending"
	InvitationAccepted InvitationStatus = "accepted"
	InvitationDeclined InvitationStatus = "declined"
	InvitationRevoked  InvitationStatus = "revoked" // resent, withdrawn, or the inviter lost admin rights
)

// Invitation invites one person into an organisation with one role. It is
// bound to the invitee: by Konto-ID to that account (AccountID), by e-mail
// to the blind index of the address (EmailIndex), so that someone who
// registers with that address afterwards can accept it. Only the SHA-256
// of the e-mailed token is stored.
type Invitation struct {
	ID         string
	OrgID      string
	Hash       []byte // SHA-256 of the 256-bit token in the e-mailed link (unique)
	Role       string
	AccountID  string // invitee by Konto-ID (or by e-mail of an existing account); "" otherwise
	EmailIndex []byte // invitee by e-mail: keyring blind index of the address; nil otherwise
	Label      string // what the inviter sees: the Konto-ID, or the address masked ("a•••@example.ch")
	InvitedBy  string // account ID of the inviting admin
	Status     InvitationStatus
	CreatedAt  time.Time
	ExpiresAt  time.Time
	DoneAt     time.Time // when accepted, declined or revoked
}

// Open reports whether the invitation can still be answered at now.
func (i Invitation) Open(now time.Time) bool {
	return i.Status == InvitationPending && now.Before(i.ExpiresAt)
}

// Event is one entry of an organisation's append-only history. It never
// carries e-mail addresses or tokens; Subject is an account ID, an
// invitation label or a client ID, Detail a role or a list of client IDs.
type Event struct {
	OrgID   string
	At      time.Time
	Actor   string // account ID, or "system" (import)
	Action  string // one of the Event* constants
	Subject string
	Detail  string
}

// History actions.
const (
	EventCreated           = "created"
	EventEdited            = "edited"
	EventInvited           = "invited"
	EventInvitationRevoked = "invitation_revoked"
	EventAccepted          = "accepted"
	EventDeclined          = "declined"
	EventRoleChanged       = "role_changed"
	EventRemoved           = "removed"
	EventLeft              = "left"
	EventServiceAssigned   = "service_assigned"
	EventServiceUnassigned = "service_unassigned"
	EventMigrated          = "migrated"
)

// OrgState is an organisation with its members and its pending
// invitations, as loaded and written by Store.UpdateOrg under one lock.
type OrgState struct {
	Org         Organisation
	Members     []Membership // ordered by creation
	Invitations []Invitation // pending ones (expired or not), ordered by creation
}

// Member returns the membership of an account and whether there is one.
func (s OrgState) Member(accountID string) (Membership, bool) {
	for _, m := range s.Members {
		if m.AccountID == accountID {
			return m, true
		}
	}
	return Membership{}, false
}

// Admins counts the members holding RoleAdmin.
func (s OrgState) Admins() int {
	n := 0
	for _, m := range s.Members {
		if m.IsAdmin() {
			n++
		}
	}
	return n
}

// MemberOrg is one organisation an account belongs to, with its membership.
type MemberOrg struct {
	Org        Organisation
	Membership Membership
}

// InvitationWithOrg is a pending invitation addressed to an account,
// with the organisation it invites into.
type InvitationWithOrg struct {
	Invitation Invitation
	Org        Organisation
}

// LegacyAccount is an organisation account of the old portal, imported by
// an operator and waiting for its owner to migrate it.
type LegacyAccount struct {
	LegacyID   string // the old portal's identifier; kept on the organisation
	OrgName    string
	UID        string // canonical, or ""
	EmailIndex []byte // keyring blind index of the owner's e-mail address
	ImportedAt time.Time
	MigratedAt time.Time // zero until migrated
	MigratedBy string    // account ID of the owner who migrated it
	OrgID      string    // the organisation it became
}
