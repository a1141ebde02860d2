package delegation_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kanton/kundencenter/delegation"
	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/keyring"
	"github.com/kanton/kundencenter/notify"
	"github.com/kanton/kundencenter/store/memory"
	"github.com/kanton/kundencenter/store/postgres"
	"github.com/kanton/kundencenter/store/sqldb/sqldbtest"
	"github.com/kanton/kundencenter/store/sqlite/sqlitetest"
)

// store is what a backend provides: accounts and organisations.
type store interface {
	idp.Store
	delegation.Store
}

// env is an organisation service over a real store, with a fake clock
// and a record of every mail sealed for the outbox.
type env struct {
	st    store
	idp   *idp.Service
	svc   *delegation.Service
	mu    sync.Mutex
	now   time.Time
	mails []idp.Mail
}

func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	e.now = e.now.Add(d)
	e.mu.Unlock()
}

func (e *env) lastMail(to, template string) (idp.Mail, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := len(e.mails) - 1; i >= 0; i-- {
		if e.mails[i].To == to && e.mails[i].Template == template {
			return e.mails[i], true
		}
	}
	return idp.Mail{}, false
}

func (e *env) mailCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.mails)
}

func openSQLite(t *testing.T) store {
	t.Helper()
	return sqlitetest.Open(t)
}

// openPostgres opens the production store in a fresh schema; it fails,
// never skips, without PostgreSQL.
func openPostgres(t *testing.T) store {
	t.Helper()
	url := sqldbtest.PostgresURL()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "kc_test_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, url); err == nil {
			_, _ = c.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
			_ = c.Close(ctx)
		}
	})
	s, err := postgres.OpenSchema(t.Context(), url, schema)
	if err != nil {
		t.Fatalf("%v\nthis test needs PostgreSQL on 127.0.0.1:5432 or KC_TEST_POSTGRES_URL", err)
	}
	t.Cleanup(s.Close)
	return s
}

func newEnv(t *testing.T, st store) *env {
	t.Helper()
	ring, err := keyring.Parse(keyring.Generate())
	if err != nil {
		t.Fatal(err)
	}
	e := &env{st: st, now: time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)}
	seal := func(m idp.Mail) (idp.Outgoing, error) {
		out, err := notify.SealMail(ring, m)
		if err == nil {
			e.mu.Lock()
			e.mails = append(e.mails, m)
			e.mu.Unlock()
		}
		return out, err
	}
	eph := memory.New(e.clock)
	t.Cleanup(func() { eph.Close() })
	e.idp = idp.NewService(idp.Config{BaseURL: "https://konto.example.ch", Now: e.clock, SealMail: seal}, st, eph, ring,
		idp.NewHasher(idp.Argon2Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 4), nil)
	e.svc = delegation.NewService(delegation.Config{BaseURL: "https://konto.example.ch", Now: e.clock, SealMail: seal,
		Hasher: e.idp.Hasher(), Counters: eph}, st, e.idp,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, id := range []string{"forms", "documents"} {
		if err := st.PutClient(t.Context(), idp.Client{ID: id, Name: id, RedirectURIs: []string{"https://" + id + ".example.ch/cb"},
			GrantTypes: []string{idp.GrantAuthorizationCode}}); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// account registers and activates an account.
func (e *env) account(t *testing.T, given, email, locale string) idp.Account {
	t.Helper()
	ctx := t.Context()
	pw := "Sonnenblume-Aare-42"
	if err := e.idp.Register(ctx, idp.RegisterInput{GivenName: given, FamilyName: "Muster", Email: email, Password: pw,
		PasswordRepeat: pw, Locale: locale, IP: "203.0.113.9"}); err != nil {
		t.Fatalf("register %s: %v", email, err)
	}
	m, ok := e.lastMail(idp.NormalizeEmail(email), idp.MailActivate)
	if !ok {
		t.Fatalf("no activation mail to %s", email)
	}
	u, _ := url.Parse(m.Data["Link"])
	a, err := e.idp.Activate(ctx, u.Query().Get("token"))
	if err != nil {
		t.Fatalf("activate %s: %v", email, err)
	}
	return a
}

var orgInput = delegation.OrgInput{Name: "Muster AG", Designation: "Filiale Aarau", UID: "CHE-116.281.710",
	Addresses: []delegation.Address{{Street: "Bahnhofstrasse 1", PostalCode: "5000", Town: "Aarau"}}}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got %v, want %v", what, err, want)
	}
}

