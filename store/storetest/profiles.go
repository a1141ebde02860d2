package storetest

import (
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/kanton/kundencenter/idp"
)

// profileTests are the conformance tests of idp.ProfileStore.
var profileTests = []struct {
	name string
	run  func(t *testing.T, s Store, o Options)
}{
	{"ProfileCreateGetList", testProfileCreateGetList},
	{"ProfileErrors", testProfileErrors},
	{"ProfileLimit", testProfileLimit},
	{"EnsureProfile", testEnsureProfile},
	{"UpdateProfile", testUpdateProfile},
	{"DeleteProfile", testDeleteProfile},
	{"DeleteProfileRevokesGrants", testDeleteProfileRevokesGrants},
	{"DeleteLastProfileConcurrent", testDeleteLastProfileConcurrent},
	{"ProfileChoice", testProfileChoice},
	{"DeleteAccountRemovesProfiles", testDeleteAccountRemovesProfiles},
	{"PurgeAccountRemovesProfiles", testPurgeAccountRemovesProfiles},
}

func newProfile(t *testing.T, accountID string) idp.Profile {
	t.Helper()
	return idp.Profile{ID: unique("prof"), AccountID: accountID, Sealed: randBytes(t, 48),
		CreatedAt: base, UpdatedAt: base.Add(time.Second)}
}

func normProfile(p idp.Profile) idp.Profile {
	p.Sealed = normBytes(p.Sealed)
	p.CreatedAt = normTime(p.CreatedAt)
	p.UpdatedAt = normTime(p.UpdatedAt)
	return p
}

func checkProfile(t *testing.T, what string, got, want idp.Profile) {
	t.Helper()
	checkUTC(t, what, got.CreatedAt, got.UpdatedAt)
	if g, w := normProfile(got), normProfile(want); !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

func checkProfiles(t *testing.T, s Store, accountID string, want ...idp.Profile) {
	t.Helper()
	got, err := s.ListProfiles(t.Context(), accountID)
	checkErr(t, "ListProfiles", err, nil)
	if len(got) != len(want) {
		t.Fatalf("ListProfiles(%s) returned %d profiles, want %d: %+v", accountID, len(got), len(want), got)
	}
	for i := range got {
		checkProfile(t, "ListProfiles", got[i], want[i])
	}
}

func mustCreateProfile(t *testing.T, s Store, p idp.Profile) {
	t.Helper()
	if err := s.CreateProfile(t.Context(), p, idp.MaxProfiles); err != nil {
		t.Fatalf("CreateProfile: %v", err)
	}
}

func testProfileCreateGetList(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	a, _ := mustCreateAccount(t, s)
	checkProfiles(t, s, a.ID)

	main := newProfile(t, a.ID)
	main.Main = true
	mustCreateProfile(t, s, main)
	got, err := s.GetProfile(ctx, a.ID, main.ID)
	checkErr(t, "GetProfile", err, nil)
	checkProfile(t, "GetProfile", got, main)

	// Listed oldest first, whatever the order of creation.
	older := newProfile(t, a.ID)
	older.CreatedAt = base.Add(-time.Hour)
	later := newProfile(t, a.ID)
	later.CreatedAt = base.Add(time.Hour)
	mustCreateProfile(t, s, later)
	mustCreateProfile(t, s, older)
	checkProfiles(t, s, a.ID, older, main, later)

	other, _ := mustCreateAccount(t, s)
	checkProfiles(t, s, other.ID)
	checkProfiles(t, s, "no-such-account")
}

func testProfileErrors(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	a, _ := mustCreateAccount(t, s)
	other, _ := mustCreateAccount(t, s)
	p := newProfile(t, a.ID)
	mustCreateProfile(t, s, p)

	dup := newProfile(t, other.ID)
	dup.ID = p.ID
	checkErr(t, "CreateProfile with a taken ID", s.CreateProfile(ctx, dup, idp.MaxProfiles), idp.ErrConflict)
	checkErr(t, "CreateProfile for an unknown account", s.CreateProfile(ctx, newProfile(t, "no-such-account"), idp.MaxProfiles), idp.ErrNotFound)

	// Another account's profile is not found through this one.
	_, err := s.GetProfile(ctx, other.ID, p.ID)
	checkErr(t, "GetProfile of another account", err, idp.ErrNotFound)
	_, err = s.GetProfile(ctx, a.ID, "no-such-profile")
	checkErr(t, "GetProfile unknown", err, idp.ErrNotFound)
	_, err = s.UpdateProfile(ctx, other.ID, p.ID, func(p idp.Profile) (idp.Profile, error) { return p, nil })
	checkErr(t, "UpdateProfile of another account", err, idp.ErrNotFound)
	mustCreateProfile(t, s, newProfile(t, other.ID))
	mustCreateProfile(t, s, newProfile(t, other.ID))
	checkErr(t, "DeleteProfile of another account", s.DeleteProfile(ctx, other.ID, p.ID), idp.ErrNotFound)
	got, err := s.GetProfile(ctx, a.ID, p.ID)
	checkErr(t, "GetProfile after the refusals", err, nil)
	checkProfile(t, "GetProfile after the refusals", got, p)
}

func testProfileLimit(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	a, _ := mustCreateAccount(t, s)
	for range 3 {
		checkErr(t, "CreateProfile under the limit", s.CreateProfile(ctx, newProfile(t, a.ID), 3), nil)
	}
	checkErr(t, "CreateProfile at the limit", s.CreateProfile(ctx, newProfile(t, a.ID), 3), idp.ErrProfileLimit)
	got, err := s.ListProfiles(ctx, a.ID)
	checkErr(t, "ListProfiles", err, nil)
	if len(got) != 3 {
		t.Fatalf("%d profiles after the refusal, want 3", len(got))
	}
	// Concurrent creations never pass the limit.
	b, _ := mustCreateAccount(t, s)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		created int
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.CreateProfile(ctx, newProfile(t, b.ID), 3)
			if err != nil && !errors.Is(err, idp.ErrProfileLimit) {
				t.Errorf("concurrent CreateProfile: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				created++
			}
		}()
	}
	wg.Wait()
	got, err = s.ListProfiles(ctx, b.ID)
	checkErr(t, "ListProfiles", err, nil)
	if created != 3 || len(got) != 3 {
		t.Fatalf("concurrent creations at a limit of 3: %d succeeded, %d stored", created, len(got))
	}
}

