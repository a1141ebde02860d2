package delegation_test

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/kanton/kundencenter/delegation"
	"github.com/kanton/kundencenter/idp"
)

// deletionBackends are the stores the deletion notices are tested on; the
// PostgreSQL one fails, never skips, without a server.
var deletionBackends = []struct {
	name string
	open func(t *testing.T) store
}{
	{"sqlite", openSQLite},
	{"postgres", openPostgres},
}

// deletionEnv is newEnv with the deletion hook wired as in production.
func deletionEnv(t *testing.T, st store) *env {
	e := newEnv(t, st)
	e.idp.SetOnDelete(e.svc.DeletionNotices)
	return e
}

// activeRep creates, accepts and confirms a representation of principal
// for representative.
func (e *env) activeRep(t *testing.T, principal, representative string, in delegation.RepInput) delegation.Representation {
	t.Helper()
	r, code := e.create(t, principal, in)
	_, err := e.svc.Accept(t.Context(), representative, code, repIP)
	must(t, "Accept", err)
	r, err = e.svc.Confirm(t.Context(), principal, r.ID)
	must(t, "Confirm", err)
	return r
}

// splitNotices sorts notices into mails (opened from the record of sealed mails,
// matched by count) and event notices.
func splitNotices(t *testing.T, e *env, before int, out []idp.Outgoing) ([]idp.Mail, []idp.EventNotice) {
	t.Helper()
	var events []idp.EventNotice
	mails := 0
	for _, o := range out {
		switch o.Kind {
		case idp.OutgoingEvent:
			var n idp.EventNotice
			must(t, "decode event notice", json.Unmarshal(o.Sealed, &n))
			events = append(events, n)
		case "mail":
			mails++
		default:
			t.Fatalf("unexpected outgoing kind %q", o.Kind)
		}
	}
	e.mu.Lock()
	sealed := slices.Clone(e.mails[before:])
	e.mu.Unlock()
	if len(sealed) != mails {
		t.Fatalf("%d mails sealed, %d returned", len(sealed), mails)
	}
	return sealed, events
}

// TestDeletionNotices: what the deletion of an account owes the other
// parties of its representations, per state and side.
func TestDeletionNotices(t *testing.T) {
	t.Parallel()
	for _, b := range deletionBackends {
		t.Run(b.name, func(t *testing.T) {
			e := deletionEnv(t, b.open(t))
			ctx := t.Context()
			pr := e.parties(t)
			// P: confirmed for R (two services), accepted by S, one code
			// nobody used, one ended by R, one with an end date that passed.
			conf := e.activeRep(t, pr.p.ID, pr.r.ID, delegation.RepInput{Services: []string{"documents", "forms"}})
			r2, code := e.create(t, pr.p.ID, delegation.RepInput{})
			_, err := e.svc.Accept(ctx, pr.s.ID, code, repIP)
			must(t, "Accept S", err)
			e.create(t, pr.p.ID, delegation.RepInput{})
			ended := e.activeRep(t, pr.p.ID, pr.r.ID, delegation.RepInput{})
			must(t, "End", e.svc.EndRepresentation(ctx, pr.r.ID, ended.ID))
			now := e.clock()

			before := e.mailCount()
			out, err := e.svc.DeletionNotices(ctx, pr.p.ID, now)
			must(t, "DeletionNotices P", err)
			mails, events := splitNotices(t, e, before, out)
			got := map[string]idp.Mail{}
			for _, m := range mails {
				if m.Template != delegation.MailRepEnded {
					t.Errorf("mail %s to %s", m.Template, m.To)
				}
				got[m.To] = m
			}
			if len(mails) != 2 || len(got) != 2 {
				t.Fatalf("mails to %v, want one each to ruedi and sandro", slices.Collect(maps.Keys(got)))
			}
			if m := got["ruedi@example.ch"]; m.Locale != "de" || m.Data["Name"] != "Ruedi Muster" || m.Data["PartyName"] != "Paula Muster" {
				t.Errorf("mail to R: %+v", m)
			}
			if m := got["sandro@example.ch"]; m.Locale != "it" || m.Data["PartyName"] != "Paula Muster" {
				t.Errorf("mail to S: %+v", m)
			}
			// SETs only for the confirmed one, one per service it covers.
			var clients []string
			for _, n := range events {
				clients = append(clients, n.ClientID)
				if n.Type != idp.EventRepresentationEnded || n.Subject != pr.p.ID || n.Members["representation_id"] != conf.ID ||
					n.Subjects["representative"] != pr.r.ID || !n.At.Equal(now) || n.JTI == "" {
					t.Errorf("event notice %+v", n)
				}
			}
			slices.Sort(clients)
			if !slices.Equal(clients, []string{"documents", "forms"}) {
				t.Errorf("SETs for %v, want documents and forms", clients)
			}

			// The representative's deletion tells the principal, in French.
			before = e.mailCount()
			out, err = e.svc.DeletionNotices(ctx, pr.r.ID, now)
			must(t, "DeletionNotices R", err)
			mails, events = splitNotices(t, e, before, out)
			if len(mails) != 1 || mails[0].To != "paula@example.ch" || mails[0].Locale != "fr" ||
				mails[0].Data["PartyName"] != "Ruedi Muster" || mails[0].Template != delegation.MailRepEnded {
				t.Errorf("mails for R's deletion: %+v", mails)
			}
			if len(events) != 2 {
				t.Errorf("%d SETs for R's deletion, want 2", len(events))
			}

			// Past the deadline of S's acceptance nothing is owed for it.
			later := now.Add(delegation.DefaultCodeTTL)
			if out, err := e.svc.DeletionNotices(ctx, pr.s.ID, later); err != nil || len(out) != 0 {
				t.Errorf("S after the deadline: %d notices, %v", len(out), err)
			}
			if st := e.state(t, r2.ID); st != delegation.RepAccepted {
				t.Fatalf("r2 %s", st)
			}
		})
	}
}