// join invites the account by Konto-ID and accepts the invitation.
func (e *env) join(t *testing.T, admin, orgID string, a idp.Account, role string) {
	t.Helper()
	must(t, "invite "+a.KontoID, e.svc.Invite(t.Context(), admin, orgID, delegation.InviteInput{By: "konto_id", KontoID: a.KontoID, Role: role, IP: "203.0.113.1"}))
	inv := e.pending(t, a.ID, orgID)
	_, err := e.svc.Respond(t.Context(), a.ID, inv.ID, true)
	must(t, "accept", err)
}

// pending returns the actor's open invitation into orgID.
func (e *env) pending(t *testing.T, actor, orgID string) delegation.Invitation {
	t.Helper()
	list, err := e.svc.MyInvitations(t.Context(), actor)
	must(t, "MyInvitations", err)
	for _, l := range list {
		if l.Org.ID == orgID {
			return l.Invitation
		}
	}
	t.Fatalf("no open invitation into %s for %s", orgID, actor)
	return delegation.Invitation{}
}

func tokenOf(t *testing.T, m idp.Mail) string {
	t.Helper()
	u, err := url.Parse(m.Data["Link"])
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("token")
}

// TestMayAct is the decision table: only a current member with the
// service assigned may act, with their roles; nothing else grants anything.
func TestMayAct(t *testing.T) {
	t.Parallel()
	e := newEnv(t, openSQLite(t))
	ctx := t.Context()
	admin := e.account(t, "Anna", "anna@example.ch", "de")
	member := e.account(t, "Beat", "beat@example.ch", "fr")
	unassigned := e.account(t, "Carla", "carla@example.ch", "it")
	removed := e.account(t, "Dario", "dario@example.ch", "de")
	invited := e.account(t, "Eva", "eva@example.ch", "en")
	expired := e.account(t, "Fritz", "fritz@example.ch", "de")
	declined := e.account(t, "Gina", "gina@example.ch", "de")
	outsider := e.account(t, "Hans", "hans@example.ch", "de")

	org, err := e.svc.CreateOrg(ctx, admin.ID, orgInput)
	must(t, "CreateOrg", err)
	other, err := e.svc.CreateOrg(ctx, outsider.ID, delegation.OrgInput{Name: "Andere GmbH", Addresses: orgInput.Addresses})
	must(t, "CreateOrg other", err)
	e.join(t, admin.ID, org.ID, member, delegation.RoleMember)
	e.join(t, admin.ID, org.ID, unassigned, delegation.RoleMember)
	e.join(t, admin.ID, org.ID, removed, delegation.RoleMember)
	for _, id := range []string{admin.ID, member.ID, removed.ID} {
		must(t, "SetServices", e.svc.SetServices(ctx, admin.ID, org.ID, id, []string{"forms"}))
	}
	must(t, "SetServices other", e.svc.SetServices(ctx, outsider.ID, other.ID, outsider.ID, []string{"forms"}))
	must(t, "RemoveMember", e.svc.RemoveMember(ctx, admin.ID, org.ID, removed.ID))
	// An invitation that expires, one that is open and one declined.
	must(t, "invite expired", e.svc.Invite(ctx, admin.ID, org.ID, delegation.InviteInput{By: "konto_id", KontoID: expired.KontoID, Role: delegation.RoleAdmin}))
	e.advance(delegation.MaxInvitationTTL + time.Second)
	must(t, "invite open", e.svc.Invite(ctx, admin.ID, org.ID, delegation.InviteInput{By: "email", Email: "eva@example.ch", Role: delegation.RoleAdmin}))
	must(t, "invite declined", e.svc.Invite(ctx, admin.ID, org.ID, delegation.InviteInput{By: "konto_id", KontoID: declined.KontoID, Role: delegation.RoleMember}))
	_, err = e.svc.Respond(ctx, declined.ID, e.pending(t, declined.ID, org.ID).ID, false)
	must(t, "decline", err)

	ref := delegation.OrgRef{ID: org.ID, Name: "Muster AG", UID: "CHE-116.281.710"}
	tests := []struct {
		name                   string
		account, org, clientID string
		want                   delegation.Decision
	}{
		{"admin with the service", admin.ID, org.ID, "forms", delegation.Decision{Allowed: true, Roles: []string{"admin"}, Org: ref}},
		{"member with the service", member.ID, org.ID, "forms", delegation.Decision{Allowed: true, Roles: []string{"member"}, Org: ref}},
		{"member at another service", member.ID, org.ID, "documents", delegation.Decision{}},
		{"member without services", unassigned.ID, org.ID, "forms", delegation.Decision{}},
		{"removed member", removed.ID, org.ID, "forms", delegation.Decision{}},
		{"open invitation", invited.ID, org.ID, "forms", delegation.Decision{}},
		{"expired invitation", expired.ID, org.ID, "forms", delegation.Decision{}},
		{"declined invitation", declined.ID, org.ID, "forms", delegation.Decision{}},
		{"member of another organisation", outsider.ID, org.ID, "forms", delegation.Decision{}},
		{"organisation of someone else", member.ID, other.ID, "forms", delegation.Decision{}},
		{"unknown organisation", member.ID, "no-such-org", "forms", delegation.Decision{}},
		{"unknown service", member.ID, org.ID, "no-such-client", delegation.Decision{}},
		{"no account", "", org.ID, "forms", delegation.Decision{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.svc.MayAct(t.Context(), tc.account, tc.org, tc.clientID)
			must(t, "MayAct", err)
			if got.Allowed != tc.want.Allowed || !slices.Equal(got.Roles, tc.want.Roles) || got.Org != tc.want.Org {
				t.Errorf("MayAct = %+v, want %+v", got, tc.want)
			}
			choices, err := e.svc.Choices(t.Context(), tc.account, tc.clientID)
			must(t, "Choices", err)
			offered := slices.ContainsFunc(choices, func(c delegation.Choice) bool { return c.Org.ID == tc.org })
			if offered != tc.want.Allowed {
				t.Errorf("Choices = %+v: offered %v, MayAct allowed %v", choices, offered, tc.want.Allowed)
			}
		})
	}

	// A member of two organisations gets both choices, by name.
	e.join(t, outsider.ID, other.ID, member, delegation.RoleAdmin)
	must(t, "SetServices", e.svc.SetServices(ctx, outsider.ID, other.ID, member.ID, []string{"forms", "documents"}))
	choices, err := e.svc.Choices(ctx, member.ID, "forms")
	must(t, "Choices", err)
	if len(choices) != 2 || choices[0].Org.Name != "Andere GmbH" || !slices.Equal(choices[0].Roles, []string{"admin"}) ||
		choices[1].Org.ID != org.ID {
		t.Errorf("Choices = %+v", choices)
	}
}

