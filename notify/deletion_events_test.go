package notify_test

import (
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kanton/kundencenter/delegation"
	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
	"github.com/kanton/kundencenter/notify"
	"github.com/kanton/kundencenter/store/postgres"
	"github.com/kanton/kundencenter/store/sqlite"
)

// queuedArgs returns the arguments of the River jobs of a kind in the
// store's job table, oldest first: what a transaction committed for the
// job queue, before any worker ran.
func queuedArgs(t *testing.T, st idp.Store, kind string) [][]byte {
	t.Helper()
	const q = `SELECT args FROM river_job WHERE kind = $1 ORDER BY id`
	var out [][]byte
	switch s := st.(type) {
	case *sqlite.Store:
		rows, err := s.DB().QueryContext(t.Context(), q, kind)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var b []byte
			if err := rows.Scan(&b); err != nil {
				t.Fatal(err)
			}
			out = append(out, b)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	case *postgres.Store:
		rows, err := s.Pool().Query(t.Context(), q, kind)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var b []byte
			if err := rows.Scan(&b); err != nil {
				t.Fatal(err)
			}
			out = append(out, b)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("no job table in %T", st)
	}
	return out
}

// queuedMails opens the mails waiting in the job queue.
func queuedMails(t *testing.T, env *idptest.Env) []idp.Mail {
	t.Helper()
	var out []idp.Mail
	for _, raw := range queuedArgs(t, env.Store, "mail") {
		var args notify.MailArgs
		if err := json.Unmarshal(raw, &args); err != nil {
			t.Fatal(err)
		}
		m, err := notify.OpenMail(env.Ring, args.Sealed)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// deletionClock is a settable clock for the lifecycle rules.
type deletionClock struct{ t atomic.Pointer[time.Time] }

func (c *deletionClock) set(t time.Time) { c.t.Store(&t) }
func (c *deletionClock) now() time.Time  { return *c.t.Load() }

// TestDeletionEndsRepresentationForOthers: P has a confirmed
// representation for R covering forms. Deleting P — by P ("Konto
// löschen") or by the lifecycle rules (never logged in for 2 months) —
// enqueues, in the deletion's transaction, the rep_ended mail to R and a
// representation-ended SET for forms, which forms receives signed by the
// IdP; documents, not covered, hears nothing. Before that, deleting A,
// who has no representation, enqueues nothing beyond A's own mail. Both
// stores.
func TestDeletionEndsRepresentationForOthers(t *testing.T) {
	t.Parallel()
	paths := []struct {
		name string
		// del deletes acct (its password is testPassword) and moves the
		// clock as far as that needs.
		del func(t *testing.T, env *idptest.Env, c *deletionClock, acct idp.Account)
		own string // the deleted account's own mail
	}{
		{"user", func(t *testing.T, env *idptest.Env, _ *deletionClock, acct idp.Account) {
			if err := env.Service.DeleteAccountByUser(t.Context(), idp.DeleteInput{AccountID: acct.ID, Password: testPassword}); err != nil {
				t.Fatal(err)
			}
		}, idp.MailAccountDeleted},
		{"lifecycle", func(t *testing.T, env *idptest.Env, c *deletionClock, acct idp.Account) {
			c.set(idp.AddMonths(acct.CreatedAt, idp.NeverUsedMonths).Add(time.Minute))
			res, err := env.Service.RunLifecycle(t.Context())
			if err != nil || res.DeletedNeverUsed != 1 || res.DeletedInactive != 0 {
				t.Fatalf("lifecycle run: %+v, %v; want exactly this account deleted", res, err)
			}
		}, idp.MailLifecycleDeleted},
	}
	for _, b := range backends {
		for _, path := range paths {
			t.Run(b.name+"/"+path.name, func(t *testing.T) {
				c := &deletionClock{}
				start := time.Now().UTC().Add(-365 * 24 * time.Hour).Truncate(time.Second)
				c.set(start)
				env := idptest.Start(t, idptest.Options{Store: b.open(t), Now: c.now})
				ctx := t.Context()
				recv := map[string]*receiver{}
				for _, id := range []string{"forms", "documents"} {
					r, uri := newReceiver(t, env, nil)
					recv[id] = r
					env.AddClient(t, idp.Client{ID: id, RedirectURIs: []string{"https://" + id + ".example.ch/cb"}, EventsURI: uri}, testSecret)
				}
				// A first, P and R a month later: the lifecycle finds A
				// due alone, then P. R logs in, so R is never due.
				a := env.CreateAccount(t, "Alex", "Allein", "alex@example.ch", testPassword)
				c.set(idp.AddMonths(start, 1))
				p := env.CreateAccount(t, "Paula", "Prinzipal", "paula@example.ch", testPassword)
				r := env.CreateAccount(t, "Ruedi", "Vertreter", "ruedi@example.ch", testPassword)
				if _, err := env.Service.Login(ctx, "ruedi@example.ch", testPassword, "203.0.113.9"); err != nil {
					t.Fatal(err)
				}
				rep := confirmedRepresentation(t, env, p.ID, r.ID, "forms")

				// A has no representation: A's own mail, nothing else.
				mails0, events0 := len(queuedMails(t, env)), len(queuedArgs(t, env.Store, idp.OutgoingEvent))
				path.del(t, env, c, a)
				mails := queuedMails(t, env)[mails0:]
				if len(mails) != 1 || mails[0].To != "alex@example.ch" || mails[0].Template != path.own {
					t.Fatalf("deleting A queued mails %+v, want only A's %s", mails, path.own)
				}
				if n := len(queuedArgs(t, env.Store, idp.OutgoingEvent)) - events0; n != 0 {
					t.Fatalf("deleting A queued %d SETs, want none", n)
				}

				// P's deletion: P's own mail and R's rep_ended, one SET.
				mails0 = len(queuedMails(t, env))
				path.del(t, env, c, p)
				got := map[string]idp.Mail{}
				for _, m := range queuedMails(t, env)[mails0:] {
					got[m.To+" "+m.Template] = m
				}
				if len(got) != 2 {
					t.Fatalf("deleting P queued %v", got)
				}
				if _, ok := got["paula@example.ch "+path.own]; !ok {
					t.Errorf("no %s mail to P: %v", path.own, got)
				}
				m, ok := got["ruedi@example.ch "+delegation.MailRepEnded]
				if !ok || m.Locale != "de" || m.Data["Name"] != "Ruedi Vertreter" || m.Data["PartyName"] != "Paula Prinzipal" ||
					m.Data["Link"] != env.URL+"/representations" {
					t.Errorf("rep_ended mail to R: %v %+v", ok, m)
				}
				if ended, err := env.Orgs.RepresentationFor(ctx, r.ID, rep.ID); err != nil || ended.State != delegation.RepRevoked {
					t.Errorf("representation after P's deletion: %+v, %v", ended, err)
				}

				events := jobs(t, env, nil)
				if states, _ := waitJobs(t, events, idp.OutgoingEvent, 1); states[0] != "completed" {
					t.Fatalf("SET job: %v", states)
				}
				if n := events.count(idp.OutgoingEvent); n != 1 {
					t.Fatalf("%d SET jobs, want 1 (forms)", n)
				}
				if got, bad, _ := recv["documents"].result(); len(got) != 0 || len(bad) != 0 {
					t.Errorf("documents: %d SETs, refused %v", len(got), bad)
				}
				got2, bad, _ := recv["forms"].result()
				if len(got2) != 1 || len(bad) != 0 {
					t.Fatalf("forms: %d SETs, refused %v", len(got2), bad)
				}
				ev, _ := got2[0]["events"].(map[string]any)[idp.EventRepresentationEnded].(map[string]any)
				if got2[0]["iss"] != env.URL || got2[0]["aud"] != "forms" || ev == nil || ev["representation_id"] != rep.ID ||
					fmt.Sprint(ev["subject"]) != fmt.Sprint(subjectOf(env.URL, p.ID)) ||
					fmt.Sprint(ev["representative"]) != fmt.Sprint(subjectOf(env.URL, r.ID)) {
					t.Errorf("forms: SET claims %v", got2[0])
				}
			})
		}
	}
}
