package sqlstore_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/keyring"
	"github.com/kanton/kundencenter/keyring/reseal"
	"github.com/kanton/kundencenter/notify"
	"github.com/kanton/kundencenter/store/sqlstore"
)

// inbox is the SMTP peer of the test: it counts deliveries per recipient.
type inbox struct {
	mu  sync.Mutex
	got map[string]int
}

func (b *inbox) Send(_ context.Context, m notify.Message) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.got[m.To]++
	return nil
}

// snoozeLog counts the worker's "key not known yet" warnings.
type snoozeLog struct{ n atomic.Int64 }

func (l *snoozeLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *snoozeLog) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "does not have yet") {
		l.n.Add(1)
	}
	return nil
}
func (l *snoozeLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *snoozeLog) WithGroup(string) slog.Handler      { return l }

// instance is one IdP process: its key ring (from its KC_KEYRING) and its
// River worker on the shared database.
type instance struct {
	t      *testing.T
	s      *sqlstore.Store
	inbox  *inbox
	snooze *snoozeLog
	mu     sync.Mutex
	text   string
	ring   *keyring.Ring
	client *river.Client[pgx.Tx]
}

func (in *instance) current() *keyring.Ring {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.ring
}

// restart stops the worker and starts the process again with ringText (a
// rolling restart: the other instance keeps running); work false starts
// only the web side (it writes mail, its worker is busy elsewhere).
func (in *instance) restart(ringText string, work bool) {
	in.t.Helper()
	in.stop()
	ring, err := keyring.Parse(ringText)
	if err != nil {
		in.t.Fatal(err)
	}
	in.mu.Lock()
	in.text, in.ring = ringText, ring
	in.mu.Unlock()
	if !work {
		return
	}
	db := in.s.Database()
	c, err := river.NewClient(riverpgxv5.New(db.Pool()), &river.Config{
		Schema:            db.Schema(),
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 4}},
		Workers:           notify.Workers(ring, in.inbox, slog.New(in.snooze)),
		FetchCooldown:     5 * time.Millisecond,
		FetchPollInterval: 20 * time.Millisecond,
		Logger:            slog.New(slog.NewTextHandler(io.Discard, nil)),
		TestOnly:          true,
	})
	if err != nil {
		in.t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		in.t.Fatal(err)
	}
	in.client = c
}

func (in *instance) stop() {
	if in.client == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := in.client.Stop(ctx); err != nil {
		in.t.Errorf("stop River: %v", err)
	}
	in.client = nil
}