func TestInvitationByKontoID(t *testing.T) {
	t.Parallel()
	e := newEnv(t, openSQLite(t))
	ctx := t.Context()
	admin := e.account(t, "Anna", "anna@example.ch", "de")
	invitee := e.account(t, "Beat", "beat.geheim@example.ch", "fr")
	stranger := e.account(t, "Carla", "carla@example.ch", "it")
	org, err := e.svc.CreateOrg(ctx, admin.ID, orgInput)
	must(t, "CreateOrg", err)

	kontoID := strings.ReplaceAll(invitee.KontoID, "-", " ") // typed with spaces
	must(t, "Invite", e.svc.Invite(ctx, admin.ID, org.ID, delegation.InviteInput{By: "konto_id", KontoID: kontoID, Role: delegation.RoleMember}))
	m, ok := e.lastMail("beat.geheim@example.ch", delegation.MailInvitation)
	if !ok {
		t.Fatal("no invitation mail to the invitee")
	}
	if m.Locale != "fr" || m.Data["OrgName"] != "Muster AG" || m.Data["InviterName"] != "Anna Muster" || m.Data["ValidHours"] != "168" {
		t.Errorf("mail = %+v", m)
	}
	tok := tokenOf(t, m)
	if raw, err := base64.RawURLEncoding.DecodeString(tok); err != nil || len(raw) < 16 {
		t.Fatalf("token %q: %d bytes, want ≥ 16 (128 bits)", tok, len(raw))
	}
	// What the inviter can see never holds the invitee's address.
	st, _, err := e.svc.View(ctx, admin.ID, org.ID)
	must(t, "View", err)
	hist, err := e.svc.History(ctx, admin.ID, org.ID)
	must(t, "History", err)
	seen := fmt.Sprintf("%+v %+v", st, hist)
	if strings.Contains(seen, "geheim") || len(st.Invitations) != 1 || st.Invitations[0].Label != invitee.KontoID {
		t.Fatalf("inviter's view: %s", seen)
	}

	// The wrong person cannot use the link or the invitation ID.
	_, err = e.svc.InvitationByToken(ctx, stranger.ID, tok, "198.51.100.7")
	wantErr(t, "stranger opens link", err, delegation.ErrInvitationInvalid)
	_, err = e.svc.Respond(ctx, stranger.ID, st.Invitations[0].ID, true)
	wantErr(t, "stranger accepts", err, delegation.ErrInvitationInvalid)

	got, err := e.svc.InvitationByToken(ctx, invitee.ID, tok, "198.51.100.8")
	must(t, "InvitationByToken", err)
	if got.Org.ID != org.ID || got.Invitation.Role != delegation.RoleMember {
		t.Errorf("InvitationByToken = %+v", got)
	}
	_, err = e.svc.Respond(ctx, invitee.ID, got.Invitation.ID, true)
	must(t, "accept", err)
	// Single use.
	_, err = e.svc.Respond(ctx, invitee.ID, got.Invitation.ID, true)
	wantErr(t, "accept again", err, delegation.ErrInvitationInvalid)
	_, err = e.svc.InvitationByToken(ctx, invitee.ID, tok, "198.51.100.8")
	wantErr(t, "open used link", err, delegation.ErrInvitationInvalid)
	_, err = e.svc.Respond(ctx, invitee.ID, got.Invitation.ID, false)
	wantErr(t, "decline after accepting", err, delegation.ErrInvitationInvalid)

	// Inviting a member again is refused; an unknown Konto-ID gets the same
	// answer as a known one and stores nothing.
	err = e.svc.Invite(ctx, admin.ID, org.ID, delegation.InviteInput{By: "konto_id", KontoID: invitee.KontoID, Role: delegation.RoleMember})
	wantErr(t, "invite a member", err, delegation.ErrAlreadyMember)
	unknown := idp.NewKontoID()
	must(t, "invite unknown Konto-ID", e.svc.Invite(ctx, admin.ID, org.ID, delegation.InviteInput{By: "konto_id", KontoID: unknown, Role: delegation.RoleMember}))
	st, _, err = e.svc.View(ctx, admin.ID, org.ID)
	must(t, "View", err)
	if len(st.Invitations) != 0 || len(st.Members) != 2 {
		t.Errorf("after accepting and an unknown Konto-ID: %+v", st)
	}
}

