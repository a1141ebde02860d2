package datatrans_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/kanton/kundencenter/services/forms/datatrans"
	"github.com/kanton/kundencenter/services/forms/datatrans/datatranstest"
	"github.com/kanton/kundencenter/services/forms/payment"
)

// setup starts the fake and a webhook receiver verifying with the client.
func setup(t *testing.T) (*datatranstest.Server, *datatrans.Client, func() []payment.Event, string) {
	t.Helper()
	fake, cfg := datatranstest.Start(t)
	c, err := datatrans.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var events []payment.Event
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		e, err := c.VerifyWebhook(r.Header, body)
		if errors.Is(err, payment.ErrBadSignature) {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}))
	t.Cleanup(hook.Close)
	return fake, c, func() []payment.Event { mu.Lock(); defer mu.Unlock(); return append([]payment.Event(nil), events...) }, hook.URL
}

func req(ref, hook string) payment.InitRequest {
	return payment.InitRequest{Ref: ref, Amount: 2000, Currency: "CHF", Methods: []string{"TWI"}, Lang: "de",
		SuccessURL: "http://rp/ok", CancelURL: "http://rp/cancel", ErrorURL: "http://rp/error", WebhookURL: hook, IdempotencyKey: ref}
}

func TestFlow(t *testing.T) {
	tests := []struct {
		name     string
		faults   datatranstest.Faults
		outcome  string
		want     payment.Status
		webhooks []payment.Status // verified webhooks
		back     string
	}{
		{name: "paid", outcome: "success", want: payment.Captured, webhooks: []payment.Status{payment.Captured}, back: "http://rp/ok"},
		{name: "cancel", outcome: "cancel", want: payment.Canceled, webhooks: []payment.Status{payment.Canceled}, back: "http://rp/cancel"},
		{name: "fail", outcome: "fail", want: payment.Failed, webhooks: []payment.Status{payment.Failed}, back: "http://rp/error"},
		{name: "double", faults: datatranstest.Faults{DoubleWebhook: true}, outcome: "success", want: payment.Captured, webhooks: []payment.Status{payment.Captured, payment.Captured}, back: "http://rp/ok"},
		{name: "early", faults: datatranstest.Faults{EarlyWebhook: true}, outcome: "success", want: payment.Captured, webhooks: []payment.Status{payment.Pending, payment.Captured}, back: "http://rp/ok"},
		{name: "dropped", faults: datatranstest.Faults{DropWebhook: true}, outcome: "success", want: payment.Captured, back: "http://rp/ok"},
		{name: "bad signature", faults: datatranstest.Faults{BadSignature: true}, outcome: "success", want: payment.Captured, back: "http://rp/ok"},
		{name: "stale afterwards", faults: datatranstest.Faults{StaleAfterward: true}, outcome: "success", want: payment.Captured, webhooks: []payment.Status{payment.Captured, payment.Authorized}, back: "http://rp/ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake, c, events, hook := setup(t)
			fake.SetFaults(tt.faults)
			s, err := c.Init(t.Context(), req("ref-1", hook))
			if err != nil {
				t.Fatal(err)
			}
			back, err := fake.Complete(s.PSPID, tt.outcome, "TWI")
			if err != nil {
				t.Fatal(err)
			}
			if want := tt.back + "?datatransTrxId=" + s.PSPID; back != want {
				t.Errorf("back to %s, want %s", back, want)
			}
			st, err := c.Status(t.Context(), s.PSPID)
			if err != nil || st.Status != tt.want || st.Ref != "ref-1" {
				t.Fatalf("Status = %+v, %v; want %s", st, err, tt.want)
			}
			got := events()
			if len(got) != len(tt.webhooks) {
				t.Fatalf("webhooks %+v, want %v", got, tt.webhooks)
			}
			for i, e := range got {
				if e.Status != tt.webhooks[i] {
					t.Errorf("webhook %d: %s, want %s", i, e.Status, tt.webhooks[i])
				}
			}
			if tt.faults.BadSignature && (len(fake.Deliveries()) != 1 || fake.Deliveries()[0].Answer != http.StatusForbidden) {
				t.Errorf("a mis-signed webhook must be refused with 403: %+v", fake.Deliveries())
			}
			if n := fake.Charges(s.PSPID); (tt.want == payment.Captured) != (n == 1) || n > 1 {
				t.Errorf("charged %d times", n)
			}
		})
	}
}

