package notify

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestDevOutboxKeepsNewestFirst(t *testing.T) {
	t.Parallel()
	clock := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	o := NewDevOutbox(3, func() time.Time { clock = clock.Add(time.Second); return clock })
	for i := 1; i <= 5; i++ {
		if err := o.Send(t.Context(), Message{To: fmt.Sprintf("u%d@example.ch", i%2), Subject: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	var subjects, ids []string
	for _, s := range o.Messages() {
		subjects, ids = append(subjects, s.Subject), append(ids, s.ID)
	}
	if want := []string{"5", "4", "3"}; !slices.Equal(subjects, want) {
		t.Errorf("subjects = %v, want %v", subjects, want)
	}
	if want := []string{"5", "4", "3"}; !slices.Equal(ids, want) {
		t.Errorf("IDs = %v, want %v", ids, want)
	}
	if got := o.Messages()[0].SentAt; !got.Equal(time.Date(2026, 3, 1, 9, 0, 5, 0, time.UTC)) {
		t.Errorf("SentAt = %v", got)
	}

	tests := []struct {
		name, to, want string
		ok             bool
	}{
		{name: "most recent to u1", to: "u1@example.ch", want: "5", ok: true},
		{name: "case-insensitive", to: "U0@Example.CH", want: "4", ok: true},
		{name: "nobody", to: "u2@example.ch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ok := o.Last(tt.to)
			if ok != tt.ok || s.Subject != tt.want {
				t.Errorf("Last(%q) = %q, %v; want %q, %v", tt.to, s.Subject, ok, tt.want, tt.ok)
			}
		})
	}
	if _, ok := o.Message("1"); ok {
		t.Errorf("message 1 should have been dropped")
	}
}

func TestDevOutboxWait(t *testing.T) {
	t.Parallel()
	o := NewDevOutbox(0, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 20 {
			_ = o.Send(ctx, Message{To: fmt.Sprintf("u%d@example.ch", i), Template: "reset"})
		}
	})
	s, err := o.Wait(ctx, func(s Sent) bool { return s.To == "u19@example.ch" })
	wg.Wait()
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if s.To != "u19@example.ch" {
		t.Errorf("Wait = %+v", s)
	}
	done, cancelDone := context.WithCancel(t.Context())
	cancelDone()
	if _, err := o.Wait(done, func(Sent) bool { return false }); err == nil {
		t.Errorf("Wait with a cancelled context returned no error")
	}
}

func TestLinks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text string
		want       []string
	}{
		{name: "none", text: "Guten Tag"},
		{name: "line of its own", text: "Link:\n\nhttps://a.example/x?t=1&u=2\n\nEnde", want: []string{"https://a.example/x?t=1&u=2"}},
		{name: "trailing punctuation", text: "Siehe https://a.example/x. Oder (http://b.example/y), bitte.", want: []string{"https://a.example/x", "http://b.example/y"}},
		{name: "in guillemets", text: "«https://a.example/»", want: []string{"https://a.example/"}},
		{name: "no javascript", text: "javascript:alert(1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Links(tt.text); !slices.Equal(got, tt.want) {
				t.Errorf("Links = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDevOutboxHandler(t *testing.T) {
	t.Parallel()
	o := NewDevOutbox(0, nil)
	send := func(m Message) {
		t.Helper()
		if err := o.Send(t.Context(), m); err != nil {
			t.Fatal(err)
		}
	}
	send(Message{To: "zoe@example.ch", Subject: `Aktivieren <script>alert("s")</script>`, Template: "activate",
		Text:      "Guten Tag <b>Zoë</b>\n\nhttps://konto.example.ch/aktivieren?token=abc&x=1.\n",
		HTML:      `<html><body><p>HTML-Teil</p><script>alert(1)</script></body></html>`,
		MessageID: "kc-mail.1.ab"})
	send(Message{To: "max@example.ch", Subject: "Nur Text", Text: "javascript:alert(1)\n"})
	srv := httptest.NewServer(o.Handler())
	t.Cleanup(srv.Close)

	tests := []struct {
		name       string
		path       string
		status     int
		csp        string
		contains   []string
		notContain []string
	}{
		{name: "list", path: "/dev/outbox", status: 200, csp: "frame-ancestors 'none'",
			contains:   []string{`<html lang="de">`, `<a href="/dev/outbox/1">Aktivieren &lt;script&gt;`, `<a href="/dev/outbox/2">Nur Text</a>`, "zoe@example.ch", "activate"},
			notContain: []string{"<script>"}},
		{name: "message with link and HTML part", path: "/dev/outbox/1", status: 200, csp: "default-src 'none'",
			contains: []string{
				`Guten Tag &lt;b&gt;Zoë&lt;/b&gt;`,
				`<a href="https://konto.example.ch/aktivieren?token=abc&amp;x=1">https://konto.example.ch/aktivieren?token=abc&amp;x=1</a>.`,
				`<iframe sandbox src="/dev/outbox/1/html"`, "kc-mail.1.ab"},
			notContain: []string{"<script>", "<b>"}},
		{name: "message without HTML part", path: "/dev/outbox/2", status: 200,
			contains: []string{"javascript:alert(1)"}, notContain: []string{"<iframe", `href="javascript`}},
		{name: "HTML part is sandboxed", path: "/dev/outbox/1/html", status: 200, csp: "sandbox",
			contains: []string{"<p>HTML-Teil</p>"}},
		{name: "no HTML part", path: "/dev/outbox/2/html", status: 404},
		{name: "unknown message", path: "/dev/outbox/99", status: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Get(srv.URL + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			body := string(b)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d\n%s", resp.StatusCode, tt.status, body)
			}
			if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, tt.csp) {
				t.Errorf("Content-Security-Policy = %q, want it to contain %q", csp, tt.csp)
			}
			if tt.status == 200 && resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("no X-Content-Type-Options: nosniff")
			}
			for _, s := range tt.contains {
				if !strings.Contains(body, s) {
					t.Errorf("body lacks %q:\n%s", s, body)
				}
			}
			for _, s := range tt.notContain {
				if strings.Contains(body, s) {
					t.Errorf("body contains %q:\n%s", s, body)
				}
			}
		})
	}
}

