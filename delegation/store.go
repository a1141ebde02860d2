package delegation

import (
	"context"
	"time"

	"github.com/kanton/kundencenter/idp"
)

// Store is the durable state of organisations and representations (PostgreSQL in production,
// SQLite embedded). Errors are the idp sentinels: idp.ErrNotFound,
// idp.ErrConflict, idp.ErrReused. Outgoing messages passed to a method are
// enqueued in the same transaction as its change, and so are the events.
type Store interface {
	// RepresentationStore holds the representations between persons.
	RepresentationStore
	// Directory finds the accounts and clients of the same database.
	Directory

	// CreateOrg inserts an organisation with its first members, its history
	// events and their messages at once. ErrConflict if the ID (or the
	// legacy ID) is taken, ErrNotFound if a member's account does not exist.
	CreateOrg(ctx context.Context, s OrgState, events []Event, out ...idp.Outgoing) error
	// GetOrg returns the organisation with its members and its pending
	// invitations, or ErrNotFound.
	GetOrg(ctx context.Context, id string) (OrgState, error)
	// UpdateOrg locks the organisation (SELECT … FOR UPDATE in PostgreSQL,
	// the write lock of an immediate transaction in SQLite), applies fn to
	// its current state and writes the result: the organisation's data, the
	// members that were added, changed or removed, the invitations that
	// were added or changed, fn's events and messages — or nothing at all if
	// fn fails. Whatever fn returns, the store refuses (ErrLastAdmin) a
	// state with members but no admin, so concurrent demotions cannot
	// leave an organisation without one. The ID cannot change.
	UpdateOrg(ctx context.Context, id string,
		fn func(OrgState) (OrgState, []Event, []idp.Outgoing, error)) (OrgState, error)
	// ListMemberOrgs returns the organisations an account belongs to, by name.
	ListMemberOrgs(ctx context.Context, accountID string) ([]MemberOrg, error)
	// GetMemberOrg returns one membership with its organisation, or
	// ErrNotFound if the account is not a member (or there is no such
	// organisation).
	GetMemberOrg(ctx context.Context, orgID, accountID string) (MemberOrg, error)
	// GetInvitation returns an invitation (any status) by ID or ErrNotFound.
	GetInvitation(ctx context.Context, id string) (Invitation, error)
	// GetInvitationByHash returns an invitation (any status) by token hash
	// or ErrNotFound.
	GetInvitationByHash(ctx context.Context, hash []byte) (Invitation, error)
	// ListInvitationsFor returns the pending, unexpired (at now) invitations
	// addressed to the account or to the e-mail blind index, oldest first.
	ListInvitationsFor(ctx context.Context, accountID string, emailIndex []byte, now time.Time) ([]InvitationWithOrg, error)
	// ListEvents returns an organisation's history, newest first, at most limit.
	ListEvents(ctx context.Context, orgID string, limit int) ([]Event, error)

	// PutLegacyAccounts inserts legacy organisation accounts, or updates
	// those not yet migrated (same legacy ID), in one transaction; it
	// returns how many it inserted and updated. Migrated ones are left as
	// they are.
	PutLegacyAccounts(ctx context.Context, list []LegacyAccount) (inserted, updated int, err error)
	// ListLegacyAccounts returns the legacy accounts whose owner has this
	// e-mail blind index and that are not yet migrated.
	ListLegacyAccounts(ctx context.Context, emailIndex []byte) ([]LegacyAccount, error)
	// MigrateLegacyAccount marks the legacy account as migrated into the
	// organisation s and creates s, in one transaction. ErrNotFound for an
	// unknown legacy ID, ErrReused if it was migrated already.
	MigrateLegacyAccount(ctx context.Context, legacyID, accountID string, now time.Time,
		s OrgState, events []Event, out ...idp.Outgoing) error
}
