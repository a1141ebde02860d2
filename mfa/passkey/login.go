package passkey

// The login ceremonies: a passkey as second factor, and passwordless
// login with a discoverable credential.

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"slices"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/mfa"
)

// BeginLogin starts a second-factor login for an account that passed the
// first factor: the browser may use only the account's credentials.
// ErrNoCredentials if it has none.
func (s *Service) BeginLogin(ctx context.Context, accountID string) (Ceremony, error) {
	if accountID == "" {
		return Ceremony{}, fmt.Errorf("%w: account is required", ErrInvalidRequest)
	}
	u, err := s.loadUser(ctx, accountID)
	if err != nil {
		return Ceremony{}, err
	}
	if len(u.creds) == 0 {
		return Ceremony{}, ErrNoCredentials
	}
	assertion, session, err := s.wa.BeginLogin(u)
	if err != nil {
		return Ceremony{}, fmt.Errorf("begin login: %w", err)
	}
	return s.saveCeremony(ctx, record{Kind: kindLogin, AccountID: accountID, Session: *session}, assertion.Response)
}

// BeginDiscoverableLogin starts a passwordless login: the browser offers
// every passkey it holds for the site, and user verification is required.
func (s *Service) BeginDiscoverableLogin(ctx context.Context) (Ceremony, error) {
	assertion, session, err := s.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return Ceremony{}, fmt.Errorf("begin discoverable login: %w", err)
	}
	return s.saveCeremony(ctx, record{Kind: kindDiscoverable, Session: *session}, assertion.Response)
}

// FinishLogin verifies the browser's response to the second-factor
// ceremony started with BeginLogin(accountID). See finishLogin for what is
// checked.
func (s *Service) FinishLogin(ctx context.Context, ceremonyID, accountID string, credentialJSON []byte) (Result, error) {
	if accountID == "" {
		return Result{}, fmt.Errorf("%w: account is required", ErrInvalidRequest)
	}
	return s.finishLogin(ctx, ceremonyID, kindLogin, accountID, credentialJSON)
}

// FinishDiscoverableLogin verifies the browser's response to a ceremony
// started with BeginDiscoverableLogin and returns the account it belongs
// to. The caller must still check the account (active, not locked) before
// logging it in.
func (s *Service) FinishDiscoverableLogin(ctx context.Context, ceremonyID string, credentialJSON []byte) (Result, error) {
	return s.finishLogin(ctx, ceremonyID, kindDiscoverable, "", credentialJSON)
}