func testEnsureProfile(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	a, _ := mustCreateAccount(t, s)
	main := newProfile(t, a.ID)
	main.Main = true
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		stored int
	)
	// Racing materialisations (different IDs, so only the rule "no
	// profile yet" can stop them) store exactly one.
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := main
			if i > 0 {
				p.ID = unique("prof")
			}
			ok, err := s.EnsureProfile(ctx, p)
			if err != nil {
				t.Errorf("EnsureProfile: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if ok {
				stored++
			}
		}()
	}
	wg.Wait()
	got, err := s.ListProfiles(ctx, a.ID)
	checkErr(t, "ListProfiles", err, nil)
	if stored != 1 || len(got) != 1 {
		t.Fatalf("concurrent EnsureProfile: %d reported stored, %d stored", stored, len(got))
	}
	ok, err := s.EnsureProfile(ctx, newProfile(t, a.ID))
	checkErr(t, "EnsureProfile again", err, nil)
	if ok {
		t.Error("EnsureProfile stored a profile for an account that has one")
	}
	_, err = s.EnsureProfile(ctx, newProfile(t, "no-such-account"))
	checkErr(t, "EnsureProfile for an unknown account", err, idp.ErrNotFound)
}

func testUpdateProfile(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	a, _ := mustCreateAccount(t, s)
	p := newProfile(t, a.ID)
	mustCreateProfile(t, s, p)

	want := p
	want.Sealed, want.Main, want.UpdatedAt = randBytes(t, 56), true, base.Add(time.Hour)
	got, err := s.UpdateProfile(ctx, a.ID, p.ID, func(old idp.Profile) (idp.Profile, error) {
		checkProfile(t, "UpdateProfile gets", old, p)
		old.Sealed, old.Main, old.UpdatedAt = want.Sealed, want.Main, want.UpdatedAt
		return old, nil
	})
	checkErr(t, "UpdateProfile", err, nil)
	checkProfile(t, "UpdateProfile returns", got, want)
	stored, err := s.GetProfile(ctx, a.ID, p.ID)
	checkErr(t, "GetProfile", err, nil)
	checkProfile(t, "GetProfile after UpdateProfile", stored, want)

	// An error from fn, or a change of what cannot change, writes nothing.
	boom := errors.New("boom")
	_, err = s.UpdateProfile(ctx, a.ID, p.ID, func(old idp.Profile) (idp.Profile, error) {
		old.Sealed = randBytes(t, 8)
		return old, boom
	})
	checkErr(t, "UpdateProfile aborted", err, boom)
	for _, change := range []func(*idp.Profile){
		func(p *idp.Profile) { p.ID = "other" },
		func(p *idp.Profile) { p.AccountID = "other" },
		func(p *idp.Profile) { p.CreatedAt = base.Add(time.Minute) },
	} {
		_, err = s.UpdateProfile(ctx, a.ID, p.ID, func(old idp.Profile) (idp.Profile, error) {
			old.Sealed = randBytes(t, 8)
			change(&old)
			return old, nil
		})
		if err == nil {
			t.Error("UpdateProfile changed the ID, account or creation time")
		}
	}
	stored, err = s.GetProfile(ctx, a.ID, p.ID)
	checkErr(t, "GetProfile", err, nil)
	checkProfile(t, "GetProfile after refused updates", stored, want)
	_, err = s.UpdateProfile(ctx, a.ID, "no-such-profile", func(p idp.Profile) (idp.Profile, error) { return p, nil })
	checkErr(t, "UpdateProfile unknown", err, idp.ErrNotFound)
}