func TestInvitationExpiryResendAndRevocation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, openSQLite(t))
	ctx := t.Context()
	admin := e.account(t, "Anna", "anna@example.ch", "de")
	admin2 := e.account(t, "Beat", "beat@example.ch", "de")
	invitee := e.account(t, "Carla", "carla@example.ch", "it")
	org, err := e.svc.CreateOrg(ctx, admin.ID, orgInput)
	must(t, "CreateOrg", err)
	e.join(t, admin.ID, org.ID, admin2, delegation.RoleAdmin)

	invite := func(by string) string {
		t.Helper()
		must(t, "Invite", e.svc.Invite(ctx, by, org.ID, delegation.InviteInput{By: "email", Email: " Carla@Example.CH ", Role: delegation.RoleMember}))
		m, ok := e.lastMail("carla@example.ch", delegation.MailInvitation)
		if !ok {
			t.Fatal("no invitation mail")
		}
		return tokenOf(t, m)
	}
	// Expiry: valid until the last second, gone after.
	tok := invite(admin.ID)
	e.advance(delegation.MaxInvitationTTL - time.Second)
	if _, err := e.svc.InvitationByToken(ctx, invitee.ID, tok, "192.0.2.1"); err != nil {
		t.Fatalf("just before expiry: %v", err)
	}
	e.advance(time.Second)
	_, err = e.svc.InvitationByToken(ctx, invitee.ID, tok, "192.0.2.1")
	wantErr(t, "at expiry", err, delegation.ErrInvitationInvalid)
	if list, _ := e.svc.MyInvitations(ctx, invitee.ID); len(list) != 0 {
		t.Errorf("expired invitation still listed: %+v", list)
	}

	// Resending revokes the earlier link.
	first := invite(admin.ID)
	second := invite(admin.ID)
	_, err = e.svc.InvitationByToken(ctx, invitee.ID, first, "192.0.2.1")
	wantErr(t, "first link after resend", err, delegation.ErrInvitationInvalid)
	inv, err := e.svc.InvitationByToken(ctx, invitee.ID, second, "192.0.2.1")
	must(t, "second link", err)

	// The inviter loses admin rights: the invitation is void.
	must(t, "demote inviter", e.svc.SetRole(ctx, admin2.ID, org.ID, admin.ID, delegation.RoleMember))
	_, err = e.svc.Respond(ctx, invitee.ID, inv.Invitation.ID, true)
	wantErr(t, "accept after the inviter's demotion", err, delegation.ErrInvitationInvalid)
	hist, err := e.svc.History(ctx, admin2.ID, org.ID)
	must(t, "History", err)
	revoked := 0
	for _, ev := range hist {
		if ev.Action == delegation.EventInvitationRevoked {
			revoked++
		}
	}
	if revoked != 3 { // the expired one and the first link on resending, the second on the demotion
		t.Errorf("%d revocations in the history, want 3: %+v", revoked, hist)
	}
	// Only admins invite.
	err = e.svc.Invite(ctx, admin.ID, org.ID, delegation.InviteInput{By: "email", Email: "carla@example.ch", Role: delegation.RoleMember})
	wantErr(t, "member invites", err, delegation.ErrForbidden)
}

