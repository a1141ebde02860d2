package idp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Session is a browser's single sign-on session at the IdP, kept in the
// ephemeral store under a 128-bit random ID that only the browser's cookie
// carries.
type Session struct {
	ID        string    `json:"id"`
	AccountID string    `json:"acct"`
	AuthTime  time.Time `json:"auth_time"`
	AMR       []string  `json:"amr"`
	ACR       string    `json:"acr"`
	CreatedAt time.Time `json:"created"`
	LastSeen  time.Time `json:"seen"`
}

func sessionKey(id string) string        { return "sess:" + id }
func accountSessionsKey(a string) string { return "acctsess:" + a }
func accessTokenKey(id string) string    { return "at:" + id }
func accountTokensKey(a string) string   { return "acctat:" + a }
func familyTokensKey(f string) string    { return "famat:" + f }
func sessionTokensKey(id string) string  { return "sessat:" + id }

// StartSessionSince opens a new SSO session (a new ID on every login, so a
// cookie planted before the login is worthless: no session fixation) for
// an authentication that happened at authTime (zero: now): a step-up keeps
// the time the first factor was entered, an upstream login its provider's
// auth_time. A time in the future is taken as now.
func (s *Service) StartSessionSince(ctx context.Context, accountID string, amr []string, acr string, authTime time.Time) (Session, error) {
	return s.ReplaceSession(ctx, "", accountID, amr, acr, authTime)
}

// ReplaceSession is StartSessionSince that first ends the session the
// browser held (replaces; nothing when it is "" or no longer live), as a
// login or a step-up does: the old session's end is written as EndSession
// writes it, and both audit events are appended in one transaction. A
// failure to end the old session is logged; it does not stop the login.
func (s *Service) ReplaceSession(ctx context.Context, replaces, accountID string, amr []string, acr string, authTime time.Time) (Session, error) {
	now := s.Now()
	if authTime.IsZero() || authTime.After(now) {
		authTime = now
	}
	var events []AuditEvent
	if replaces != "" {
		if old, err := s.liveSession(ctx, replaces); err == nil {
			ended, err := s.endSession(ctx, old.ID, now)
			if err != nil {
				s.log.ErrorContext(ctx, "end replaced session", "err", err)
			}
			events = append(events, ended...)
		} else if !errors.Is(err, ErrNotFound) {
			s.log.ErrorContext(ctx, "look up replaced session", "err", err)
		}
	}
	sess := Session{ID: NewID(), AccountID: accountID, AuthTime: authTime.UTC(), AMR: amr, ACR: acr, CreatedAt: now, LastSeen: now}
	if err := s.putSession(ctx, sess); err != nil {
		s.appendAudit(ctx, events...)
		return Session{}, err
	}
	events = append(events, s.auditEvent(ctx, accountID, "session.started", accountID, "amr="+fmt.Sprint(amr)))
	s.appendAudit(ctx, events...)
	return sess, nil
}

// putSession stores the session for the rest of its idle window (at most
// until its maximum age) and indexes it under its account (for
// EndAllSessions), in one round trip. The index's expiry is extended to
// at least the session's, so it outlives every session in it.
func (s *Service) putSession(ctx context.Context, sess Session) error {
	raw, err := json.Marshal(sess)
	if err != nil {
		return err
	}
	ttl := min(s.cfg.SessionIdle, sess.CreatedAt.Add(s.cfg.SessionMax).Sub(s.Now()))
	if ttl <= 0 {
		return ErrNotFound
	}
	if err := s.eph.SetIndexed(ctx, sessionKey(sess.ID), raw, ttl, sess.ID, accountSessionsKey(sess.AccountID)); err != nil {
		return fmt.Errorf("store session: %w", err)
	}
	return nil
}

// liveSession reads a session from the ephemeral store and checks its
// idle and maximum age (not the durable revocations: Session does).
func (s *Service) liveSession(ctx context.Context, id string) (Session, error) {
	raw, err := s.eph.Get(ctx, sessionKey(id))
	if err != nil {
		return Session{}, err
	}
	var sess Session
	if err := json.Unmarshal(raw, &sess); err != nil {
		return Session{}, fmt.Errorf("decode session: %w", err)
	}
	now := s.Now()
	if now.Sub(sess.LastSeen) > s.cfg.SessionIdle || now.Sub(sess.CreatedAt) > s.cfg.SessionMax {
		_ = s.eph.Delete(ctx, sessionKey(id))
		return Session{}, ErrNotFound
	}
	return sess, nil
}

