package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/kanton/kundencenter/idp"
)

// unlinkTests check the "not the last way to log in" rule of
// idp.LinkStore.DeleteLink.
var unlinkTests = []struct {
	name string
	run  func(t *testing.T, s Store, o Options)
}{
	{"DeleteLastLink", testDeleteLastLink},
	{"DeleteLastLinksConcurrent", testDeleteLastLinksConcurrent},
}

// mustCreatePasswordless creates an account without a password of its own
// (as idp.Service.RegisterFederated opens one) with n links.
func mustCreatePasswordless(t *testing.T, s Store, n int) (idp.Account, []idp.ExternalLink) {
	t.Helper()
	a := newAccount(t)
	a.PasswordChangedAt = time.Time{}
	if err := s.CreateAccount(t.Context(), a, idp.ActionToken{}); err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	links := make([]idp.ExternalLink, n)
	for i := range links {
		links[i] = newLink(t, a.ID)
		links[i].CreatedAt = base.Add(time.Duration(i) * time.Minute)
		mustCreateLink(t, s, links[i])
	}
	return a, links
}

// testDeleteLastLink: the last link of an account without a password is
// refused (nothing enqueued), one of two is not, and with a password the
// last one may go too.
func testDeleteLastLink(t *testing.T, s Store, o Options) {
	ctx := t.Context()
	a, ls := mustCreatePasswordless(t, s, 2)
	first, last := ls[0], ls[1]
	checkErr(t, "DeleteLink (unknown link)", s.DeleteLink(ctx, a.ID, first.Connector, first.Issuer, "no-such-subject"), idp.ErrNotFound)
	checkErr(t, "DeleteLink (unknown account)", s.DeleteLink(ctx, "no-such-account", first.Connector, first.Issuer, first.Subject), idp.ErrNotFound)

	mail := newMail(t)
	checkErr(t, "DeleteLink (one of two)", s.DeleteLink(ctx, a.ID, first.Connector, first.Issuer, first.Subject, mail), nil)
	checkLinks(t, s, a.ID, last)
	checkErr(t, "DeleteLink (the last)", s.DeleteLink(ctx, a.ID, last.Connector, last.Issuer, last.Subject, newMail(t)), idp.ErrLastLogin)
	checkLinks(t, s, a.ID, last)
	checkJobs(t, s, o, mail)

	// Once a password is set, the link is no longer the only way in.
	_, err := s.UpdateAccount(ctx, a.ID, func(old idp.Account) (idp.Account, []idp.Outgoing, error) {
		old.PasswordChangedAt = base.Add(time.Hour)
		return old, nil, nil
	})
	checkErr(t, "UpdateAccount (set password)", err, nil)
	checkErr(t, "DeleteLink (the last, with a password)", s.DeleteLink(ctx, a.ID, last.Connector, last.Issuer, last.Subject), nil)
	checkLinks(t, s, a.ID)
}

// testDeleteLastLinksConcurrent: two deletions of the last two links of
// an account without a password at once leave exactly one link.
func testDeleteLastLinksConcurrent(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	for range 20 {
		a, ls := mustCreatePasswordless(t, s, 2)
		errs := make([]error, len(ls))
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, l := range ls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = s.DeleteLink(ctx, a.ID, l.Connector, l.Issuer, l.Subject)
			}()
		}
		close(start)
		wg.Wait()
		ok, last := outcomes(t, "concurrent DeleteLink", errs, idp.ErrLastLogin)
		got, err := s.ListLinks(ctx, a.ID)
		checkErr(t, "ListLinks", err, nil)
		if ok != 1 || last != 1 || len(got) != 1 {
			t.Fatalf("concurrent deletions of the last two links: %d deleted, %d refused, %d left", ok, last, len(got))
		}
	}
}