// TestDeletionNoticesNone: an account without representations, or whose
// representations ended or expired, owes nothing; two representations
// with the same person give one mail.
func TestDeletionNoticesNone(t *testing.T) {
	t.Parallel()
	for _, b := range deletionBackends {
		t.Run(b.name, func(t *testing.T) {
			e := deletionEnv(t, b.open(t))
			ctx := t.Context()
			pr := e.parties(t)
			if out, err := e.svc.DeletionNotices(ctx, pr.s.ID, e.clock()); err != nil || out != nil {
				t.Fatalf("no representations: %d notices, %v", len(out), err)
			}
			e.activeRep(t, pr.p.ID, pr.r.ID, delegation.RepInput{ValidUntil: e.clock().AddDate(0, 0, 3).Format("2006-01-02")})
			ended := e.activeRep(t, pr.p.ID, pr.s.ID, delegation.RepInput{})
			must(t, "End", e.svc.EndRepresentation(ctx, pr.p.ID, ended.ID))
			e.advance(5 * 24 * time.Hour)
			if out, err := e.svc.DeletionNotices(ctx, pr.p.ID, e.clock()); err != nil || len(out) != 0 {
				t.Fatalf("expired and ended representations: %d notices, %v", len(out), err)
			}
			e.activeRep(t, pr.p.ID, pr.r.ID, delegation.RepInput{})
			e.activeRep(t, pr.p.ID, pr.r.ID, delegation.RepInput{Services: []string{"documents"}})
			before := e.mailCount()
			out, err := e.svc.DeletionNotices(ctx, pr.p.ID, e.clock())
			must(t, "DeletionNotices", err)
			mails, events := splitNotices(t, e, before, out)
			if len(mails) != 1 || mails[0].To != "ruedi@example.ch" || len(events) != 2 {
				t.Fatalf("two active representations with R: %d mails, %d SETs, want 1 mail to R and 2 SETs", len(mails), len(events))
			}
			if out, err := e.svc.DeletionNotices(ctx, "no-such-account", e.clock()); err != nil || len(out) != 0 {
				t.Fatalf("unknown account: %d notices, %v", len(out), err)
			}
		})
	}
}

// TestDeleteAccountTellsRepresentative is the reviewer's case through the
// service: the principal deletes the account; the representative gets the
// rep_ended mail and the representation is revoked. A deletion that fails
// its password check sends nothing.
func TestDeleteAccountTellsRepresentative(t *testing.T) {
	t.Parallel()
	for _, b := range deletionBackends {
		t.Run(b.name, func(t *testing.T) {
			e := deletionEnv(t, b.open(t))
			ctx := t.Context()
			pr := e.parties(t)
			r := e.activeRep(t, pr.p.ID, pr.r.ID, delegation.RepInput{})
			before := e.mailCount()
			if err := e.idp.DeleteAccountByUser(ctx, idp.DeleteInput{AccountID: pr.p.ID, Password: "wrong-password-1234"}); err == nil {
				t.Fatal("deleted with a wrong password")
			}
			if n := e.mailCount(); n != before {
				t.Fatalf("%d mails sealed by a refused deletion", n-before)
			}
			must(t, "DeleteAccountByUser", e.idp.DeleteAccountByUser(ctx, idp.DeleteInput{AccountID: pr.p.ID, Password: "Sonnenblume-Aare-42"}))
			if st := e.state(t, r.ID); st != delegation.RepRevoked {
				t.Fatalf("state %s", st)
			}
			m, ok := e.lastMail("ruedi@example.ch", delegation.MailRepEnded)
			if !ok || m.Locale != "de" || m.Data["PartyName"] != "Paula Muster" {
				t.Fatalf("rep_ended mail to R: %v %+v", ok, m)
			}
			if _, ok := e.lastMail("paula@example.ch", idp.MailAccountDeleted); !ok {
				t.Fatal("no account_deleted mail to P")
			}
		})
	}
}
