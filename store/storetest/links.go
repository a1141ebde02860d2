package storetest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/kanton/kundencenter/idp"
)

// runLinks runs the conformance tests of idp.LinkStore.
func runLinks(t *testing.T, open func(t *testing.T) Store, opts Options) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, s Store, o Options)
	}{
		{"LinkCreateGet", testLinkCreateGet},
		{"LinkIssuerScoped", testLinkIssuerScoped},
		{"LinkConflict", testLinkConflict},
		{"CreateLinkedAccount", testCreateLinkedAccount},
		{"LinkUnknownAccount", testLinkUnknownAccount},
		{"UpdateLink", testUpdateLink},
		{"DeleteLink", testDeleteLink},
		{"DeleteAccountRemovesLinks", testDeleteAccountRemovesLinks},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // every test has a store of its own
			tc.run(t, open(t), opts)
		})
	}
}

func newLink(t *testing.T, accountID string) idp.ExternalLink {
	t.Helper()
	return idp.ExternalLink{
		AccountID:     accountID,
		Connector:     "swissid",
		Issuer:        "https://login.swissid.example/idp/oauth2",
		Subject:       unique("sub"),
		ProofingLevel: idp.ProofingVerified,
		Sealed:        randBytes(t, 40),
		CreatedAt:     base,
		LastUsedAt:    base.Add(time.Minute),
	}
}

func normLink(l idp.ExternalLink) idp.ExternalLink {
	l.Sealed = normBytes(l.Sealed)
	l.CreatedAt = normTime(l.CreatedAt)
	l.LastUsedAt = normTime(l.LastUsedAt)
	return l
}

