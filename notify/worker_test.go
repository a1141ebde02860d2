package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/keyring"
)

// senderFunc is a hand-written fake Sender.
type senderFunc func(ctx context.Context, m Message) error

func (f senderFunc) Send(ctx context.Context, m Message) error { return f(ctx, m) }

func TestMailWorker(t *testing.T) {
	t.Parallel()
	ring := testRing(t)
	render, err := NewRenderer()
	if err != nil {
		t.Fatalf("NewRenderer: %v", err)
	}
	seal := func(m idp.Mail) []byte {
		t.Helper()
		out, err := SealMail(ring, m)
		if err != nil {
			t.Fatalf("SealMail: %v", err)
		}
		return out.Sealed
	}
	valid := seal(testMail(idp.MailActivate, "it"))
	unknown := testMail(idp.MailActivate, "de")
	unknown.Template = "welcome"
	rejected := errors.New(`smtp: 550 5.1.1 <ZOE.MUELLER@example.ch>: recipient unknown`)

	tests := []struct {
		name      string
		sealed    []byte
		sendErr   error
		wantSent  bool
		wantErr   bool
		cancelled bool
		snoozed   bool
	}{
		{name: "delivered", sealed: valid, wantSent: true},
		{name: "not sealed", sealed: []byte("garbage"), wantErr: true, cancelled: true},
		{name: "sealed for something else", sealed: ring.Seal([]byte(`{}`), []byte("account")), wantErr: true, cancelled: true},
		{name: "not JSON", sealed: ring.Seal([]byte(`{"to":`), []byte("mail")), wantErr: true, cancelled: true},
		{name: "unknown template", sealed: ring.Seal(mustJSON(t, unknown), []byte("mail")), wantErr: true, cancelled: true},
		{name: "send fails: retried", sealed: valid, sendErr: rejected, wantErr: true},
		{name: "unknown key: snoozed, not cancelled", sealed: newKeySeal(t, testMail(idp.MailActivate, "de")), wantErr: true, snoozed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			outbox := NewDevOutbox(0, nil)
			var s Sender = outbox
			if tt.sendErr != nil {
				s = senderFunc(func(context.Context, Message) error { return tt.sendErr })
			}
			w := NewMailWorker(ring, render, s, log)
			job := &river.Job[MailArgs]{JobRow: &rivertype.JobRow{ID: 42, Attempt: 1}, Args: MailArgs{Sealed: tt.sealed}}

			err := w.Work(t.Context(), job)

			if (err != nil) != tt.wantErr {
				t.Fatalf("Work = %v, want error %v", err, tt.wantErr)
			}
			var cancel *river.JobCancelError
			if errors.As(err, &cancel) != tt.cancelled {
				t.Errorf("Work = %v, want cancelled %v", err, tt.cancelled)
			}
			var snooze *river.JobSnoozeError
			if errors.As(err, &snooze) != tt.snoozed {
				t.Errorf("Work = %v, want snoozed %v", err, tt.snoozed)
			}
			if tt.sendErr != nil && !errors.Is(err, tt.sendErr) {
				t.Errorf("Work = %v, want it to wrap the send error", err)
			}
			sent := outbox.Messages()
			if tt.wantSent {
				if len(sent) != 1 {
					t.Fatalf("sent %d messages, want 1", len(sent))
				}
				if want := MessageID(42, tt.sealed); sent[0].MessageID != want {
					t.Errorf("MessageID = %q, want %q", sent[0].MessageID, want)
				}
				if sent[0].To != "zoe.mueller@example.ch" || !strings.Contains(sent[0].Text, "KC-4821-7733-9") {
					t.Errorf("sent %+v", sent[0])
				}
			} else if len(sent) != 0 {
				t.Errorf("sent %d messages, want none", len(sent))
			}
			out := logs.String()
			if !strings.Contains(out, "job_id=42") {
				t.Errorf("log lacks the job ID:\n%s", out)
			}
			for _, secret := range []string{"zoe.mueller", "ZOE.MUELLER", "s3cr3t", "KC-4821", "Müller"} {
				if strings.Contains(out, secret) {
					t.Errorf("log reveals %q:\n%s", secret, out)
				}
				if err != nil && strings.Contains(err.Error(), secret) {
					t.Errorf("error reveals %q: %v", secret, err)
				}
			}
		})
	}
}

func TestMessageIDStable(t *testing.T) {
	t.Parallel()
	a := MessageID(7, []byte("sealed-1"))
	if a != MessageID(7, []byte("sealed-1")) {
		t.Errorf("MessageID differs between attempts of one job")
	}
	for _, other := range []string{MessageID(8, []byte("sealed-1")), MessageID(7, []byte("sealed-2"))} {
		if other == a {
			t.Errorf("MessageID %q repeats for another job", a)
		}
	}
}

func mustJSON(t *testing.T, m idp.Mail) []byte {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("encode mail: %v", err)
	}
	return b
}

// newKeySeal seals m with a ring whose current key the test ring does not
// have (as an instance that already runs the next key would).
func newKeySeal(t *testing.T, m idp.Mail) []byte {
	t.Helper()
	text, err := keyring.AddKey(keyring.Generate(), "k-next")
	if err == nil {
		text, err = keyring.Activate(text, "k-next")
	}
	if err != nil {
		t.Fatal(err)
	}
	other, err := keyring.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	out, err := SealMail(other, m)
	if err != nil {
		t.Fatal(err)
	}
	return out.Sealed
}