func testDeleteProfile(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	a, _ := mustCreateAccount(t, s)
	first, second := newProfile(t, a.ID), newProfile(t, a.ID)
	second.CreatedAt = base.Add(time.Minute)
	mustCreateProfile(t, s, first)
	mustCreateProfile(t, s, second)
	checkErr(t, "PutProfileChoice", s.PutProfileChoice(ctx, idp.ProfileChoice{AccountID: a.ID, ClientID: "svc",
		ProfileID: second.ID, ChosenAt: base}), nil)

	checkErr(t, "DeleteProfile", s.DeleteProfile(ctx, a.ID, second.ID), nil)
	checkProfiles(t, s, a.ID, first)
	checkErr(t, "DeleteProfile again", s.DeleteProfile(ctx, a.ID, second.ID), idp.ErrNotFound)
	_, err := s.GetProfileChoice(ctx, a.ID, "svc")
	checkErr(t, "GetProfileChoice of a deleted profile", err, idp.ErrNotFound)

	checkErr(t, "DeleteProfile of the last", s.DeleteProfile(ctx, a.ID, first.ID), idp.ErrLastProfile)
	checkProfiles(t, s, a.ID, first)
}

// testDeleteLastProfileConcurrent: two deletions of an account's last two
// profiles at once leave one profile.
func testDeleteLastProfileConcurrent(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	for range 5 {
		a, _ := mustCreateAccount(t, s)
		ps := []idp.Profile{newProfile(t, a.ID), newProfile(t, a.ID)}
		for _, p := range ps {
			mustCreateProfile(t, s, p)
		}
		errs := make([]error, len(ps))
		var wg sync.WaitGroup
		for i, p := range ps {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.DeleteProfile(ctx, a.ID, p.ID)
			}()
		}
		wg.Wait()
		ok, last := outcomes(t, "concurrent DeleteProfile", errs, idp.ErrLastProfile)
		got, err := s.ListProfiles(ctx, a.ID)
		checkErr(t, "ListProfiles", err, nil)
		if ok != 1 || last != 1 || len(got) != 1 {
			t.Fatalf("concurrent deletions of the last two: %d deleted, %d refused, %d left", ok, last, len(got))
		}
	}
}