func checkLink(t *testing.T, what string, got, want idp.ExternalLink) {
	t.Helper()
	checkUTC(t, what, got.CreatedAt, got.LastUsedAt)
	if g, w := normLink(got), normLink(want); !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

func checkLinks(t *testing.T, s Store, accountID string, want ...idp.ExternalLink) {
	t.Helper()
	got, err := s.ListLinks(t.Context(), accountID)
	checkErr(t, "ListLinks", err, nil)
	if len(got) != len(want) {
		t.Fatalf("ListLinks(%s) returned %d links, want %d: %+v", accountID, len(got), len(want), got)
	}
	for i := range got {
		checkLink(t, "ListLinks", got[i], want[i])
	}
}

func mustCreateLink(t *testing.T, s Store, l idp.ExternalLink) {
	t.Helper()
	if err := s.CreateLink(t.Context(), l); err != nil {
		t.Fatalf("CreateLink: %v", err)
	}
}

func testLinkCreateGet(t *testing.T, s Store, o Options) {
	ctx := t.Context()
	a, _ := mustCreateAccount(t, s)
	first := newLink(t, a.ID)
	mail := newMail(t)
	checkErr(t, "CreateLink", s.CreateLink(ctx, first, mail), nil)
	checkJobs(t, s, o, mail)

	got, err := s.GetLink(ctx, first.Connector, first.Issuer, first.Subject)
	checkErr(t, "GetLink", err, nil)
	checkLink(t, "GetLink", got, first)

	// A second link, created earlier, without sealed data or last use:
	// listed first (oldest first), empty values come back empty.
	second := newLink(t, a.ID)
	second.Connector, second.Issuer = "agov", "https://agov.example"
	second.CreatedAt = base.Add(-time.Hour)
	second.LastUsedAt, second.Sealed, second.ProofingLevel = time.Time{}, nil, ""
	mustCreateLink(t, s, second)
	checkLinks(t, s, a.ID, second, first)

	other, _ := mustCreateAccount(t, s)
	checkLinks(t, s, other.ID)
	checkLinks(t, s, "no-such-account")
}

// testLinkIssuerScoped: a subject means nothing without its issuer and
// connector; the same "sub" elsewhere is another (here: absent) link.
func testLinkIssuerScoped(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	a, _ := mustCreateAccount(t, s)
	l := newLink(t, a.ID)
	mustCreateLink(t, s, l)
	for _, tc := range []struct{ name, connector, issuer, subject string }{
		{"other issuer", l.Connector, "https://evil.example/idp/oauth2", l.Subject},
		{"issuer with a trailing slash", l.Connector, l.Issuer + "/", l.Subject},
		{"other connector", "agov", l.Issuer, l.Subject},
		{"other subject", l.Connector, l.Issuer, l.Subject + "x"},
		{"subject case", l.Connector, l.Issuer, "SUB" + l.Subject[3:]},
	} {
		_, err := s.GetLink(ctx, tc.connector, tc.issuer, tc.subject)
		checkErr(t, "GetLink "+tc.name, err, idp.ErrNotFound)
	}

	// The same subject from another issuer may belong to another account.
	b, _ := mustCreateAccount(t, s)
	elsewhere := newLink(t, b.ID)
	elsewhere.Issuer, elsewhere.Subject = "https://other.example", l.Subject
	mustCreateLink(t, s, elsewhere)
	got, err := s.GetLink(ctx, l.Connector, l.Issuer, l.Subject)
	checkErr(t, "GetLink", err, nil)
	checkLink(t, "GetLink (original issuer)", got, l)
	got, err = s.GetLink(ctx, elsewhere.Connector, elsewhere.Issuer, elsewhere.Subject)
	checkErr(t, "GetLink", err, nil)
	checkLink(t, "GetLink (other issuer)", got, elsewhere)
}

func testLinkConflict(t *testing.T, s Store, o Options) {
	ctx := t.Context()
	a, _ := mustCreateAccount(t, s)
	b, _ := mustCreateAccount(t, s)
	l := newLink(t, a.ID)
	mustCreateLink(t, s, l)

	for _, owner := range []string{a.ID, b.ID} {
		dup := newLink(t, owner)
		dup.Connector, dup.Issuer, dup.Subject = l.Connector, l.Issuer, l.Subject
		checkErr(t, "CreateLink (taken, owner "+owner+")", s.CreateLink(ctx, dup, newMail(t)), idp.ErrConflict)
	}
	// Nothing of the refused writes remains: no mail, the link unchanged.
	checkJobs(t, s, o)
	got, err := s.GetLink(ctx, l.Connector, l.Issuer, l.Subject)
	checkErr(t, "GetLink", err, nil)
	checkLink(t, "GetLink after conflicts", got, l)
	checkLinks(t, s, b.ID)

	for _, tc := range []struct {
		name string
		edit func(*idp.ExternalLink)
	}{
		{"no account", func(l *idp.ExternalLink) { l.AccountID = "" }},
		{"no connector", func(l *idp.ExternalLink) { l.Connector = "" }},
		{"no issuer", func(l *idp.ExternalLink) { l.Issuer = "" }},
		{"no subject", func(l *idp.ExternalLink) { l.Subject = "" }},
	} {
		bad := newLink(t, a.ID)
		tc.edit(&bad)
		if err := s.CreateLink(ctx, bad); err == nil {
			t.Errorf("CreateLink (%s) succeeded", tc.name)
		}
	}
}

// testCreateLinkedAccount: an account registered through an upstream
// login is written with its link, activation token and mail at once; a
// conflict of either the account or the link writes nothing.
func testCreateLinkedAccount(t *testing.T, s Store, o Options) {
	ctx := t.Context()
	a := newAccount(t)
	tok := newActionToken(t, a.ID, idp.PurposeActivate)
	l := newLink(t, "") // the store fills in the account
	mail := newMail(t)
	checkErr(t, "CreateLinkedAccount", s.CreateLinkedAccount(ctx, a, tok, l, mail), nil)
	checkJobs(t, s, o, mail)
	_, err := s.GetAccount(ctx, a.ID)
	checkErr(t, "GetAccount", err, nil)
	l.AccountID = a.ID
	checkLinks(t, s, a.ID, l)

	// The link is taken: no account, no token, no mail.
	b := newAccount(t)
	dup := newLink(t, "")
	dup.Connector, dup.Issuer, dup.Subject = l.Connector, l.Issuer, l.Subject
	checkErr(t, "CreateLinkedAccount (link taken)", s.CreateLinkedAccount(ctx, b, newActionToken(t, b.ID, idp.PurposeActivate), dup, newMail(t)), idp.ErrConflict)
	_, err = s.GetAccount(ctx, b.ID)
	checkErr(t, "GetAccount after the link conflict", err, idp.ErrNotFound)
	_, err = s.GetAccountByEmailIndex(ctx, b.EmailIndex)
	checkErr(t, "GetAccountByEmailIndex after the link conflict", err, idp.ErrNotFound)

	// The e-mail is taken: no link.
	c := newAccount(t)
	c.EmailIndex = a.EmailIndex
	fresh := newLink(t, "")
	checkErr(t, "CreateLinkedAccount (e-mail taken)", s.CreateLinkedAccount(ctx, c, idp.ActionToken{}, fresh), idp.ErrConflict)
	_, err = s.GetLink(ctx, fresh.Connector, fresh.Issuer, fresh.Subject)
	checkErr(t, "GetLink after the account conflict", err, idp.ErrNotFound)
	checkJobs(t, s, o, mail) // the first registration's only

	// A link of another account is refused before anything is written.
	d := newAccount(t)
	if err := s.CreateLinkedAccount(ctx, d, idp.ActionToken{}, newLink(t, a.ID)); err == nil {
		t.Error("CreateLinkedAccount with a link of another account succeeded")
	}
	_, err = s.GetAccount(ctx, d.ID)
	checkErr(t, "GetAccount after the refused link", err, idp.ErrNotFound)
}

func testLinkUnknownAccount(t *testing.T, s Store, o Options) {
	ctx := t.Context()
	l := newLink(t, "no-such-account")
	checkErr(t, "CreateLink", s.CreateLink(ctx, l, newMail(t)), idp.ErrNotFound)
	checkJobs(t, s, o)
	_, err := s.GetLink(ctx, l.Connector, l.Issuer, l.Subject)
	checkErr(t, "GetLink", err, idp.ErrNotFound)
	_, err = s.UpdateLink(ctx, l.Connector, l.Issuer, l.Subject,
		func(l idp.ExternalLink) (idp.ExternalLink, error) { return l, nil })
	checkErr(t, "UpdateLink", err, idp.ErrNotFound)
}

func testUpdateLink(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	a, _ := mustCreateAccount(t, s)
	l := newLink(t, a.ID)
	mustCreateLink(t, s, l)

	want := l
	want.LastUsedAt = base.Add(time.Hour)
	want.ProofingLevel = idp.ProofingVerifiedStrong
	want.Sealed = randBytes(t, 50)
	got, err := s.UpdateLink(ctx, l.Connector, l.Issuer, l.Subject, func(old idp.ExternalLink) (idp.ExternalLink, error) {
		checkLink(t, "UpdateLink old", old, l)
		old.LastUsedAt, old.ProofingLevel, old.Sealed = want.LastUsedAt, want.ProofingLevel, want.Sealed
		return old, nil
	})
	checkErr(t, "UpdateLink", err, nil)
	checkLink(t, "UpdateLink result", got, want)
	got, err = s.GetLink(ctx, l.Connector, l.Issuer, l.Subject)
	checkErr(t, "GetLink", err, nil)
	checkLink(t, "GetLink after UpdateLink", got, want)

	// Aborted updates write nothing.
	b, _ := mustCreateAccount(t, s)
	boom := errors.New("boom")
	for _, tc := range []struct {
		name string
		fn   func(idp.ExternalLink) (idp.ExternalLink, error)
	}{
		{"fn error", func(l idp.ExternalLink) (idp.ExternalLink, error) {
			l.ProofingLevel = idp.ProofingSelfDeclared
			return l, boom
		}},
		{"moves to another account", func(l idp.ExternalLink) (idp.ExternalLink, error) {
			l.AccountID, l.ProofingLevel = b.ID, idp.ProofingSelfDeclared
			return l, nil
		}},
		{"changes the subject", func(l idp.ExternalLink) (idp.ExternalLink, error) {
			l.Subject, l.ProofingLevel = l.Subject+"x", idp.ProofingSelfDeclared
			return l, nil
		}},
		{"changes the issuer", func(l idp.ExternalLink) (idp.ExternalLink, error) {
			l.Issuer, l.ProofingLevel = "https://evil.example", idp.ProofingSelfDeclared
			return l, nil
		}},
	} {
		if _, err := s.UpdateLink(ctx, l.Connector, l.Issuer, l.Subject, tc.fn); err == nil {
			t.Errorf("UpdateLink (%s) succeeded", tc.name)
		}
		got, err := s.GetLink(ctx, l.Connector, l.Issuer, l.Subject)
		checkErr(t, "GetLink", err, nil)
		checkLink(t, "GetLink after UpdateLink ("+tc.name+")", got, want)
	}
	checkLinks(t, s, b.ID)
}

func testDeleteLink(t *testing.T, s Store, o Options) {
	ctx := t.Context()
	a, _ := mustCreateAccount(t, s)
	b, _ := mustCreateAccount(t, s)
	l := newLink(t, a.ID)
	keep := newLink(t, a.ID)
	mustCreateLink(t, s, l)
	mustCreateLink(t, s, keep)

	// Another account cannot remove it, and the mail is not sent.
	checkErr(t, "DeleteLink (other account)", s.DeleteLink(ctx, b.ID, l.Connector, l.Issuer, l.Subject, newMail(t)), idp.ErrNotFound)
	checkErr(t, "DeleteLink (other issuer)", s.DeleteLink(ctx, a.ID, l.Connector, "https://other.example", l.Subject), idp.ErrNotFound)
	checkJobs(t, s, o)

	mail := newMail(t)
	checkErr(t, "DeleteLink", s.DeleteLink(ctx, a.ID, l.Connector, l.Issuer, l.Subject, mail), nil)
	checkJobs(t, s, o, mail)
	_, err := s.GetLink(ctx, l.Connector, l.Issuer, l.Subject)
	checkErr(t, "GetLink after DeleteLink", err, idp.ErrNotFound)
	checkErr(t, "DeleteLink again", s.DeleteLink(ctx, a.ID, l.Connector, l.Issuer, l.Subject), idp.ErrNotFound)
	checkLinks(t, s, a.ID, keep)

	// The upstream login is free to be linked again, to any account.
	l.AccountID = b.ID
	mustCreateLink(t, s, l)
	checkLinks(t, s, b.ID, l)
}

func testDeleteAccountRemovesLinks(t *testing.T, s Store, _ Options) {
	ctx := t.Context()
	a, _ := mustCreateAccount(t, s)
	b, _ := mustCreateAccount(t, s)
	l := newLink(t, a.ID)
	other := newLink(t, b.ID)
	mustCreateLink(t, s, l)
	mustCreateLink(t, s, other)

	checkErr(t, "DeleteAccount", s.DeleteAccount(ctx, a.ID), nil)
	_, err := s.GetLink(ctx, l.Connector, l.Issuer, l.Subject)
	checkErr(t, "GetLink after DeleteAccount", err, idp.ErrNotFound)
	checkLinks(t, s, a.ID)
	checkLinks(t, s, b.ID, other)

	c, _ := mustCreateAccount(t, s)
	l.AccountID = c.ID
	checkErr(t, "CreateLink with the freed login", s.CreateLink(ctx, l), nil)
}
