package storetest

// Fixtures, normalisation and checks shared by the conformance tests.

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kanton/kundencenter/idp"
)

// base is a fixed instant with microsecond precision in a zone other than
// UTC, so that the suite also checks the adapters' time-zone handling.
var base = time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.FixedZone("CET", 3600))

var seq atomic.Int64

// unique returns a value no other call in this process returns.
func unique(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano(), seq.Add(1))
}

func randBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("random bytes: %v", err)
	}
	return b
}

func newAccount(t *testing.T) idp.Account {
	t.Helper()
	id := unique("acc")
	return idp.Account{
		ID:                id,
		KontoID:           "KC-" + id,
		EmailIndex:        randBytes(t, 32),
		Sealed:            randBytes(t, 64),
		PasswordHash:      "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
		Status:            idp.StatusPending,
		Locale:            "de",
		CreatedAt:         base,
		PasswordChangedAt: base,
	}
}

func newActionToken(t *testing.T, accountID string, purpose idp.ActionPurpose) idp.ActionToken {
	t.Helper()
	return idp.ActionToken{
		Hash:      randBytes(t, 32),
		Purpose:   purpose,
		AccountID: accountID,
		CreatedAt: base,
		ExpiresAt: base.Add(time.Hour),
	}
}

func newMail(t *testing.T) idp.Outgoing {
	t.Helper()
	return idp.Outgoing{Kind: "mail", Sealed: randBytes(t, 48)}
}

func newRefreshToken(t *testing.T, accountID, familyID string) idp.RefreshToken {
	t.Helper()
	return idp.RefreshToken{
		ID:        unique("rt"),
		Hash:      randBytes(t, 32),
		FamilyID:  familyID,
		ClientID:  "client-a",
		AccountID: accountID,
		SessionID: unique("sess"),
		Scopes:    []string{"openid", "profile", "offline_access"},
		Audience:  []string{"client-a"},
		AuthTime:  base.Add(-time.Minute),
		AMR:       []string{"pwd", "otp"},
		ACR:       "urn:kanton:loa:2",
		Acting:    idp.Acting{Kind: idp.ActingOrganisation, ID: unique("org")},
		Profile:   unique("prof"),
		CreatedAt: base,
		ExpiresAt: base.Add(540 * 24 * time.Hour),
	}
}

// mustCreateAccount stores a new account with an activation token and
// returns both.
func mustCreateAccount(t *testing.T, s Store) (idp.Account, idp.ActionToken) {
	t.Helper()
	a := newAccount(t)
	tok := newActionToken(t, a.ID, idp.PurposeActivate)
	if err := s.CreateAccount(t.Context(), a, tok); err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	return a, tok
}

func mustCreateRefreshToken(t *testing.T, s Store, accountID, familyID string) idp.RefreshToken {
	t.Helper()
	rt := newRefreshToken(t, accountID, familyID)
	if err := s.CreateRefreshToken(t.Context(), rt); err != nil {
		t.Fatalf("CreateRefreshToken: %v", err)
	}
	return rt
}

// normTime is what an adapter must return for a stored time: UTC,
// truncated to microseconds, the zero time unchanged.
func normTime(tm time.Time) time.Time {
	if tm.IsZero() {
		return time.Time{}
	}
	return tm.UTC().Truncate(time.Microsecond)
}

// normStrings treats nil and empty as the same value.
func normStrings(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func normBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

func normAccount(a idp.Account) idp.Account {
	a.EmailIndex = normBytes(a.EmailIndex)
	a.Sealed = normBytes(a.Sealed)
	a.CreatedAt = normTime(a.CreatedAt)
	a.ActivatedAt = normTime(a.ActivatedAt)
	a.LastLoginAt = normTime(a.LastLoginAt)
	a.PasswordChangedAt = normTime(a.PasswordChangedAt)
	return a
}

func normClient(c idp.Client) idp.Client {
	c.SecretHash = normBytes(c.SecretHash)
	c.RedirectURIs = normStrings(c.RedirectURIs)
	c.PostLogoutRedirectURIs = normStrings(c.PostLogoutRedirectURIs)
	c.GrantTypes = normStrings(c.GrantTypes)
	c.Scopes = normStrings(c.Scopes)
	c.APIScopes = normStrings(c.APIScopes)
	c.CreatedAt = normTime(c.CreatedAt)
	c.UpdatedAt = normTime(c.UpdatedAt)
	return c
}

func normKey(k idp.SigningKey) idp.SigningKey {
	k.Sealed = normBytes(k.Sealed)
	k.Public = normBytes(k.Public)
	k.CreatedAt = normTime(k.CreatedAt)
	k.UpdatedAt = normTime(k.UpdatedAt)
	return k
}

func normRefresh(r idp.RefreshToken) idp.RefreshToken {
	r.Hash = normBytes(r.Hash)
	r.Scopes = normStrings(r.Scopes)
	r.Audience = normStrings(r.Audience)
	r.AMR = normStrings(r.AMR)
	r.AuthTime = normTime(r.AuthTime)
	r.CreatedAt = normTime(r.CreatedAt)
	r.ExpiresAt = normTime(r.ExpiresAt)
	r.UsedAt = normTime(r.UsedAt)
	r.RevokedAt = normTime(r.RevokedAt)
	return r
}

func normAudit(e idp.AuditEvent) idp.AuditEvent {
	e.At = normTime(e.At)
	return e
}

// checkUTC fails unless every non-zero time is in UTC.
func checkUTC(t *testing.T, what string, times ...time.Time) {
	t.Helper()
	for i, tm := range times {
		if !tm.IsZero() && tm.Location() != time.UTC {
			t.Errorf("%s: time #%d is in %v, want UTC", what, i, tm.Location())
		}
	}
}

func checkAccount(t *testing.T, what string, got, want idp.Account) {
	t.Helper()
	checkUTC(t, what, got.CreatedAt, got.ActivatedAt, got.LastLoginAt, got.PasswordChangedAt)
	if g, w := normAccount(got), normAccount(want); !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

func checkRefresh(t *testing.T, what string, got, want idp.RefreshToken) {
	t.Helper()
	checkUTC(t, what, got.AuthTime, got.CreatedAt, got.ExpiresAt, got.UsedAt, got.RevokedAt)
	if g, w := normRefresh(got), normRefresh(want); !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

func checkErr(t *testing.T, what string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("%s: unexpected error %v", what, err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

// checkJobs fails unless the outbox holds exactly the given mails, in order,
// each with ten attempts.
func checkJobs(t *testing.T, s Store, o Options, want ...idp.Outgoing) {
	t.Helper()
	jobs := o.MailJobs(t, s)
	if len(jobs) != len(want) {
		t.Fatalf("outbox holds %d mail jobs, want %d", len(jobs), len(want))
	}
	for i, j := range jobs {
		if !bytes.Equal(j.Sealed, want[i].Sealed) {
			t.Errorf("mail job #%d: sealed payload differs from the Outgoing passed in", i)
		}
		if j.MaxAttempts != 10 {
			t.Errorf("mail job #%d: max attempts %d, want 10", i, j.MaxAttempts)
		}
	}
}

// guard returns a context that ends the test's concurrent calls if a
// backend deadlocks, so that the failure is reported instead of hanging.
func guard(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// outcomes counts the calls of a concurrent test that succeeded and those
// refused with refused; any other error fails the test.
func outcomes(t *testing.T, what string, errs []error, refused error) (ok, no int) {
	t.Helper()
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, refused):
			no++
		default:
			t.Fatalf("%s: %v", what, err)
		}
	}
	return ok, no
}
