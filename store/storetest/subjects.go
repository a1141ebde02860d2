package storetest

import (
	"reflect"
	"sync"
	"testing"

	"github.com/kanton/kundencenter/idp"
)

// runSubjects runs the conformance tests of idp.SubjectStore and of the
// clients' subject settings.
func runSubjects(t *testing.T, open func(t *testing.T) Store, opts Options) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, s Store, o Options)
	}{
		{"ClientSubjectType", testClientSubjectType},
		{"PairwiseSubjectPutGet", testPairwiseSubjectPutGet},
		{"PairwiseSubjectConflict", testPairwiseSubjectConflict},
		{"PairwiseSubjectUnknownAccount", testPairwiseSubjectUnknownAccount},
		{"PairwiseSubjectConcurrent", testPairwiseSubjectConcurrent},
		{"DeleteAccountRemovesPairwiseSubjects", testDeleteAccountRemovesPairwiseSubjects},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // every test has a store of its own
			tc.run(t, open(t), opts)
		})
	}
}

func testClientSubjectType(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	c := idp.Client{ID: "steuern", Name: "Steuern", RedirectURIs: []string{"https://steuern.example.ch/cb"},
		PostLogoutRedirectURIs: []string{}, GrantTypes: []string{idp.GrantAuthorizationCode},
		SubjectType: idp.SubjectPairwise, SectorIdentifier: "example.ch", CreatedAt: base, UpdatedAt: base}
	checkErr(t, "PutClient", s.PutClient(ctx, c), nil)
	got, err := s.GetClient(ctx, c.ID)
	checkErr(t, "GetClient", err, nil)
	if g, w := normClient(got), normClient(c); !reflect.DeepEqual(g, w) {
		t.Errorf("GetClient:\n got %+v\nwant %+v", g, w)
	}
	c.SubjectType, c.SectorIdentifier = idp.SubjectPublic, ""
	checkErr(t, "PutClient replace", s.PutClient(ctx, c), nil)
	list, err := s.ListClients(ctx)
	checkErr(t, "ListClients", err, nil)
	if len(list) != 1 || list[0].SubjectType != idp.SubjectPublic || list[0].SectorIdentifier != "" {
		t.Errorf("ListClients after replace: %+v", list)
	}
}

func testPairwiseSubjectPutGet(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	a, _ := mustCreateAccount(t, s)
	b, _ := mustCreateAccount(t, s)
	sub := unique("pw")
	checkErr(t, "PutPairwiseSubject", s.PutPairwiseSubject(ctx, "steuern.example.ch", sub, a.ID), nil)
	// Idempotent: issuing the same subject again writes nothing new.
	checkErr(t, "PutPairwiseSubject again", s.PutPairwiseSubject(ctx, "steuern.example.ch", sub, a.ID), nil)
	// The same value in another sector is another mapping.
	checkErr(t, "PutPairwiseSubject other sector", s.PutPairwiseSubject(ctx, "bau.example.ch", sub, b.ID), nil)

	got, err := s.PairwiseAccount(ctx, "steuern.example.ch", sub)
	checkErr(t, "PairwiseAccount", err, nil)
	if got != a.ID {
		t.Errorf("PairwiseAccount = %q, want %q", got, a.ID)
	}
	got, err = s.PairwiseAccount(ctx, "bau.example.ch", sub)
	checkErr(t, "PairwiseAccount other sector", err, nil)
	if got != b.ID {
		t.Errorf("PairwiseAccount other sector = %q, want %q", got, b.ID)
	}
	_, err = s.PairwiseAccount(ctx, "forst.example.ch", sub)
	checkErr(t, "PairwiseAccount unknown sector", err, idp.ErrNotFound)
	_, err = s.PairwiseAccount(ctx, "steuern.example.ch", unique("pw"))
	checkErr(t, "PairwiseAccount unknown subject", err, idp.ErrNotFound)
}

func testPairwiseSubjectConflict(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	a, _ := mustCreateAccount(t, s)
	b, _ := mustCreateAccount(t, s)
	sub := unique("pw")
	checkErr(t, "PutPairwiseSubject", s.PutPairwiseSubject(ctx, "steuern.example.ch", sub, a.ID), nil)
	checkErr(t, "PutPairwiseSubject for another account", s.PutPairwiseSubject(ctx, "steuern.example.ch", sub, b.ID), idp.ErrConflict)
	got, err := s.PairwiseAccount(ctx, "steuern.example.ch", sub)
	checkErr(t, "PairwiseAccount", err, nil)
	if got != a.ID {
		t.Errorf("after a conflict the subject names %q, want the first account %q", got, a.ID)
	}
}

func testPairwiseSubjectUnknownAccount(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	sub := unique("pw")
	checkErr(t, "PutPairwiseSubject", s.PutPairwiseSubject(ctx, "steuern.example.ch", sub, "no-such-account"), idp.ErrNotFound)
	_, err := s.PairwiseAccount(ctx, "steuern.example.ch", sub)
	checkErr(t, "PairwiseAccount", err, idp.ErrNotFound)
}

// Two instances issuing the same subject at once both succeed: the first
// issuance of a pairwise subject may race between token requests.
func testPairwiseSubjectConcurrent(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	a, _ := mustCreateAccount(t, s)
	sub := unique("pw")
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { errs[i] = s.PutPairwiseSubject(ctx, "steuern.example.ch", sub, a.ID) })
	}
	wg.Wait()
	for i, err := range errs {
		checkErr(t, "concurrent PutPairwiseSubject "+string(rune('0'+i)), err, nil)
	}
	got, err := s.PairwiseAccount(ctx, "steuern.example.ch", sub)
	checkErr(t, "PairwiseAccount", err, nil)
	if got != a.ID {
		t.Errorf("PairwiseAccount = %q, want %q", got, a.ID)
	}
}

func testDeleteAccountRemovesPairwiseSubjects(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	a, _ := mustCreateAccount(t, s)
	b, _ := mustCreateAccount(t, s)
	subA, subB := unique("pw"), unique("pw")
	checkErr(t, "PutPairwiseSubject a", s.PutPairwiseSubject(ctx, "steuern.example.ch", subA, a.ID), nil)
	checkErr(t, "PutPairwiseSubject b", s.PutPairwiseSubject(ctx, "steuern.example.ch", subB, b.ID), nil)
	checkErr(t, "DeleteAccount", s.DeleteAccount(ctx, a.ID), nil)
	_, err := s.PairwiseAccount(ctx, "steuern.example.ch", subA)
	checkErr(t, "PairwiseAccount of the deleted account", err, idp.ErrNotFound)
	got, err := s.PairwiseAccount(ctx, "steuern.example.ch", subB)
	checkErr(t, "PairwiseAccount of the other account", err, nil)
	if got != b.ID {
		t.Errorf("PairwiseAccount = %q, want %q", got, b.ID)
	}
}
