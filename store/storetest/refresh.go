package storetest

// Conformance tests of refresh tokens: creation, rotation, revocation and
// expiry.

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/kanton/kundencenter/idp"
)

func testRefreshTokenCreateGet(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	rt := mustCreateRefreshToken(t, s, "acc-1", unique("fam"))
	bare := idp.RefreshToken{ID: unique("rt"), Hash: randBytes(t, 32), FamilyID: unique("fam"),
		ClientID: "c", AccountID: "acc-1", Scopes: []string{}, ExpiresAt: base}
	checkErr(t, "CreateRefreshToken (bare)", s.CreateRefreshToken(ctx, bare), nil)
	for _, want := range []idp.RefreshToken{rt, bare} {
		got, err := s.GetRefreshToken(ctx, want.Hash)
		checkErr(t, "GetRefreshToken", err, nil)
		checkRefresh(t, "refresh token", got, want)
	}
	_, err := s.GetRefreshToken(ctx, randBytes(t, 32))
	checkErr(t, "GetRefreshToken unknown", err, idp.ErrNotFound)

	tests := []struct {
		name   string
		change func(r *idp.RefreshToken)
	}{
		{"same hash", func(r *idp.RefreshToken) { r.Hash = rt.Hash }},
		{"same ID", func(r *idp.RefreshToken) { r.ID = rt.ID }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRefreshToken(t, "acc-1", unique("fam"))
			tc.change(&r)
			checkErr(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, r), idp.ErrConflict)
		})
	}
}

// child returns a next function for RotateRefreshToken that continues the
// family and records the old token it was given.
func child(t *testing.T, seen *idp.RefreshToken) (func(old idp.RefreshToken) idp.RefreshToken, *idp.RefreshToken) {
	t.Helper()
	var made idp.RefreshToken
	return func(old idp.RefreshToken) idp.RefreshToken {
		if seen != nil {
			*seen = old
		}
		made = newRefreshToken(t, old.AccountID, old.FamilyID)
		made.SessionID = old.SessionID
		made.AuthTime = old.AuthTime
		made.ExpiresAt = old.ExpiresAt
		made.CreatedAt = base.Add(time.Minute)
		return made
	}, &made
}

func testRotateRefreshToken(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	family := unique("fam")
	first := mustCreateRefreshToken(t, s, "acc-1", family)
	bystander := mustCreateRefreshToken(t, s, "acc-1", unique("fam"))

	now := base.Add(time.Minute)
	var seen idp.RefreshToken
	next, made := child(t, &seen)
	second, err := s.RotateRefreshToken(ctx, first.Hash, now, next)
	checkErr(t, "RotateRefreshToken", err, nil)
	wantSeen := first
	wantSeen.UsedAt = now
	if seen.ID != first.ID || !bytes.Equal(seen.Hash, first.Hash) || seen.FamilyID != family {
		t.Errorf("next got %+v, want the old token %+v", seen, first)
	}
	checkRefresh(t, "returned token", second, *made)
	got, err := s.GetRefreshToken(ctx, second.Hash)
	checkErr(t, "GetRefreshToken new", err, nil)
	checkRefresh(t, "stored new token", got, *made)
	got, err = s.GetRefreshToken(ctx, first.Hash)
	checkErr(t, "GetRefreshToken old", err, nil)
	checkRefresh(t, "stored old token", got, wantSeen)

	// Rotate the second token too: a chain works.
	next, made = child(t, nil)
	third, err := s.RotateRefreshToken(ctx, second.Hash, now.Add(time.Minute), next)
	checkErr(t, "RotateRefreshToken second", err, nil)
	checkRefresh(t, "third token", third, *made)

	// Reuse of the first token revokes the whole family, and it stays revoked.
	reuse := now.Add(2 * time.Minute)
	_, err = s.RotateRefreshToken(ctx, first.Hash, reuse, func(old idp.RefreshToken) idp.RefreshToken {
		t.Error("next called for a used token")
		return newRefreshToken(t, old.AccountID, old.FamilyID)
	})
	checkErr(t, "RotateRefreshToken reuse", err, idp.ErrReused)
	for _, h := range [][]byte{first.Hash, second.Hash, third.Hash} {
		got, err := s.GetRefreshToken(ctx, h)
		checkErr(t, "GetRefreshToken after reuse", err, nil)
		if !got.RevokedAt.Equal(reuse) {
			t.Errorf("token %s: RevokedAt %v, want %v", got.ID, got.RevokedAt, reuse)
		}
	}
	got, err = s.GetRefreshToken(ctx, bystander.Hash)
	checkErr(t, "GetRefreshToken bystander", err, nil)
	checkRefresh(t, "bystander", got, bystander)

	// The newest token of the revoked family is not found; the used ones
	// still count as reuse.
	_, err = s.RotateRefreshToken(ctx, third.Hash, reuse, func(old idp.RefreshToken) idp.RefreshToken {
		t.Error("next called for a revoked token")
		return old
	})
	checkErr(t, "RotateRefreshToken revoked", err, idp.ErrNotFound)
	_, err = s.RotateRefreshToken(ctx, second.Hash, reuse.Add(time.Minute), func(old idp.RefreshToken) idp.RefreshToken {
		t.Error("next called for a used token")
		return old
	})
	checkErr(t, "RotateRefreshToken used and revoked", err, idp.ErrReused)
	got, err = s.GetRefreshToken(ctx, third.Hash)
	checkErr(t, "GetRefreshToken third", err, nil)
	if !got.RevokedAt.Equal(reuse) {
		t.Errorf("a second revocation moved RevokedAt from %v to %v", reuse, got.RevokedAt)
	}
}