func testProfileChoice(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	a, _ := mustCreateAccount(t, s)
	other, _ := mustCreateAccount(t, s)
	p1, p2 := newProfile(t, a.ID), newProfile(t, a.ID)
	foreign := newProfile(t, other.ID)
	for _, p := range []idp.Profile{p1, p2, foreign} {
		mustCreateProfile(t, s, p)
	}
	_, err := s.GetProfileChoice(ctx, a.ID, "svc")
	checkErr(t, "GetProfileChoice before any", err, idp.ErrNotFound)

	want := idp.ProfileChoice{AccountID: a.ID, ClientID: "svc", ProfileID: p1.ID, ChosenAt: base}
	checkErr(t, "PutProfileChoice", s.PutProfileChoice(ctx, want), nil)
	checkChoice := func(what string, clientID string, want idp.ProfileChoice) {
		t.Helper()
		got, err := s.GetProfileChoice(ctx, a.ID, clientID)
		checkErr(t, what, err, nil)
		checkUTC(t, what, got.ChosenAt)
		got.ChosenAt, want.ChosenAt = normTime(got.ChosenAt), normTime(want.ChosenAt)
		if got != want {
			t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
		}
	}
	checkChoice("GetProfileChoice", "svc", want)

	// A new choice replaces the old; other services keep theirs.
	other2 := idp.ProfileChoice{AccountID: a.ID, ClientID: "other", ProfileID: p1.ID, ChosenAt: base}
	checkErr(t, "PutProfileChoice other", s.PutProfileChoice(ctx, other2), nil)
	want.ProfileID, want.ChosenAt = p2.ID, base.Add(time.Hour)
	checkErr(t, "PutProfileChoice again", s.PutProfileChoice(ctx, want), nil)
	checkChoice("GetProfileChoice after the change", "svc", want)
	checkChoice("GetProfileChoice of another service", "other", other2)

	// A profile of another account, or none, cannot be chosen.
	bad := want
	bad.ProfileID = foreign.ID
	checkErr(t, "PutProfileChoice of a foreign profile", s.PutProfileChoice(ctx, bad), idp.ErrNotFound)
	bad.ProfileID = "no-such-profile"
	checkErr(t, "PutProfileChoice of an unknown profile", s.PutProfileChoice(ctx, bad), idp.ErrNotFound)
	checkChoice("GetProfileChoice after the refusals", "svc", want)
}

func testDeleteAccountRemovesProfiles(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	a, _ := mustCreateAccount(t, s)
	other, _ := mustCreateAccount(t, s)
	p, keep := newProfile(t, a.ID), newProfile(t, other.ID)
	mustCreateProfile(t, s, p)
	mustCreateProfile(t, s, keep)
	checkErr(t, "PutProfileChoice", s.PutProfileChoice(ctx, idp.ProfileChoice{AccountID: a.ID, ClientID: "svc",
		ProfileID: p.ID, ChosenAt: base}), nil)
	checkErr(t, "DeleteAccount", s.DeleteAccount(ctx, a.ID), nil)
	checkProfiles(t, s, a.ID)
	_, err := s.GetProfileChoice(ctx, a.ID, "svc")
	checkErr(t, "GetProfileChoice", err, idp.ErrNotFound)
	checkProfiles(t, s, other.ID, keep)
}

func testPurgeAccountRemovesProfiles(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	a, _ := mustCreateAccount(t, s)
	p := newProfile(t, a.ID)
	mustCreateProfile(t, s, p)
	checkErr(t, "PutProfileChoice", s.PutProfileChoice(ctx, idp.ProfileChoice{AccountID: a.ID, ClientID: "svc",
		ProfileID: p.ID, ChosenAt: base}), nil)
	checkErr(t, "PurgeAccount", s.PurgeAccount(ctx, idp.Purge{AccountID: a.ID, Event: idp.EventAccountPurged, At: base}), nil)
	checkProfiles(t, s, a.ID)
	_, err := s.GetProfileChoice(ctx, a.ID, "svc")
	checkErr(t, "GetProfileChoice", err, idp.ErrNotFound)
}

// testDeleteProfileRevokesGrants: the refresh tokens that show a profile to
// a service are revoked with it; others are not.
func testDeleteProfileRevokesGrants(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	a, _ := mustCreateAccount(t, s)
	p1, p2 := newProfile(t, a.ID), newProfile(t, a.ID)
	for _, p := range []idp.Profile{p1, p2} {
		checkErr(t, "CreateProfile", s.CreateProfile(ctx, p, 10), nil)
	}
	gone := newRefreshToken(t, a.ID, unique("fam"))
	gone.Profile = p1.ID
	kept := newRefreshToken(t, a.ID, unique("fam"))
	kept.Profile = p2.ID
	for _, rt := range []idp.RefreshToken{gone, kept} {
		checkErr(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, rt), nil)
	}
	checkErr(t, "DeleteProfile", s.DeleteProfile(ctx, a.ID, p1.ID), nil)
	if got, err := s.GetRefreshToken(ctx, gone.Hash); err != nil || got.RevokedAt.IsZero() {
		t.Fatalf("grant of the deleted profile: revoked at %v (%v)", got.RevokedAt, err)
	}
	if got, err := s.GetRefreshToken(ctx, kept.Hash); err != nil || !got.RevokedAt.IsZero() {
		t.Fatalf("grant of another profile: revoked at %v (%v)", got.RevokedAt, err)
	}
}