// TestKeyRotationTwoInstances rotates the key ring of two IdP instances on
// one PostgreSQL under a steady load of registrations (account sealed,
// activation mail sealed, in one transaction): the documented two phases
// (add-key everywhere, then activate everywhere), then a careless rotation
// that skips phase one (the old instance meets mail sealed with a key it
// does not know: it snoozes it and delivers it after its restart), then
// reseal and retire. Every mail is delivered exactly once, no job is
// cancelled or discarded, and retire refuses while old values remain.
func TestKeyRotationTwoInstances(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute) // a safety net, not a timing assertion
	defer cancel()
	s, db := openStore(t, "postgres")
	box := &inbox{got: map[string]int{}}
	snooze := &snoozeLog{}
	a := &instance{t: t, s: s, inbox: box, snooze: snooze}
	b := &instance{t: t, s: s, inbox: box, snooze: snooze}
	defer a.stop()
	defer b.stop()

	k1 := keyring.Generate()
	a.restart(k1, true)
	b.restart(k1, true)

	// The load: registrations through both instances, as a load balancer
	// spreads them.
	var (
		sent    atomic.Int64
		stop    = make(chan struct{})
		loadErr = make(chan error, 1)
		wg      sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			ring := []*instance{a, b}[i%2].current()
			id := fmt.Sprintf("acc-%05d", i)
			to := fmt.Sprintf("user%05d@example.ch", i)
			mail, err := notify.SealMail(ring, idp.Mail{To: to, Locale: "de", Template: idp.MailActivate,
				Data: map[string]string{notify.KeyName: "Anna", notify.KeyKontoID: "KC-1", notify.KeyLink: "https://konto.example.ch/a?t=x", notify.KeyValidHours: "48"}})
			if err == nil {
				acct := idp.Account{ID: id, KontoID: fmt.Sprintf("%012d", i), EmailIndex: ring.Index("email", to),
					Sealed: ring.Seal([]byte(`{"email":"`+to+`"}`), []byte(id)), PasswordHash: "x", Status: idp.StatusPending,
					Locale: "de", CreatedAt: time.Now()}
				err = s.CreateAccount(ctx, acct, idp.ActionToken{}, mail)
			}
			if err != nil {
				loadErr <- err
				return
			}
			sent.Add(1)
			time.Sleep(3 * time.Millisecond)
		}
	}()
	pause := func() { time.Sleep(150 * time.Millisecond) } // let some load run between the steps

	// Phase one: the new key is known everywhere before anyone seals with it.
	staged, err := keyring.AddKey(k1, "k2")
	must(t, err)
	pause()
	a.restart(staged, true)
	pause()
	b.restart(staged, true)
	pause()
	// Phase two: k2 becomes current, one instance after the other.
	k2, err := keyring.Activate(staged, "k2")
	must(t, err)
	a.restart(k2, true)
	pause()
	b.restart(k2, true)
	pause()
	if n := snooze.n.Load(); n != 0 {
		t.Errorf("two-phase rotation: %d mails met an instance that did not know their key", n)
	}

	// A careless rotation: k3 made current on A at once while B does not
	// know it. A's worker is busy elsewhere, so B meets A's mail.
	k3text, err := keyring.AddKey(k2, "k3")
	must(t, err)
	k3, err := keyring.Activate(k3text, "k3")
	must(t, err)
	a.restart(k3, false)
	for snooze.n.Load() == 0 {
		select {
		case <-ctx.Done():
			t.Fatal("B never met a mail sealed with k3")
		case <-time.After(20 * time.Millisecond):
		}
	}
	pause()
	b.restart(k3, true)
	a.restart(k3, true)
	pause()
	close(stop)
	wg.Wait()
	select {
	case err := <-loadErr:
		t.Fatalf("load: %v", err)
	default:
	}

	// Every mail delivered once; no job cancelled or discarded.
	for {
		var open int
		must(t, db.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'mail' AND state NOT IN ('completed', 'cancelled', 'discarded')`).Scan(&open))
		if open == 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d mail jobs never finished", open)
		case <-time.After(50 * time.Millisecond):
		}
	}
	var lost int
	must(t, db.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE state IN ('cancelled', 'discarded')`).Scan(&lost))
	box.mu.Lock()
	delivered, doubled := len(box.got), 0
	for _, n := range box.got {
		if n > 1 {
			doubled++
		}
	}
	box.mu.Unlock()
	t.Logf("registrations %d, mails delivered %d, snoozed for an unknown key %d", sent.Load(), delivered, snooze.n.Load())
	if lost != 0 || int64(delivered) != sent.Load() || doubled != 0 {
		t.Fatalf("%d jobs cancelled or discarded, %d of %d mails delivered, %d twice", lost, delivered, sent.Load(), doubled)
	}
	if sent.Load() < 20 {
		t.Fatalf("only %d registrations: the load did not run across the rotation", sent.Load())
	}

	// Phase three: k1 and k2 cannot be retired while accounts use them;
	// reseal (twice: the second run finds nothing left), then they can.
	cols := s.SealedColumns()
	if _, err := reseal.Retire(ctx, db, cols, k3, "k1"); !errors.Is(err, reseal.ErrInUse) {
		t.Fatalf("retire k1 before reseal: %v, want ErrInUse", err)
	}
	ring3, _ := keyring.Parse(k3)
	res, err := reseal.Run(ctx, db, ring3, cols, 7, slog.New(slog.DiscardHandler))
	must(t, err)
	t.Logf("reseal: %s", strings.Join(reseal.Summary(res), "; "))
	res, err = reseal.Run(ctx, db, ring3, cols, 7, slog.New(slog.DiscardHandler))
	must(t, err)
	for _, r := range res {
		if r.Resealed != 0 || len(r.Remaining) != 0 || r.Failed != 0 {
			t.Errorf("second reseal run: %+v", r)
		}
	}
	text, err := reseal.Retire(ctx, db, cols, k3, "k1")
	must(t, err)
	text, err = reseal.Retire(ctx, db, cols, text, "k2")
	must(t, err)
	only3, err := keyring.Parse(text)
	must(t, err)
	for i := range int(sent.Load()) {
		id := fmt.Sprintf("acc-%05d", i)
		acct, err := s.GetAccount(ctx, id)
		must(t, err)
		if _, err := only3.Open(acct.Sealed, []byte(id)); err != nil {
			t.Fatalf("account %s after retiring k1 and k2: %v", id, err)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Reseal rewrites mail jobs still waiting in the queue and sealed action
// texts of a timeline (whose append-only trigger lets exactly that change
// through), on both databases.
func TestResealQueuedMailAndTimeline(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			ctx := t.Context()
			s, db := openStore(t, dialect)
			k1 := keyring.Generate()
			old, _ := keyring.Parse(k1)
			text, err := keyring.AddKey(k1, "k2")
			must(t, err)
			text, err = keyring.Activate(text, "k2")
			must(t, err)
			cur, _ := keyring.Parse(text)

			mail, err := notify.SealMail(old, idp.Mail{To: "anna@example.ch", Locale: "de", Template: idp.MailPasswordChanged,
				Data: map[string]string{notify.KeyName: "Anna", notify.KeyResetLink: "https://konto.example.ch/r", notify.KeyLoginLink: "https://konto.example.ch/l"}})
			must(t, err)
			acct := idp.Account{ID: "principal", KontoID: "000000000001", EmailIndex: old.Index("email", "anna@example.ch"),
				Sealed: old.Seal([]byte(`{}`), []byte("principal")), PasswordHash: "x", Status: idp.StatusActive, Locale: "de", CreatedAt: time.Now()}
			must(t, s.CreateAccount(ctx, acct, idp.ActionToken{}, mail))
			services := "'[]'"
			if dialect == "postgres" {
				services = "'{}'"
			}
			_, err = db.Exec(ctx, `INSERT INTO representations (id, principal_id, representative_id, status, services, code_hash, ended_by)
				VALUES ('rep-1', 'principal', NULL, 'confirmed', `+services+`, '', '')`)
			must(t, err)
			detail := "sealed:" + base64.RawURLEncoding.EncodeToString(old.Seal([]byte("Steuererklärung eingereicht"), []byte("rep.action:principal")))
			_, err = db.Exec(ctx, `INSERT INTO rep_events (representation_id, at, actor, action, client_id, detail) VALUES ('rep-1', NULL, 'x', 'action', 'forms', ?)`, detail)
			must(t, err)
			// The trigger still refuses any other change.
			if _, err := db.Exec(ctx, `UPDATE rep_events SET actor = 'y'`); err == nil {
				t.Fatal("rep_events accepted a changed actor")
			}

			cols := s.SealedColumns()
			res, err := reseal.Run(ctx, db, cur, cols, 0, slog.New(slog.DiscardHandler))
			must(t, err)
			got := map[string]int{}
			for _, r := range res {
				got[r.Column] = r.Resealed
				if r.Failed != 0 {
					t.Errorf("%s: %d failed", r.Column, r.Failed)
				}
			}
			if got["river_job.args (mail)"] != 1 || got["rep_events.detail"] != 1 || got["accounts.sealed"] != 1 {
				t.Fatalf("resealed: %v", got)
			}
			text, err = reseal.Retire(ctx, db, cols, text, "k1")
			must(t, err)
			only2, _ := keyring.Parse(text)
			var args []byte
			q := `SELECT args FROM river_job WHERE kind = 'mail'`
			if dialect == "postgres" {
				q = `SELECT CAST(args AS text) FROM river_job WHERE kind = 'mail'`
			}
			must(t, db.QueryRow(ctx, q).Scan(&args))
			var ma notify.MailArgs
			must(t, json.Unmarshal(args, &ma))
			if m, err := notify.OpenMail(only2, ma.Sealed); err != nil || m.To != "anna@example.ch" {
				t.Fatalf("queued mail after retiring k1: %v", err)
			}
			var d string
			must(t, db.QueryRow(ctx, `SELECT detail FROM rep_events WHERE representation_id = 'rep-1'`).Scan(&d))
			raw, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(d, "sealed:"))
			if pt, err := only2.Open(raw, []byte("rep.action:principal")); err != nil || string(pt) != "Steuererklärung eingereicht" {
				t.Fatalf("timeline text after retiring k1: %q %v", pt, err)
			}
		})
	}
}