// TestInvitationTokenThrottled guesses tokens: after the per-account limit
// every further attempt is refused, even with the right token.
func TestInvitationTokenThrottled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, openSQLite(t))
	ctx := t.Context()
	admin := e.account(t, "Anna", "anna@example.ch", "de")
	guesser := e.account(t, "Beat", "beat@example.ch", "de")
	org, err := e.svc.CreateOrg(ctx, admin.ID, orgInput)
	must(t, "CreateOrg", err)
	must(t, "Invite", e.svc.Invite(ctx, admin.ID, org.ID, delegation.InviteInput{By: "konto_id", KontoID: guesser.KontoID, Role: delegation.RoleMember}))
	m, _ := e.lastMail("beat@example.ch", delegation.MailInvitation)
	real := tokenOf(t, m)
	limit := int(delegation.DefaultLimits.TokenPerActor.Limit)
	for i := range limit {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		_, err := e.svc.InvitationByToken(ctx, guesser.ID, base64.RawURLEncoding.EncodeToString(b), "192.0.2.44")
		wantErr(t, fmt.Sprintf("guess %d", i), err, delegation.ErrInvitationInvalid)
	}
	_, err = e.svc.InvitationByToken(ctx, guesser.ID, real, "192.0.2.44")
	wantErr(t, "right token after the limit", err, idp.ErrRateLimited)
	e.advance(delegation.DefaultLimits.TokenPerActor.Window)
	_, err = e.svc.InvitationByToken(ctx, guesser.ID, real, "192.0.2.44")
	must(t, "right token in the next window", err)
}

