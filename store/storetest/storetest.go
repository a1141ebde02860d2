package storetest

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/mfa"
)

// Job is one mail job found in River's job table, as the outbox wrote it.
type Job struct {
	Sealed      []byte // notify.MailArgs.Sealed
	MaxAttempts int
}

// Options carries what the suite needs to know about the adapter beyond
// the Store contract.
type Options struct {
	// MailJobs returns the mail jobs River holds in s's database, in
	// insertion order. It is required.
	MailJobs func(t *testing.T, s idp.Store) []Job
}

// Store is what a durable store adapter implements: the identity
// provider's state and the second factors kept beside it.
type Store interface {
	idp.Store
	mfa.Store
	mfa.WebAuthnStore
}

// Run runs the conformance suite. open must return a fresh, empty store
// for every call (and close it at the test's cleanup).
func Run(t *testing.T, open func(t *testing.T) Store, opts Options) {
	t.Helper()
	if opts.MailJobs == nil {
		t.Fatal("storetest: Options.MailJobs is required")
	}
	tests := []struct {
		name string
		run  func(t *testing.T, s Store, o Options)
	}{
		{"Ping", testPing},
		{"AccountCreateGet", testAccountCreateGet},
		{"AccountNotFound", testAccountNotFound},
		{"AccountConflict", testAccountConflict},
		{"AccountCreateUnknownKind", testAccountCreateUnknownKind},
		{"TimePrecision", testTimePrecision},
		{"UpdateAccount", testUpdateAccount},
		{"RecordLogin", testRecordLogin},
		{"UpdateAccountAborts", testUpdateAccountAborts},
		{"UpdateAccountConcurrent", testUpdateAccountConcurrent},
		{"DeleteAccount", testDeleteAccount},
		{"ActionToken", testActionToken},
		{"ActionTokenErrors", testActionTokenErrors},
		{"ActionTokenAbort", testActionTokenAbort},
		{"ActionTokenConcurrent", testActionTokenConcurrent},
		{"Clients", testClients},
		{"SigningKeys", testSigningKeys},
		{"RefreshTokenCreateGet", testRefreshTokenCreateGet},
		{"RotateRefreshToken", testRotateRefreshToken},
		{"RotateRefreshTokenErrors", testRotateRefreshTokenErrors},
		{"RotateRefreshTokenConcurrent", testRotateRefreshTokenConcurrent},
		{"RevokeRefreshTokens", testRevokeRefreshTokens},
		{"DeleteExpiredRefreshTokens", testDeleteExpiredRefreshTokens},
		{"EnqueueOutgoing", testEnqueueOutgoing},
		{"Audit", testAudit},
	}
	tests = append(tests, mfaTests...)
	tests = append(tests, lifecycleTests...)
	tests = append(tests, accountClientTests...)
	tests = append(tests, profileTests...)
	tests = append(tests, unlinkTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // every test has a store of its own
			tc.run(t, open(t), opts)
		})
	}
	runWebAuthn(t, open, opts)
	runLinks(t, open, opts)
	runSubjects(t, open, opts) // subjects.go
}

