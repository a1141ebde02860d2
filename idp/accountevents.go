package idp

import (
	"context"
	"fmt"
	"time"
)

// Operators disable and enable accounts (admin accounts disable|enable);
// every client the account has used hears of it through a RISC 1.0
// Security Event Token, queued in the transaction of the status change.

// RISC 1.0 event types (§2.5, §2.6) pushed when an operator disables or
// enables an account.
const (
	RISCAccountDisabled = "https://schemas.openid.net/secevent/risc/event-type/account-disabled"
	RISCAccountEnabled  = "https://schemas.openid.net/secevent/risc/event-type/account-enabled"
)

// Reasons of an account-disabled event (RISC 1.0 §2.5).
const (
	DisabledHijacking   = "hijacking"    // the account was taken over
	DisabledBulkAccount = "bulk-account" // one of many accounts opened for abuse
)

// ValidDisableReason reports whether reason is one DisableAccount takes:
// "" (no reason given) or a RISC reason.
func ValidDisableReason(reason string) bool {
	return reason == "" || reason == DisabledHijacking || reason == DisabledBulkAccount
}

// AccountClientStore tells the clients an account has used.
type AccountClientStore interface {
	// AccountClients returns the IDs of the clients the account has used
	// (logged in to, or holds a refresh token of), ordered, without
	// repeats.
	AccountClients(ctx context.Context, accountID string) ([]string, error)
	// UpdateAccountTellClients is UpdateAccount whose fn also receives the
	// account's clients (as AccountClients), read in the same transaction
	// after the account is locked, so that what fn queues for them commits
	// with the change.
	UpdateAccountTellClients(ctx context.Context, id string,
		fn func(a Account, clients []string) (Account, []Outgoing, error)) (Account, error)
}

// accountEvents returns one SET per client about the account. The
// subject is the account ID; the notify package writes it as the
// client's subject identifier.
func accountEvents(accountID, typ string, members map[string]string, clients []string, at time.Time) ([]Outgoing, error) {
	out := make([]Outgoing, 0, len(clients))
	for _, cid := range clients {
		o, err := NewEventOutgoing(EventNotice{JTI: NewID(), ClientID: cid, Type: typ, Subject: accountID, At: at, Members: members})
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// DisableAccount blocks an account (an operator's decision): logins are
// refused, every client the account has used receives an account-disabled
// SET (with the RISC reason, if given) queued with the status change, and
// every session and token ends at once (EndAllSessions: the services the
// sessions logged in to get a back-channel logout token). Disabling a
// disabled account ends its sessions again and tells the clients again.
func (s *Service) DisableAccount(ctx context.Context, accountID, reason string) error {
	if !ValidDisableReason(reason) {
		return fmt.Errorf("disable account: reason %q is neither %q nor %q", reason, DisabledHijacking, DisabledBulkAccount)
	}
	var members map[string]string
	if reason != "" {
		members = map[string]string{"reason": reason}
	}
	now := s.Now()
	_, err := s.store.UpdateAccountTellClients(ctx, accountID, func(a Account, clients []string) (Account, []Outgoing, error) {
		a.Status = StatusDisabled
		out, err := accountEvents(a.ID, RISCAccountDisabled, members, clients, now)
		return a, out, err
	})
	if err != nil {
		return fmt.Errorf("disable account: %w", err)
	}
	detail := "by=operator"
	if reason != "" {
		detail += " reason=" + reason
	}
	s.audit(ctx, accountID, EventAccountDisabled, accountID, detail)
	return s.EndAllSessions(ctx, accountID)
}

// EnableAccount lifts DisableAccount; sessions and tokens ended by it stay
// ended. Every client the account has used receives an account-enabled
// SET. ErrConflict if the account is not disabled.
func (s *Service) EnableAccount(ctx context.Context, accountID string) error {
	now := s.Now()
	_, err := s.store.UpdateAccountTellClients(ctx, accountID, func(a Account, clients []string) (Account, []Outgoing, error) {
		if a.Status != StatusDisabled {
			return a, nil, fmt.Errorf("account is %s, not disabled: %w", a.Status, ErrConflict)
		}
		a.Status = StatusActive
		out, err := accountEvents(a.ID, RISCAccountEnabled, nil, clients, now)
		return a, out, err
	})
	if err != nil {
		return fmt.Errorf("enable account: %w", err)
	}
	s.audit(ctx, accountID, EventAccountEnabled, accountID, "by=operator")
	return nil
}