func TestInvitationRegisterFirst(t *testing.T) {
	t.Parallel()
	e := newEnv(t, openSQLite(t))
	ctx := t.Context()
	admin := e.account(t, "Anna", "anna@example.ch", "it")
	org, err := e.svc.CreateOrg(ctx, admin.ID, orgInput)
	must(t, "CreateOrg", err)
	must(t, "Invite", e.svc.Invite(ctx, admin.ID, org.ID, delegation.InviteInput{By: "email", Email: "neu@example.ch", Role: delegation.RoleAdmin}))
	m, ok := e.lastMail("neu@example.ch", delegation.MailInvitationRegister)
	if !ok {
		t.Fatal("no register-first mail")
	}
	if !strings.HasSuffix(m.Data["Link"], "/register") || m.Locale != "it" {
		t.Errorf("mail = %+v", m)
	}
	st, _, err := e.svc.View(ctx, admin.ID, org.ID)
	must(t, "View", err)
	if len(st.Invitations) != 1 || st.Invitations[0].Label != "n•••@example.ch" {
		t.Fatalf("pending = %+v", st.Invitations)
	}
	// Registering with that address shows the invitation; accepting it works.
	nu := e.account(t, "Nora", "NEU@example.ch", "de")
	inv := e.pending(t, nu.ID, org.ID)
	_, err = e.svc.Respond(ctx, nu.ID, inv.ID, true)
	must(t, "accept", err)
	_, mem, err := e.svc.View(ctx, nu.ID, org.ID)
	must(t, "View as new member", err)
	if !mem.IsAdmin() {
		t.Errorf("membership = %+v, want admin", mem)
	}
}

func TestLastAdmin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, openSQLite(t))
	ctx := t.Context()
	admin := e.account(t, "Anna", "anna@example.ch", "de")
	member := e.account(t, "Beat", "beat@example.ch", "de")
	org, err := e.svc.CreateOrg(ctx, admin.ID, orgInput)
	must(t, "CreateOrg", err)
	e.join(t, admin.ID, org.ID, member, delegation.RoleMember)

	wantErr(t, "last admin leaves", e.svc.Leave(ctx, admin.ID, org.ID), delegation.ErrLastAdmin)
	wantErr(t, "last admin demotes self", e.svc.SetRole(ctx, admin.ID, org.ID, admin.ID, delegation.RoleMember), delegation.ErrLastAdmin)
	wantErr(t, "last admin removes self", e.svc.RemoveMember(ctx, admin.ID, org.ID, admin.ID), delegation.ErrLastAdmin)
	wantErr(t, "member demotes admin", e.svc.SetRole(ctx, member.ID, org.ID, admin.ID, delegation.RoleMember), delegation.ErrForbidden)
	wantErr(t, "member removes admin", e.svc.RemoveMember(ctx, member.ID, org.ID, admin.ID), delegation.ErrForbidden)
	wantErr(t, "member assigns services", e.svc.SetServices(ctx, member.ID, org.ID, member.ID, []string{"forms"}), delegation.ErrForbidden)
	var ve *idp.ValidationError
	if err := e.svc.SetServices(ctx, admin.ID, org.ID, member.ID, []string{"forms", "no-such-service"}); !errors.As(err, &ve) {
		t.Errorf("unknown service: %v", err)
	}

	// Promote, then the old admin may leave; the member who stayed is told nothing.
	must(t, "promote", e.svc.SetRole(ctx, admin.ID, org.ID, member.ID, delegation.RoleAdmin))
	must(t, "leave", e.svc.Leave(ctx, admin.ID, org.ID))
	_, _, err = e.svc.View(ctx, admin.ID, org.ID)
	wantErr(t, "view after leaving", err, delegation.ErrForbidden)
	wantErr(t, "now the last admin", e.svc.Leave(ctx, member.ID, org.ID), delegation.ErrLastAdmin)
}