func testRotateRefreshTokenErrors(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	live := mustCreateRefreshToken(t, s, "acc-1", unique("fam"))
	revoked := mustCreateRefreshToken(t, s, "acc-1", unique("fam"))
	checkErr(t, "RevokeRefreshFamily", s.RevokeRefreshFamily(ctx, revoked.FamilyID, base), nil)
	notCalled := func(old idp.RefreshToken) idp.RefreshToken {
		t.Error("next called")
		return old
	}
	tests := []struct {
		name    string
		hash    []byte
		now     time.Time
		next    func(old idp.RefreshToken) idp.RefreshToken
		wantErr error
	}{
		{"unknown", randBytes(t, 32), base, notCalled, idp.ErrNotFound},
		{"revoked", revoked.Hash, base, notCalled, idp.ErrNotFound},
		{"expired exactly now", live.Hash, live.ExpiresAt, notCalled, idp.ErrNotFound},
		{"expired", live.Hash, live.ExpiresAt.Add(time.Hour), notCalled, idp.ErrNotFound},
		{"next hash taken", live.Hash, base, func(old idp.RefreshToken) idp.RefreshToken {
			n := newRefreshToken(t, old.AccountID, old.FamilyID)
			n.Hash = revoked.Hash
			return n
		}, idp.ErrConflict},
		{"next ID taken", live.Hash, base, func(old idp.RefreshToken) idp.RefreshToken {
			n := newRefreshToken(t, old.AccountID, old.FamilyID)
			n.ID = revoked.ID
			return n
		}, idp.ErrConflict},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.RotateRefreshToken(ctx, tc.hash, tc.now, tc.next)
			checkErr(t, "RotateRefreshToken", err, tc.wantErr)
			got, err := s.GetRefreshToken(ctx, live.Hash)
			checkErr(t, "GetRefreshToken live", err, nil)
			checkRefresh(t, "live token after failure", got, live)
		})
	}
	// The live token still rotates.
	next, made := child(t, nil)
	got, err := s.RotateRefreshToken(ctx, live.Hash, base, next)
	checkErr(t, "RotateRefreshToken live", err, nil)
	checkRefresh(t, "rotated", got, *made)
}