func TestDevOutboxConcurrent(t *testing.T) {
	t.Parallel()
	o := NewDevOutbox(50, nil)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 100 {
				_ = o.Send(t.Context(), Message{To: fmt.Sprintf("g%d@example.ch", g), Subject: fmt.Sprint(i)})
				_ = o.Messages()
				_, _ = o.Last("g0@example.ch")
			}
		})
	}
	wg.Wait()
	msgs := o.Messages()
	if len(msgs) != 50 {
		t.Fatalf("kept %d messages, want 50", len(msgs))
	}
	if msgs[0].ID != "400" {
		t.Errorf("newest ID = %s, want 400", msgs[0].ID)
	}
}

// TestDevOutboxSMS checks that SMS land in the outbox and on its page.
func TestDevOutboxSMS(t *testing.T) {
	t.Parallel()
	o := NewDevOutbox(0, nil)
	if err := o.SendSMS(t.Context(), "+41791234567", "Ihr Code für das Kundencenter: 123456."); err != nil {
		t.Fatal(err)
	}
	s, ok := o.Last("+41791234567")
	if !ok || s.Template != SMSTemplate || !strings.Contains(s.Text, "123456") {
		t.Fatalf("Last = %+v, %v", s, ok)
	}
	srv := httptest.NewServer(o.Handler())
	defer srv.Close()
	res, err := http.Get(srv.URL + DevOutboxPath)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), "&#43;41791234567") || !strings.Contains(string(body), SMSTemplate) {
		t.Fatalf("outbox page does not list the SMS:\n%s", body)
	}
}
