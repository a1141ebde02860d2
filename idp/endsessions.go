package idp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// OutgoingEndSessions is the Outgoing kind that ends an account's sessions
// and tokens as part of a write (password reset, account deletion, e-mail
// change): a store method given it revokes the account's refresh tokens in
// the write's own transaction and enqueues, in that transaction too, an
// EndSessionsArgs job that deletes the sessions and access tokens from the
// ephemeral store, retried until it succeeds. So the write either commits
// with the end of every session and token guaranteed, or not at all; an
// outage of Redis delays the second half but cannot lose it.
const OutgoingEndSessions = "end_sessions"

// EndSessionsArgs is the job (notify.EndSessionsWorker) of an OutgoingEndSessions: end the
// sessions started and access tokens issued before Before (not those of a
// login that followed the change).
type EndSessionsArgs struct {
	AccountID string    `json:"account_id"`
	Before    time.Time `json:"before"`
	Reason    string    `json:"reason"` // for the audit log: password_reset, deleted, email_changed, …
}

// Kind names the job for River.
func (EndSessionsArgs) Kind() string { return OutgoingEndSessions }

// EndSessionsOutgoing returns the Outgoing that ends the sessions and tokens
// of accountID issued before before, for a store method's transaction.
func EndSessionsOutgoing(accountID string, before time.Time, reason string) Outgoing {
	raw, _ := json.Marshal(EndSessionsArgs{AccountID: accountID, Before: before.UTC(), Reason: reason}) // cannot fail
	return Outgoing{Kind: OutgoingEndSessions, Sealed: raw}
}

// ParseEndSessions decodes an OutgoingEndSessions for a store adapter.
func ParseEndSessions(o Outgoing) (EndSessionsArgs, error) {
	var a EndSessionsArgs
	if o.Kind != OutgoingEndSessions {
		return a, fmt.Errorf("outgoing kind %q is not %s", o.Kind, OutgoingEndSessions)
	}
	if err := json.Unmarshal(o.Sealed, &a); err != nil || a.AccountID == "" || a.Before.IsZero() {
		return a, fmt.Errorf("decode %s: invalid payload", OutgoingEndSessions)
	}
	return a, nil
}

// EndSessionsMaxAttempts is how often the job is tried (with
// notify.EndSessionsWorker's backoff: about two days of retries).
const EndSessionsMaxAttempts = 100

// EndSessionsBefore deletes the account's sessions created and access
// tokens issued before before, and tells the relying parties of the ended
// sessions (back-channel logout). Sessions and tokens that cannot be read
// any more are deleted too. It is idempotent: a repeat finds nothing left.
func (s *Service) EndSessionsBefore(ctx context.Context, accountID string, before time.Time, reason string) error {
	sessions, err := s.eph.SMembers(ctx, accountSessionsKey(accountID))
	if err != nil {
		return err
	}
	tokens, err := s.eph.SMembers(ctx, accountTokensKey(accountID))
	if err != nil {
		return err
	}
	var keys, ended, endedTokens []string
	for _, id := range sessions {
		raw, err := s.eph.Get(ctx, sessionKey(id))
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		var sess Session
		if err == nil && json.Unmarshal(raw, &sess) == nil && sess.CreatedAt.After(before) {
			continue // a login after the change
		}
		keys = append(keys, sessionKey(id))
		ended = append(ended, id)
	}
	for _, id := range tokens {
		raw, err := s.eph.Get(ctx, accessTokenKey(id))
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		var t AccessToken
		if err == nil && json.Unmarshal(raw, &t) == nil && t.IssuedAt.After(before) {
			continue
		}
		keys = append(keys, accessTokenKey(id))
		endedTokens = append(endedTokens, id)
	}
	if len(keys) == 0 {
		return nil
	}
	// The back-channel notices read the sessions' clients, so they go first.
	s.backChannelLogout(ctx, accountID, ended) // backchannel.go
	if err := s.eph.Delete(ctx, keys...); err != nil {
		return err
	}
	if len(ended) > 0 {
		if err := s.eph.SRem(ctx, accountSessionsKey(accountID), ended...); err != nil {
			return err
		}
	}
	if len(endedTokens) > 0 {
		if err := s.eph.SRem(ctx, accountTokensKey(accountID), endedTokens...); err != nil {
			return err
		}
	}
	s.audit(ctx, accountID, "session.ended_all", accountID,
		fmt.Sprintf("reason=%s sessions=%d tokens=%d", reason, len(ended), len(endedTokens)))
	return nil
}

// settleSessions tries at once what the committed EndSessionsArgs job
// would do; when the ephemeral store is down the job finishes it later.
func (s *Service) settleSessions(ctx context.Context, accountID string, before time.Time, reason string) {
	if err := s.EndSessionsBefore(ctx, accountID, before, reason); err != nil {
		s.log.WarnContext(ctx, "end sessions now failed; the queued job retries", "account_id", accountID,
			"reason", reason, "err", err)
	}
}