// Session returns a live session and records the activity (idle timeout);
// ErrNotFound when it is unknown, idle too long or past its maximum age.
func (s *Service) Session(ctx context.Context, id string) (Session, error) {
	if id == "" {
		return Session{}, ErrNotFound
	}
	sess, err := s.liveSession(ctx, id)
	if err != nil {
		return Session{}, err
	}
	now := s.Now()
	// A session that ended stays ended, even when the ephemeral store
	// comes back from a snapshot taken before the logout.
	ended, err := s.store.RevokedSince(ctx, sess.CreatedAt,
		Revocation{RevokedSession, sess.ID}, Revocation{RevokedAccount, sess.AccountID})
	if err != nil {
		return Session{}, err
	}
	if ended {
		_ = s.eph.Delete(ctx, sessionKey(id))
		return Session{}, ErrNotFound
	}
	// Refresh the idle window at most once a minute to keep writes off the hot path.
	if now.Sub(sess.LastSeen) > time.Minute {
		sess.LastSeen = now
		if err := s.putSession(ctx, sess); err != nil && !errors.Is(err, ErrNotFound) {
			return Session{}, err
		}
	}
	return sess, nil
}

// EndSession ends one SSO session (logout) and the tokens issued in it:
// its access tokens and its refresh tokens, offline_access ones included
// (nobody can choose to keep a grant beyond the logout yet). The end is
// recorded in the database first, so it holds whatever the ephemeral
// store forgets or restores; a failure after that can be retried.
func (s *Service) EndSession(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	events, err := s.endSession(ctx, id, s.Now())
	s.appendAudit(ctx, events...)
	return err
}

// endSession ends a session as EndSession does and returns its audit
// event (none when the ephemeral store no longer had it) for the caller
// to append: one database round trip for the revocations, one Redis round
// trip to take the session with its token and client sets, one to drop it
// from its account's index (and one for its access tokens, if any).
func (s *Service) endSession(ctx context.Context, id string, now time.Time) ([]AuditEvent, error) {
	if err := s.store.RevokeSessions(ctx, now, now.Add(s.revocationTTL()), id); err != nil {
		return nil, fmt.Errorf("record revocation: %w", err)
	}
	raw, sets, err := s.eph.TakeWithSets(ctx, sessionKey(id), sessionTokensKey(id), sessionClientsKey(id))
	if err != nil {
		return nil, err
	}
	tokens, clients := sets[0], sets[1]
	if len(tokens) > 0 {
		keys := make([]string, 0, len(tokens))
		for _, t := range tokens {
			keys = append(keys, accessTokenKey(t))
		}
		if err := s.eph.Delete(ctx, keys...); err != nil {
			return nil, err
		}
	}
	var sess Session
	if raw == nil || json.Unmarshal(raw, &sess) != nil {
		return nil, nil
	}
	_ = s.eph.SRem(ctx, accountSessionsKey(sess.AccountID), id)
	s.notifyLogout(ctx, sess.AccountID, []string{id}, [][]string{clients}) // backchannel.go
	return []AuditEvent{s.auditEvent(ctx, sess.AccountID, "session.ended", sess.AccountID,
		fmt.Sprintf("access_tokens=%d", len(tokens)))}, nil
}

// EndAllSessions ends every SSO session of an account and invalidates its
// access and refresh tokens (password reset, logout everywhere).
func (s *Service) EndAllSessions(ctx context.Context, accountID string) error {
	// Durable first (revocation.go): every session and token of the
	// account issued until now is dead, whatever Redis forgets.
	now := s.Now()
	if err := s.revoke(ctx, now, Revocation{RevokedAccount, accountID}); err != nil {
		return err
	}
	if err := s.store.RevokeAccountRefreshTokens(ctx, accountID, now); err != nil {
		return err
	}
	sessions, err := s.eph.SMembers(ctx, accountSessionsKey(accountID))
	if err != nil {
		return err
	}
	tokens, err := s.eph.SMembers(ctx, accountTokensKey(accountID))
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(sessions)+len(tokens)+2)
	for _, id := range sessions {
		keys = append(keys, sessionKey(id))
	}
	for _, id := range tokens {
		keys = append(keys, accessTokenKey(id))
	}
	keys = append(keys, accountSessionsKey(accountID), accountTokensKey(accountID))
	if err := s.eph.Delete(ctx, keys...); err != nil {
		return err
	}
	s.backChannelLogout(ctx, accountID, sessions) // backchannel.go
	s.audit(ctx, accountID, "session.ended_all", accountID, fmt.Sprintf("sessions=%d tokens=%d", len(sessions), len(tokens)))
	return nil
}