// finishLogin consumes the ceremony (single use), checks origin, RP ID and
// user verification, finds the credential (which must belong to the
// ceremony's account, or for a discoverable login match the user handle),
// verifies the signature with go-webauthn and then, in one store
// transaction, checks and advances the signature counter and the last use.
// A counter that did not increase flags the credential (CloneWarning) and
// refuses this and every later login with it (*CloneError).
func (s *Service) finishLogin(ctx context.Context, ceremonyID string, k kind, accountID string, credentialJSON []byte) (Result, error) {
	rec, err := s.take(ctx, ceremonyID, k, accountID)
	if err != nil {
		return Result{}, err
	}
	if len(credentialJSON) > maxResponse {
		return Result{}, fmt.Errorf("%w: response too large", ErrVerification)
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(credentialJSON)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %w", ErrVerification, err)
	}
	authData := parsed.Response.AuthenticatorData
	if err := s.precheck(rec, parsed.Response.CollectedClientData, authData); err != nil {
		s.log.WarnContext(ctx, "passkey login refused", "account_id", accountID, "err", err)
		return Result{}, err
	}
	stored, err := s.store.GetWebAuthnCredential(ctx, parsed.RawID)
	if errors.Is(err, idp.ErrNotFound) {
		s.log.InfoContext(ctx, "passkey login with an unknown credential", "account_id", accountID)
		return Result{}, ErrUnknownCredential
	}
	if err != nil {
		return Result{}, fmt.Errorf("finish login: %w", err)
	}
	switch {
	case k == kindLogin && stored.AccountID != accountID:
		s.log.WarnContext(ctx, "passkey login with another account's credential", "account_id", accountID)
		return Result{}, ErrUnknownCredential
	case k == kindDiscoverable && !hmac.Equal(parsed.Response.UserHandle, s.userHandle(stored.AccountID)):
		s.log.WarnContext(ctx, "passkey login: user handle does not match the credential's account")
		return Result{}, ErrUnknownCredential
	}
	u, err := s.loadUser(ctx, stored.AccountID)
	if err != nil {
		return Result{}, err
	}
	if k == kindDiscoverable {
		_, _, err = s.wa.ValidatePasskeyLogin(func(rawID, userHandle []byte) (webauthn.User, error) { return u, nil },
			rec.Session, parsed)
	} else {
		_, err = s.wa.ValidateLogin(u, rec.Session, parsed)
	}
	if err != nil {
		s.log.WarnContext(ctx, "passkey login refused", "account_id", stored.AccountID, "err", err)
		var unknown *protocol.ErrorUnknownCredential
		if errors.As(err, &unknown) {
			return Result{}, ErrUnknownCredential
		}
		return Result{}, fmt.Errorf("%w: %w", ErrVerification, err)
	}

	// The signature is valid. Check and advance the counter atomically, so
	// that of two logins with the same counter value only one passes.
	var clone *CloneError
	got := authData.Counter
	now := s.cfg.Now().UTC()
	updated, err := s.store.UpdateWebAuthnCredential(ctx, stored.ID, func(c mfa.WebAuthnCredential) (mfa.WebAuthnCredential, error) {
		clone = nil
		if c.AccountID != stored.AccountID {
			return c, idp.ErrNotFound
		}
		if c.CloneWarning {
			clone = &CloneError{AccountID: c.AccountID, CredentialID: c.ID, Stored: c.SignCount, Got: got}
			return c, clone // nothing to write
		}
		if (got != 0 || c.SignCount != 0) && got <= c.SignCount {
			clone = &CloneError{AccountID: c.AccountID, CredentialID: c.ID, Stored: c.SignCount, Got: got, New: true}
			c.CloneWarning = true
			return c, nil // store the flag, refuse below
		}
		c.SignCount = got
		c.LastUsedAt = now
		c.BackupState = authData.Flags.HasBackupState()
		return c, nil
	})
	if clone != nil {
		if errors.Is(err, idp.ErrNotFound) || (err != nil && !errors.Is(err, ErrCloneSuspected)) {
			return Result{}, fmt.Errorf("finish login: %w", err)
		}
		s.log.WarnContext(ctx, "passkey signature counter regression", "account_id", clone.AccountID,
			"credential", EncodeID(clone.CredentialID), "stored", clone.Stored, "got", clone.Got, "new", clone.New)
		return Result{}, clone
	}
	if errors.Is(err, idp.ErrNotFound) {
		return Result{}, ErrUnknownCredential // removed meanwhile
	}
	if err != nil {
		return Result{}, fmt.Errorf("finish login: %w", err)
	}
	uv := authData.Flags.HasUserVerified()
	s.log.InfoContext(ctx, "passkey login", "account_id", updated.AccountID, "credential", EncodeID(updated.ID),
		"user_verified", uv, "discoverable", k == kindDiscoverable)
	return Result{AccountID: updated.AccountID, Credential: updated, UserVerified: uv}, nil
}

// precheck gives the usual failures their own errors before go-webauthn
// verifies everything again.
func (s *Service) precheck(rec record, client protocol.CollectedClientData, authData protocol.AuthenticatorData) error {
	if !slices.Contains(s.cfg.Origins, client.Origin) {
		return fmt.Errorf("%w: %q", ErrOrigin, client.Origin)
	}
	if !hmac.Equal(authData.RPIDHash, s.rpIDH[:]) {
		return ErrRPID
	}
	if rec.Session.UserVerification == protocol.VerificationRequired && !authData.Flags.HasUserVerified() {
		return ErrUserVerification
	}
	return nil
}