func TestInitErrors(t *testing.T) {
	fake, c, _, hook := setup(t)
	s1, err := c.Init(t.Context(), req("ref-a", hook))
	if err != nil {
		t.Fatal(err)
	}
	// The same idempotency key and body: the same transaction.
	s2, err := c.Init(t.Context(), req("ref-a", hook))
	if err != nil || s2.PSPID != s1.PSPID {
		t.Fatalf("replay: %+v, %v; want %s", s2, err, s1.PSPID)
	}
	// The same key with another body: 422.
	other := req("ref-a", hook)
	other.Amount = 1
	var apiErr *datatrans.APIError
	if _, err := c.Init(t.Context(), other); !errors.As(err, &apiErr) || apiErr.Status != 422 {
		t.Errorf("other body: %v", err)
	}
	// The same refno with a new key: DUPLICATE_REFNO.
	dup := req("ref-a", hook)
	dup.IdempotencyKey = "k2"
	if _, err := c.Init(t.Context(), dup); !errors.As(err, &apiErr) || apiErr.Code != "DUPLICATE_REFNO" {
		t.Errorf("duplicate refno: %v", err)
	}
	bad := req("ref-b", hook)
	bad.Amount = 0
	if _, err := c.Init(t.Context(), bad); !errors.As(err, &apiErr) || apiErr.Code != "INVALID_PROPERTY" {
		t.Errorf("zero amount: %v", err)
	}
	fake.SetFaults(datatranstest.Faults{FailNextAPI: 1})
	if _, err := c.Init(t.Context(), req("ref-c", hook)); !errors.As(err, &apiErr) || !apiErr.Temporary() {
		t.Errorf("5xx: %v", err)
	}
	if _, err := c.Init(t.Context(), req("ref-c", hook)); err != nil {
		t.Errorf("after the one 5xx: %v", err)
	}
	wrong, _ := datatrans.New(datatrans.Config{APIURL: "http://127.0.0.1:1", PayURL: "http://127.0.0.1:1", MerchantID: "x", Password: "y", SignKey: fake.SignKeyHex()})
	if _, err := wrong.Init(t.Context(), req("ref-d", hook)); !errors.As(err, &apiErr) || !apiErr.Temporary() {
		t.Errorf("unreachable: %v", err)
	}
}

func TestExpiry(t *testing.T) {
	fake, c, _, hook := setup(t)
	now := time.Now()
	fake.SetNow(func() time.Time { return now })
	s, err := c.Init(t.Context(), req("ref-x", hook))
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(31 * time.Minute)
	fake.SetNow(func() time.Time { return now })
	back, _ := fake.Complete(s.PSPID, "success", "TWI")
	if st, _ := c.Status(t.Context(), s.PSPID); st.Status != payment.Failed || fake.Charges(s.PSPID) != 0 {
		t.Errorf("expired transaction: %+v, charges %d", st, fake.Charges(s.PSPID))
	}
	if back != "http://rp/error?datatransTrxId="+s.PSPID {
		t.Errorf("back to %s", back)
	}
}

func TestLateWebhook(t *testing.T) {
	fake, c, events, hook := setup(t)
	fake.SetFaults(datatranstest.Faults{LateWebhook: true})
	s, _ := c.Init(t.Context(), req("ref-l", hook))
	_, _ = fake.Complete(s.PSPID, "success", "PFC")
	if len(events()) != 0 {
		t.Fatal("a late webhook arrived early")
	}
	fake.Release()
	if e := events(); len(e) != 1 || e[0].Status != payment.Captured || e[0].Method != "PFC" {
		t.Fatalf("after release: %+v", e)
	}
}