// AccessToken is an issued opaque access token's record; the token itself
// (encrypted by the OIDC library) carries only its ID and subject.
type AccessToken struct {
	ID        string    `json:"id"`
	ClientID  string    `json:"client"`
	Subject   string    `json:"sub"`
	AccountID string    `json:"acct,omitempty"` // empty for client-credentials tokens
	Scopes    []string  `json:"scp"`
	Audience  []string  `json:"aud"`
	IssuedAt  time.Time `json:"iat"`
	Expiry    time.Time `json:"exp"`
	AuthTime  time.Time `json:"auth_time,omitzero"`
	AMR       []string  `json:"amr,omitempty"`
	ACR       string    `json:"acr,omitempty"`
	FamilyID  string    `json:"fam,omitempty"`  // refresh family it was issued with
	SessionID string    `json:"sess,omitempty"` // SSO session it was issued in (ends with its logout)
	Acting    Acting    `json:"acting,omitzero"`
	Profile   string    `json:"profile,omitempty"` // the profile the service sees
	// Actor is the representative's account for a token obtained by token
	// exchange (RFC 8693 "act"); Subject and AccountID are then the
	// represented person's.
	Actor string `json:"actor,omitempty"`
}

// PutAccessToken records an issued access token until it expires.
func (s *Service) PutAccessToken(ctx context.Context, t AccessToken) error {
	raw, err := json.Marshal(t)
	if err != nil {
		return err
	}
	ttl := t.Expiry.Sub(s.Now())
	// The token is indexed under everything that can end it, in the same
	// round trip: a token from token exchange concerns two people, the
	// representative (its actor) and the represented person (its subject),
	// and the logout, password reset or deletion of either ends it; the
	// access tokens of a refresh family end with the family (reuse
	// detected, refresh token revoked, code replayed).
	indexes := make([]string, 0, 4)
	for _, owner := range []string{t.AccountID, t.Actor} {
		if owner != "" {
			indexes = append(indexes, accountTokensKey(owner))
		}
	}
	if t.SessionID != "" {
		indexes = append(indexes, sessionTokensKey(t.SessionID))
	}
	if t.FamilyID != "" {
		indexes = append(indexes, familyTokensKey(t.FamilyID))
	}
	if err := s.eph.SetIndexed(ctx, accessTokenKey(t.ID), raw, ttl, t.ID, indexes...); err != nil {
		return fmt.Errorf("store access token: %w", err)
	}
	return nil
}

// RevokeFamilyAccessTokens deletes the access tokens issued with a refresh
// family, so that ending a grant ends all of it.
func (s *Service) RevokeFamilyAccessTokens(ctx context.Context, familyID string) error {
	if err := s.revoke(ctx, s.Now(), Revocation{RevokedFamily, familyID}); err != nil {
		return err
	}
	tokens, err := s.eph.SMembers(ctx, familyTokensKey(familyID))
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(tokens)+1)
	for _, id := range tokens {
		keys = append(keys, accessTokenKey(id))
	}
	return s.eph.Delete(ctx, append(keys, familyTokensKey(familyID))...)
}

// AccessToken returns a live access token's record or ErrNotFound.
func (s *Service) AccessToken(ctx context.Context, id string) (AccessToken, error) {
	raw, err := s.eph.Get(ctx, accessTokenKey(id))
	if err != nil {
		return AccessToken{}, err
	}
	var t AccessToken
	if err := json.Unmarshal(raw, &t); err != nil {
		return AccessToken{}, fmt.Errorf("decode access token: %w", err)
	}
	if !s.Now().Before(t.Expiry) {
		return AccessToken{}, ErrNotFound
	}
	// Checked against the durable revocations (revocation.go): a record
	// restored from an old Redis snapshot must not revive it.
	revoked, err := s.accessTokenRevoked(ctx, t)
	if err != nil {
		return AccessToken{}, err
	}
	if revoked {
		_ = s.eph.Delete(ctx, accessTokenKey(id))
		return AccessToken{}, ErrNotFound
	}
	return t, nil
}

// DiscardAccessToken deletes the record of an access token that was never
// handed out (its grant failed after it was stored).
func (s *Service) DiscardAccessToken(ctx context.Context, id string) error {
	return s.eph.Delete(ctx, accessTokenKey(id))
}

// RevokeAccessToken makes an access token inactive: recorded in the
// database, then its record deleted.
func (s *Service) RevokeAccessToken(ctx context.Context, id string) error {
	if err := s.revoke(ctx, s.Now(), Revocation{RevokedAccessToken, id}); err != nil {
		return err
	}
	s.checked.forget(id)
	return s.eph.Delete(ctx, accessTokenKey(id))
}

// Account returns an account by ID.
func (s *Service) Account(ctx context.Context, id string) (Account, error) {
	return s.store.GetAccount(ctx, id)
}
