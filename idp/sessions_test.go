package idp_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
)

// A login replaces the browser's session: the old one ends as a logout
// ends it (durably, with the refresh tokens issued in it and from the
// account's index), and the audit log shows its end before the new one's
// start. A session that is no longer live is left alone. On the embedded
// stores and on PostgreSQL and Redis.
func TestReplaceSession(t *testing.T) {
	t.Parallel()
	backends := []struct {
		name string
		opts func(t *testing.T) idptest.Options
	}{
		{"embedded", func(*testing.T) idptest.Options { return idptest.Options{} }},
		{"postgres+redis", func(t *testing.T) idptest.Options {
			return idptest.Options{Store: idptest.Postgres(t), Eph: idptest.Redis(t)}
		}},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			env := idptest.Start(t, b.opts(t))
			ctx := t.Context()
			svc := env.Service
			a := env.CreateAccount(t, "Rita", "Relog", "rita@example.ch", "Korrekt-Pferd-42")

			old, err := svc.StartSessionSince(ctx, a.ID, []string{idp.AMRPassword}, idp.LevelLow, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			now := svc.Now()
			rt := idp.RefreshToken{ID: idp.NewID(), Hash: idp.HashToken(idp.NewID()), FamilyID: idp.NewID(),
				ClientID: "client-a", AccountID: a.ID, SessionID: old.ID, Scopes: []string{"openid", "offline_access"},
				AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
			if err := env.Store.CreateRefreshToken(ctx, rt); err != nil {
				t.Fatal(err)
			}

			sess, err := svc.ReplaceSession(ctx, old.ID, a.ID, []string{idp.AMRPassword}, idp.LevelLow, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if sess.ID == old.ID || sess.AccountID != a.ID {
				t.Fatalf("new session %+v", sess)
			}
			if _, err := svc.Session(ctx, old.ID); !errors.Is(err, idp.ErrNotFound) {
				t.Errorf("replaced session: %v, want ErrNotFound", err)
			}
			if _, err := svc.Session(ctx, sess.ID); err != nil {
				t.Errorf("new session: %v", err)
			}
			if ended, err := env.Store.RevokedSince(ctx, old.CreatedAt, idp.Revocation{Kind: idp.RevokedSession, ID: old.ID}); err != nil || !ended {
				t.Errorf("replaced session durably ended: %v, %v; want true", ended, err)
			}
			if got, err := env.Store.GetRefreshToken(ctx, rt.Hash); err != nil || got.RevokedAt.IsZero() {
				t.Errorf("refresh token of the replaced session: revoked at %v (%v), want revoked", got.RevokedAt, err)
			}
			members, err := env.Eph.SMembers(ctx, "acctsess:"+a.ID)
			if err != nil || !slices.Equal(members, []string{sess.ID}) {
				t.Errorf("account's session index = %q, %v; want only the new session", members, err)
			}
			events, err := env.Store.ListAudit(ctx, a.ID, 10)
			if err != nil {
				t.Fatal(err)
			}
			var actions []string
			for _, e := range events {
				if strings.HasPrefix(e.Action, "session.") {
					actions = append(actions, e.Action)
				}
			}
			if want := []string{"session.started", "session.ended", "session.started"}; !slices.Equal(actions, want) {
				t.Errorf("audit (newest first) = %q, want %q", actions, want)
			}

			// A cookie naming no live session: nothing is ended or recorded
			// for it.
			const stale = "c3RhbGUtc2Vzc2lvbi1pZA"
			if _, err := svc.ReplaceSession(ctx, stale, a.ID, []string{idp.AMRPassword}, idp.LevelLow, time.Time{}); err != nil {
				t.Fatal(err)
			}
			if ended, err := env.Store.RevokedSince(ctx, time.Time{}, idp.Revocation{Kind: idp.RevokedSession, ID: stale}); err != nil || ended {
				t.Errorf("stale session recorded as ended: %v, %v", ended, err)
			}
			if _, err := svc.Session(ctx, sess.ID); err != nil {
				t.Errorf("the other live session ended too: %v", err)
			}
		})
	}
}