func testRotateRefreshTokenConcurrent(t *testing.T, s Store, _ Options) {
	ctx := guard(t)
	rt := mustCreateRefreshToken(t, s, "acc-1", unique("fam"))
	const n = 20
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make([]error, n)
		got   = make([]idp.RefreshToken, n)
		now   = base.Add(time.Minute)
	)
	for i := range n {
		wg.Go(func() {
			<-start
			next := func(old idp.RefreshToken) idp.RefreshToken {
				c := newRefreshToken(t, old.AccountID, old.FamilyID)
				c.ExpiresAt = old.ExpiresAt
				return c
			}
			got[i], errs[i] = s.RotateRefreshToken(ctx, rt.Hash, now, next)
		})
	}
	close(start)
	wg.Wait()
	// One rotation wins; one more may pass as the single retry that
	// idp.RefreshRetryWindow allows (a lost response), never a third.
	winner, retries := -1, 0
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0 && retries == 0:
			retries++
		case err == nil && winner >= 0:
			t.Errorf("rotations %d and %d and a retry all succeeded", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, idp.ErrReused):
			t.Errorf("rotation %d: got error %v, want ErrReused", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no rotation succeeded")
	}
	for _, h := range [][]byte{rt.Hash, got[winner].Hash} {
		tok, err := s.GetRefreshToken(t.Context(), h)
		checkErr(t, "GetRefreshToken", err, nil)
		if tok.RevokedAt.IsZero() {
			t.Errorf("token %s of the reused family is not revoked", tok.ID)
		}
	}
}

func testRevokeRefreshTokens(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	famA, famB := unique("fam"), unique("fam")
	a1 := mustCreateRefreshToken(t, s, "acc-1", famA)
	a2 := mustCreateRefreshToken(t, s, "acc-1", famA)
	b1 := mustCreateRefreshToken(t, s, "acc-1", famB)
	c1 := mustCreateRefreshToken(t, s, "acc-2", unique("fam"))

	check := func(t *testing.T, what string, rt idp.RefreshToken, revokedAt time.Time) {
		t.Helper()
		got, err := s.GetRefreshToken(ctx, rt.Hash)
		checkErr(t, "GetRefreshToken", err, nil)
		want := rt
		want.RevokedAt = revokedAt
		checkRefresh(t, what, got, want)
	}
	t1 := base.Add(time.Hour)
	checkErr(t, "RevokeRefreshFamily", s.RevokeRefreshFamily(ctx, famA, t1), nil)
	checkErr(t, "RevokeRefreshFamily unknown", s.RevokeRefreshFamily(ctx, "no-family", t1), nil)
	check(t, "a1", a1, t1)
	check(t, "a2", a2, t1)
	check(t, "b1", b1, time.Time{})
	check(t, "c1", c1, time.Time{})

	t2 := base.Add(2 * time.Hour)
	checkErr(t, "RevokeAccountRefreshTokens", s.RevokeAccountRefreshTokens(ctx, "acc-1", t2), nil)
	checkErr(t, "RevokeAccountRefreshTokens unknown", s.RevokeAccountRefreshTokens(ctx, "nobody", t2), nil)
	check(t, "a1 (kept its first revocation)", a1, t1)
	check(t, "b1", b1, t2)
	check(t, "c1", c1, time.Time{})
}

func testDeleteExpiredRefreshTokens(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	mk := func(expires time.Time) idp.RefreshToken {
		rt := newRefreshToken(t, "acc-1", unique("fam"))
		rt.ExpiresAt = expires
		checkErr(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, rt), nil)
		return rt
	}
	cut := base.Add(24 * time.Hour)
	gone := []idp.RefreshToken{mk(base), mk(cut.Add(-time.Microsecond))}
	kept := []idp.RefreshToken{mk(cut), mk(cut.Add(time.Hour))}
	n, err := s.DeleteExpiredRefreshTokens(ctx, cut)
	checkErr(t, "DeleteExpiredRefreshTokens", err, nil)
	if n != len(gone) {
		t.Errorf("DeleteExpiredRefreshTokens removed %d, want %d", n, len(gone))
	}
	for _, rt := range gone {
		_, err := s.GetRefreshToken(ctx, rt.Hash)
		checkErr(t, "GetRefreshToken expired", err, idp.ErrNotFound)
	}
	for _, rt := range kept {
		_, err := s.GetRefreshToken(ctx, rt.Hash)
		checkErr(t, "GetRefreshToken kept", err, nil)
	}
	n, err = s.DeleteExpiredRefreshTokens(ctx, cut)
	checkErr(t, "DeleteExpiredRefreshTokens again", err, nil)
	if n != 0 {
		t.Errorf("DeleteExpiredRefreshTokens again removed %d, want 0", n)
	}
}