func testClients(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	b := idp.Client{
		ID:                     "b-portal",
		SecretHash:             randBytes(t, 32),
		Name:                   "Steuerportal",
		RedirectURIs:           []string{"https://steuern.example.ch/callback", "https://steuern.example.ch/cb2"},
		PostLogoutRedirectURIs: []string{"https://steuern.example.ch/"},
		GrantTypes:             []string{idp.GrantAuthorizationCode, idp.GrantRefreshToken},
		AccessTokenType:        "jwt",
		Level:                  "urn:kanton:loa:2",
		BackChannelLogoutURI:   "https://steuern.example.ch/backchannel",
		EventsURI:              "https://steuern.example.ch/events",
		Scopes:                 []string{"cases:write", "documents:read"},
		APIScopes:              []string{"tax:read"},
		CreatedAt:              base,
		UpdatedAt:              base.Add(time.Second),
	}
	a := idp.Client{
		ID:              "a-app",
		Name:            "Mobile App",
		RedirectURIs:    []string{"ch.kanton.app:/callback"},
		GrantTypes:      []string{idp.GrantAuthorizationCode},
		Public:          true,
		AccessTokenType: "opaque",
		CreatedAt:       base,
	}
	empty := idp.Client{ID: "c-empty", RedirectURIs: []string{}, GrantTypes: nil}
	for _, c := range []idp.Client{b, a, empty} {
		checkErr(t, "PutClient "+c.ID, s.PutClient(ctx, c), nil)
	}
	for _, c := range []idp.Client{a, b, empty} {
		got, err := s.GetClient(ctx, c.ID)
		checkErr(t, "GetClient "+c.ID, err, nil)
		checkUTC(t, "client", got.CreatedAt, got.UpdatedAt)
		if g, w := normClient(got), normClient(c); !reflect.DeepEqual(g, w) {
			t.Errorf("GetClient %s:\n got %+v\nwant %+v", c.ID, g, w)
		}
	}

	// Replace.
	b.Name = "Steuern online"
	b.RedirectURIs = []string{"https://steuern.example.ch/new"}
	b.Scopes = []string{"cases:read"}
	b.APIScopes = nil
	b.UpdatedAt = base.Add(time.Hour)
	checkErr(t, "PutClient replace", s.PutClient(ctx, b), nil)

	list, err := s.ListClients(ctx)
	checkErr(t, "ListClients", err, nil)
	want := []idp.Client{a, b, empty}
	if len(list) != len(want) {
		t.Fatalf("ListClients: %d clients, want %d", len(list), len(want))
	}
	for i := range want {
		if g, w := normClient(list[i]), normClient(want[i]); !reflect.DeepEqual(g, w) {
			t.Errorf("ListClients[%d]:\n got %+v\nwant %+v", i, g, w)
		}
	}

	checkErr(t, "DeleteClient", s.DeleteClient(ctx, a.ID), nil)
	checkErr(t, "DeleteClient again", s.DeleteClient(ctx, a.ID), idp.ErrNotFound)
	_, err = s.GetClient(ctx, a.ID)
	checkErr(t, "GetClient deleted", err, idp.ErrNotFound)
	list, err = s.ListClients(ctx)
	checkErr(t, "ListClients after delete", err, nil)
	if len(list) != 2 || list[0].ID != b.ID || list[1].ID != empty.ID {
		t.Errorf("ListClients after delete: %d clients", len(list))
	}
}

func testSigningKeys(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	keys, err := s.ListSigningKeys(ctx)
	checkErr(t, "ListSigningKeys (empty)", err, nil)
	if len(keys) != 0 {
		t.Fatalf("ListSigningKeys on an empty store: %d keys", len(keys))
	}
	newKey := func(id string, state idp.KeyState, created time.Time) idp.SigningKey {
		return idp.SigningKey{ID: id, Algorithm: "ES256", Sealed: randBytes(t, 80), Public: randBytes(t, 91),
			State: state, CreatedAt: created, UpdatedAt: created}
	}
	// IDs in the opposite order of creation, so the order must come from CreatedAt.
	old := newKey("k3", idp.KeyActive, base)
	next := newKey("k1", idp.KeyNext, base.Add(24*time.Hour))
	checkErr(t, "PutSigningKeys", s.PutSigningKeys(ctx, next, old), nil)

	// Rotate: both change state in one call.
	old.State, old.UpdatedAt = idp.KeyRetired, base.Add(48*time.Hour)
	next.State, next.UpdatedAt = idp.KeyActive, base.Add(48*time.Hour)
	newest := newKey("k2", idp.KeyNext, base.Add(48*time.Hour))
	checkErr(t, "PutSigningKeys rotation", s.PutSigningKeys(ctx, old, next, newest), nil)

	keys, err = s.ListSigningKeys(ctx)
	checkErr(t, "ListSigningKeys", err, nil)
	want := []idp.SigningKey{old, next, newest}
	if len(keys) != len(want) {
		t.Fatalf("ListSigningKeys: %d keys, want %d", len(keys), len(want))
	}
	for i := range want {
		checkUTC(t, "key", keys[i].CreatedAt, keys[i].UpdatedAt)
		if g, w := normKey(keys[i]), normKey(want[i]); !reflect.DeepEqual(g, w) {
			t.Errorf("ListSigningKeys[%d]:\n got %+v\nwant %+v", i, g, w)
		}
	}

	checkErr(t, "DeleteSigningKey", s.DeleteSigningKey(ctx, old.ID), nil)
	checkErr(t, "DeleteSigningKey again", s.DeleteSigningKey(ctx, old.ID), idp.ErrNotFound)
	keys, err = s.ListSigningKeys(ctx)
	checkErr(t, "ListSigningKeys after delete", err, nil)
	if len(keys) != 2 || keys[0].ID != next.ID || keys[1].ID != newest.ID {
		t.Errorf("ListSigningKeys after delete: %d keys", len(keys))
	}
}

