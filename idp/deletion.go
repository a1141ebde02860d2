package idp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// DeleteInput asks to delete an account ("Konto löschen").
type DeleteInput struct {
	AccountID string
	Password  string // the current password; required when the account has one
	// FreshLogin tells that the session logged in moments ago with every
	// factor the account has; the caller checks the second factor, and for
	// accounts without a password it replaces the password.
	FreshLogin bool
}

// DeleteAccountByUser deletes an account at its owner's request after
// checking the password: one transaction removes the account with its
// second factors, passkeys, linked logins, memberships and tokens, queues
// an account-purged event for every service the account used and enqueues
// the confirmation e-mail and the notices of Config.OnDelete (the other
// party of each open representation is told, and so are the services it
// covered); then every session and access token ends. The
// e-mail address is free for a new account at once.
func (s *Service) DeleteAccountByUser(ctx context.Context, in DeleteInput) error {
	a, err := s.store.GetAccount(ctx, in.AccountID)
	if err != nil {
		return fmt.Errorf("load account: %w", err)
	}
	if a.HasPassword() && in.Password == "" {
		v := &ValidationError{}
		v.add("password", "err.required")
		return v
	}
	if err := s.allow(ctx, []Rule{deleteRule}, []string{a.ID}); err != nil {
		return err
	}
	if err := s.checkPassword(ctx, a, in.Password, in.FreshLogin); err != nil {
		return err
	}
	p, err := s.Personal(a)
	if err != nil {
		return err
	}
	out, err := s.mail(p.Email, a.Locale, MailAccountDeleted, map[string]string{
		"Name": strings.TrimSpace(p.GivenName + " " + p.FamilyName), "RegisterLink": s.cfg.BaseURL + "/register",
	})
	if err != nil {
		return err
	}
	now := s.Now()
	msgs, err := s.deletionNotices(ctx, a.ID, now, []Outgoing{out})
	if err != nil {
		return err
	}
	// The sessions and access tokens end with the deletion's transaction
	// (a job retried until done, endsessions.go), even when Redis is down.
	msgs = append(msgs, EndSessionsOutgoing(a.ID, now, "deleted"))
	err = s.store.PurgeAccount(ctx, Purge{AccountID: a.ID, Event: EventAccountPurged, At: now, Out: msgs})
	if errors.Is(err, ErrNotFound) {
		return nil // deleted a moment ago (double submit)
	}
	if err != nil {
		return fmt.Errorf("delete account: %w", err)
	}
	s.audit(ctx, a.ID, "account.deleted", a.ID, "reason=user")
	s.settleSessions(ctx, a.ID, now, "deleted")
	return nil
}

// NoteClientUse records that an account logged in to a client, so that the
// client hears of the account's deletion. A failure is logged: it must not
// stop a login.
func (s *Service) NoteClientUse(ctx context.Context, accountID, clientID string) {
	if accountID == "" || clientID == "" {
		return
	}
	// Once a day per account and service is enough (the first use is what
	// deletion needs); the ephemeral marker keeps the write off most logins.
	key := "clientuse:" + accountID + ":" + clientID
	if _, err := s.eph.Get(ctx, key); err == nil {
		return
	}
	if err := s.store.RecordClientUse(ctx, accountID, clientID, s.Now()); err != nil {
		s.log.ErrorContext(ctx, "record client use", "client_id", clientID, "err", err)
		return
	}
	if err := s.eph.Set(ctx, key, []byte{1}, 24*time.Hour); err != nil {
		s.log.WarnContext(ctx, "client use marker not stored", "err", err)
	}
}

// RecordLogin sets the account's last login to now, which restarts the
// inactivity clock of the lifecycle rules. Login (password) and the
// upstream logins record it themselves; a passwordless passkey login must
// call this, or the account counts as never used.
func (s *Service) RecordLogin(ctx context.Context, accountID string) error {
	return s.store.RecordLogin(ctx, accountID, s.Now())
}
