package storetest

import (
	"errors"
	"slices"
	"testing"

	"github.com/kanton/kundencenter/idp"
)

// accountClientTests check AccountClients and UpdateAccountTellClients
// (the clients told of an operator's disable or enable).
var accountClientTests = []struct {
	name string
	run  func(t *testing.T, s Store, o Options)
}{
	{"AccountClients", testAccountClients},
	{"UpdateAccountTellClients", testUpdateAccountTellClients},
}

// testAccountClients: the clients an account logged in to and those it
// holds refresh tokens of, each once, ordered; nothing of other accounts.
func testAccountClients(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	a, _ := mustCreateAccount(t, s)
	other, _ := mustCreateAccount(t, s)
	got, err := s.AccountClients(ctx, a.ID)
	if err != nil || len(got) != 0 {
		t.Fatalf("AccountClients of a new account: %v, %v; want none", got, err)
	}
	checkErr(t, "RecordClientUse", s.RecordClientUse(ctx, a.ID, "status", base), nil)
	checkErr(t, "RecordClientUse", s.RecordClientUse(ctx, a.ID, "forms", base), nil)
	checkErr(t, "RecordClientUse again", s.RecordClientUse(ctx, a.ID, "forms", base.Add(1)), nil)
	checkErr(t, "RecordClientUse other", s.RecordClientUse(ctx, other.ID, "zz-other", base), nil)
	rt := newRefreshToken(t, a.ID, unique("fam"))
	rt.ClientID = "documents"
	checkErr(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, rt), nil)
	rt2 := newRefreshToken(t, a.ID, unique("fam"))
	rt2.ClientID = "forms" // used and holding a token: once
	checkErr(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, rt2), nil)
	mustCreateRefreshToken(t, s, other.ID, unique("fam"))

	want := []string{"documents", "forms", "status"}
	got, err = s.AccountClients(ctx, a.ID)
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("AccountClients = %v, %v; want %v", got, err, want)
	}
	got, err = s.AccountClients(ctx, "nobody")
	if err != nil || len(got) != 0 {
		t.Errorf("AccountClients of an unknown account: %v, %v; want none", got, err)
	}
}

// testUpdateAccountTellClients: fn sees the current account and its
// clients; the account and the messages fn returns are written together;
// an error from fn writes neither; an unknown account is ErrNotFound.
func testUpdateAccountTellClients(t *testing.T, s Store, o Options) {
	ctx := t.Context()
	a, _ := mustCreateAccount(t, s)
	checkErr(t, "RecordClientUse", s.RecordClientUse(ctx, a.ID, "status", base), nil)
	checkErr(t, "RecordClientUse", s.RecordClientUse(ctx, a.ID, "forms", base), nil)

	boom := errors.New("boom")
	_, err := s.UpdateAccountTellClients(ctx, a.ID, func(acc idp.Account, _ []string) (idp.Account, []idp.Outgoing, error) {
		acc.Status = idp.StatusDisabled
		return acc, []idp.Outgoing{newMail(t)}, boom
	})
	checkErr(t, "UpdateAccountTellClients aborted", err, boom)
	checkJobs(t, s, o)
	if got, _ := s.GetAccount(ctx, a.ID); got.Status != a.Status {
		t.Errorf("status after an aborted update: %s, want %s", got.Status, a.Status)
	}

	m := newMail(t)
	var seen []string
	got, err := s.UpdateAccountTellClients(ctx, a.ID, func(acc idp.Account, clients []string) (idp.Account, []idp.Outgoing, error) {
		if acc.ID != a.ID || acc.Status != a.Status {
			t.Errorf("fn got %s (%s), want %s (%s)", acc.ID, acc.Status, a.ID, a.Status)
		}
		seen = clients
		acc.Status = idp.StatusDisabled
		return acc, []idp.Outgoing{m}, nil
	})
	checkErr(t, "UpdateAccountTellClients", err, nil)
	if !slices.Equal(seen, []string{"forms", "status"}) {
		t.Errorf("fn saw clients %v, want [forms status]", seen)
	}
	if got.Status != idp.StatusDisabled {
		t.Errorf("returned status %s, want disabled", got.Status)
	}
	if stored, err := s.GetAccount(ctx, a.ID); err != nil || stored.Status != idp.StatusDisabled {
		t.Errorf("stored account: %s, %v; want disabled", stored.Status, err)
	}
	checkJobs(t, s, o, m)

	_, err = s.UpdateAccountTellClients(ctx, "nobody", func(acc idp.Account, _ []string) (idp.Account, []idp.Outgoing, error) {
		return acc, nil, nil
	})
	checkErr(t, "UpdateAccountTellClients unknown account", err, idp.ErrNotFound)
}