func testEnqueueOutgoing(t *testing.T, s Store, o Options) {
	ctx := t.Context()
	checkErr(t, "EnqueueOutgoing nothing", s.EnqueueOutgoing(ctx), nil)
	checkJobs(t, s, o)
	if err := s.EnqueueOutgoing(ctx, newMail(t), idp.Outgoing{Kind: "sms", Sealed: []byte("x")}); err == nil {
		t.Fatal("EnqueueOutgoing with an unknown kind: no error")
	}
	checkJobs(t, s, o)
	m1, m2 := newMail(t), newMail(t)
	checkErr(t, "EnqueueOutgoing", s.EnqueueOutgoing(ctx, m1, m2), nil)
	checkJobs(t, s, o, m1, m2)
}

func testAudit(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	events := []idp.AuditEvent{
		{At: base, Actor: "system", Action: "client.created", Subject: "client-a", Detail: "redirect_uris"},
		{At: base.Add(time.Second), Actor: "acc-1", Action: "account.registered", Subject: "acc-1"},
		{At: base.Add(2 * time.Second), Actor: "acc-1", Action: "account.activated", Subject: "acc-1"},
		// Same instant as the previous one: insertion order breaks the tie.
		{At: base.Add(2 * time.Second), Actor: "acc-1", Action: "account.password_changed", Subject: "acc-1", Detail: "password"},
		{At: base.Add(3 * time.Second), Actor: "acc-2", Action: "account.registered", Subject: "acc-2"},
	}
	// One at a time, two in one call (in their order), none.
	checkErr(t, "AppendAudit", s.AppendAudit(ctx, events[0]), nil)
	checkErr(t, "AppendAudit", s.AppendAudit(ctx, events[1]), nil)
	checkErr(t, "AppendAudit two", s.AppendAudit(ctx, events[2], events[3]), nil)
	checkErr(t, "AppendAudit none", s.AppendAudit(ctx), nil)
	checkErr(t, "AppendAudit", s.AppendAudit(ctx, events[4]), nil)
	reversed := slices.Clone(events)
	slices.Reverse(reversed)
	tests := []struct {
		name    string
		subject string
		limit   int
		want    []idp.AuditEvent
	}{
		{"all", "", 100, reversed},
		{"all limited", "", 2, reversed[:2]},
		{"subject", "acc-1", 100, []idp.AuditEvent{events[3], events[2], events[1]}},
		{"subject limited", "acc-1", 1, []idp.AuditEvent{events[3]}},
		{"unknown subject", "nobody", 10, nil},
		{"zero limit", "", 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListAudit(ctx, tc.subject, tc.limit)
			checkErr(t, "ListAudit", err, nil)
			if len(got) != len(tc.want) {
				t.Fatalf("ListAudit: %d events, want %d", len(got), len(tc.want))
			}
			for i := range got {
				checkUTC(t, "audit event", got[i].At)
				if g, w := normAudit(got[i]), normAudit(tc.want[i]); g != w {
					t.Errorf("event %d:\n got %+v\nwant %+v", i, g, w)
				}
			}
		})
	}
}