func TestRemoveMemberMails(t *testing.T) {
	t.Parallel()
	e := newEnv(t, openSQLite(t))
	ctx := t.Context()
	admin := e.account(t, "Anna", "anna@example.ch", "de")
	member := e.account(t, "Beat", "beat@example.ch", "en")
	org, err := e.svc.CreateOrg(ctx, admin.ID, orgInput)
	must(t, "CreateOrg", err)
	e.join(t, admin.ID, org.ID, member, delegation.RoleMember)
	before := e.mailCount()
	must(t, "RemoveMember", e.svc.RemoveMember(ctx, admin.ID, org.ID, member.ID))
	m, ok := e.lastMail("beat@example.ch", delegation.MailRemoved)
	if !ok || m.Locale != "en" || m.Data["OrgName"] != "Muster AG" || e.mailCount() != before+1 {
		t.Fatalf("removal mail = %+v, %v", m, ok)
	}
	wantErr(t, "remove again", e.svc.RemoveMember(ctx, admin.ID, org.ID, member.ID), idp.ErrNotFound)
}

func TestOrgInputValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, openSQLite(t))
	admin := e.account(t, "Anna", "anna@example.ch", "de")
	addr := []delegation.Address{{Street: "Weg 1", PostalCode: "4500", Town: "Solothurn"}}
	tests := []struct {
		name string
		in   delegation.OrgInput
		want map[string]string
	}{
		{"empty", delegation.OrgInput{}, map[string]string{"name": "err.required", "street_0": "err.address_required"}},
		{"bad UID", delegation.OrgInput{Name: "X", UID: "CHE-116.281.711", Addresses: addr}, map[string]string{"uid": "err.uid_invalid"}},
		{"markup in name", delegation.OrgInput{Name: "<b>X</b>", Addresses: addr}, map[string]string{"name": "err.org_text_invalid"}},
		{"bad postal code", delegation.OrgInput{Name: "X", Addresses: []delegation.Address{{Street: "Weg 1", PostalCode: "45", Town: "S"}}},
			map[string]string{"postal_code_0": "err.postal_code_invalid"}},
		{"second row incomplete", delegation.OrgInput{Name: "X", Addresses: append(addr, delegation.Address{Street: "Weg 2"})},
			map[string]string{"town_1": "err.required", "postal_code_1": "err.required"}},
		{"bad country", delegation.OrgInput{Name: "X", Addresses: []delegation.Address{{Street: "W", PostalCode: "1", Town: "T", Country: "Schweiz"}}},
			map[string]string{"country_0": "err.country_invalid"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.CreateOrg(t.Context(), admin.ID, tc.in)
			var ve *idp.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("CreateOrg: %v, want a validation error", err)
			}
			for f, k := range tc.want {
				if !slices.Contains(ve.Fields[f], k) {
					t.Errorf("field %s: %v, want %s (all: %v)", f, ve.Fields[f], k, ve.Fields)
				}
			}
		})
	}
	// Blank rows are dropped, the country defaults to CH, the UID is canonical.
	o, err := e.svc.CreateOrg(t.Context(), admin.ID, delegation.OrgInput{Name: " Verein ", UID: "che116281710",
		Addresses: append([]delegation.Address{{}}, addr...)})
	must(t, "CreateOrg", err)
	if o.Name != "Verein" || o.UID != "CHE-116.281.710" || len(o.Addresses) != 1 || o.Addresses[0].Country != "CH" {
		t.Errorf("created %+v", o)
	}
}

func TestLegacyImportAndMigration(t *testing.T) {
	t.Parallel()
	e := newEnv(t, openSQLite(t))
	ctx := t.Context()
	_, err := e.svc.ImportLegacy(ctx, strings.NewReader("legacy_id,org_name,uid,owner_email\n"+
		"L-1,Alte Firma AG,CHE-105.909.036,owner@example.ch\n"+
		"L-2,,CHE-105.909.037,not-an-address\n"+
		"L-1,Doppelt,,owner@example.ch\n"))
	if err == nil {
		t.Fatal("import with bad lines succeeded")
	}
	for _, want := range []string{"line 3: org_name", "line 3: uid", "line 3: owner_email", "line 4: legacy_id repeats line 2"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "not-an-address") {
		t.Error("the error shows an address")
	}
	_, err = e.svc.ImportLegacy(ctx, strings.NewReader("id,name\nx,y\n"))
	if err == nil {
		t.Error("import with a wrong header succeeded")
	}
	res, err := e.svc.ImportLegacy(ctx, strings.NewReader("\ufefflegacy_id,org_name,uid,owner_email\n"+
		"L-1,Alte Firma AG,CHE-105.909.036,Owner@Example.ch\n"+
		"L-2,\"Zweite, GmbH\",,other@example.ch\n"))
	must(t, "ImportLegacy", err)
	if res.Inserted != 2 {
		t.Errorf("ImportLegacy = %+v", res)
	}

	owner := e.account(t, "Olga", "owner@example.ch", "de")
	intruder := e.account(t, "Ivo", "ivo@example.ch", "de")
	pending, err := e.svc.PendingMigrations(ctx, owner.ID)
	must(t, "PendingMigrations", err)
	if len(pending) != 1 || pending[0].LegacyID != "L-1" || pending[0].UID != "CHE-105.909.036" {
		t.Fatalf("PendingMigrations = %+v", pending)
	}
	in := delegation.OrgInput{Name: pending[0].OrgName, UID: pending[0].UID, Addresses: orgInput.Addresses}
	_, err = e.svc.MigrateLegacy(ctx, intruder.ID, "L-1", in)
	wantErr(t, "someone else migrates", err, delegation.ErrForbidden)
	o, err := e.svc.MigrateLegacy(ctx, owner.ID, "L-1", in)
	must(t, "MigrateLegacy", err)
	if o.LegacyID != "L-1" {
		t.Errorf("organisation %+v lost the legacy ID", o)
	}
	_, mem, err := e.svc.View(ctx, owner.ID, o.ID)
	must(t, "View", err)
	if !mem.IsAdmin() {
		t.Errorf("owner's membership %+v", mem)
	}
	_, err = e.svc.MigrateLegacy(ctx, owner.ID, "L-1", in)
	wantErr(t, "migrate twice", err, delegation.ErrForbidden)
	if p, _ := e.svc.PendingMigrations(ctx, owner.ID); len(p) != 0 {
		t.Errorf("still pending: %+v", p)
	}
}

// TestConcurrentDemotion has two admins demote each other at the same
// moment through the service, on both backends: one wins, one admin stays.
func TestConcurrentDemotion(t *testing.T) {
	t.Parallel()
	for name, open := range map[string]func(*testing.T) store{"sqlite": openSQLite, "postgres": openPostgres} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, open(t))
			ctx := t.Context()
			a := e.account(t, "Anna", "anna@example.ch", "de")
			b := e.account(t, "Beat", "beat@example.ch", "de")
			for round := range 5 {
				org, err := e.svc.CreateOrg(ctx, a.ID, orgInput)
				must(t, "CreateOrg", err)
				e.join(t, a.ID, org.ID, b, delegation.RoleAdmin)
				var wg sync.WaitGroup
				start := make(chan struct{})
				errs := make([]error, 2)
				for i, pair := range [][2]string{{a.ID, b.ID}, {b.ID, a.ID}} {
					wg.Go(func() {
						<-start
						errs[i] = e.svc.SetRole(ctx, pair[0], org.ID, pair[1], delegation.RoleMember)
					})
				}
				close(start)
				wg.Wait()
				ok := 0
				for _, err := range errs {
					switch {
					case err == nil:
						ok++
					case errors.Is(err, delegation.ErrLastAdmin), errors.Is(err, delegation.ErrForbidden):
						// The loser was demoted first or is the last admin.
					default:
						t.Fatalf("round %d: %v", round, err)
					}
				}
				st, _, err := e.svc.View(ctx, a.ID, org.ID)
				must(t, "View", err)
				if ok != 1 || st.Admins() != 1 {
					t.Fatalf("round %d: %d demotions succeeded, %d admins left", round, ok, st.Admins())
				}
			}
		})
	}
}
