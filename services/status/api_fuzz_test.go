package status

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/kanton/kundencenter/services/api"
	"github.com/kanton/kundencenter/webkit"
)

// decodeAs reads body as the API does (webkit.Decode with the API's limit).
func decodeAs[T any](body []byte) (T, bool) {
	var v T
	r := httptest.NewRequest(http.MethodPost, APIBase+"/cases", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return v, webkit.Decode(httptest.NewRecorder(), r, &v, maxAPIBody)
}

// FuzzAPIRequests checks the eCH-0058 back-office API's requests on
// arbitrary JSON: no panic in decoding and checking; a refused body yields
// the zero request; an accepted request written out and read again is the
// same request with the same idempotency hash (a client's retry of what
// it sent is recognised as the same message); a case request that passes
// the checks has what a case needs.
func FuzzAPIRequests(f *testing.F) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	for _, s := range []string{
		`{"messageId":"m-1","service":"forms","title":{"de":"Umzug"},"owner":{"kind":"person","sub":"s1"},"eventDate":"2026-12-01T10:00:00+01:00"}`,
		`{"messageId":"m-2","service":"forms","title":{"de":"Hund","fr":"Chien"},"owner":{"kind":"organisation","id":"o1"},"eventDate":"2026-12-01T10:00:00Z","expectedCompletion":"2026-12-24","submittedBy":{"sub":"s2"},"testDeliveryFlag":true}`,
		`{"messageId":"m-3","action":"status","eventDate":"2026-12-02T08:00:00Z","status":"in_bearbeitung","note":{"de":"Wir prüfen."},"notify":true}`,
		`{"messageId":"m-4","action":"recall","referenceMessageId":"m-3","eventDate":"2026-12-02T09:00:00Z"}`,
		`{"messageId":"m-5","eventDate":"2026-12-02T08:00:00Z","status":"abgeschlossen","outcome":"gutgeheissen","businessCaseClosed":true}`,
		`{"messageId":"","owner":{"kind":"person","sub":"s","id":"x"},"eventDate":"9999-12-31T23:59:59Z"}`,
		`{"eventDate":"2026-13-01T00:00:00Z"}`, `{"expectedCompletion":"24.12.2026"}`, `{"title":{"xx":"?"}}`, `{}`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		caller := api.Caller{ClientID: "fachapp"}
		if req, ok := decodeAs[createRequest](body); !ok {
			if req != (createRequest{}) {
				t.Fatalf("refused body %q yields %+v", body, req)
			}
		} else {
			errs := req.check(now)
			out, _ := json.Marshal(req)
			again, ok := decodeAs[createRequest](out)
			if !ok {
				t.Fatalf("accepted request %q written out as %s is refused", body, out)
			}
			h1, h2 := message(caller, req.MessageID, "create", req), message(caller, again.MessageID, "create", again)
			if !bytes.Equal(h1.Hash, h2.Hash) {
				t.Fatalf("round trip of %s changes the idempotency hash", out)
			}
			if len(again.check(now)) != len(errs) {
				t.Fatalf("round trip of %s changes the check", out)
			}
			if len(errs) == 0 && (req.MessageID == "" || req.Service == "" || req.Title.De == "" || req.EventDate.IsZero() ||
				req.Owner.Kind != OwnerPerson && req.Owner.Kind != OwnerOrganisation || req.EventDate.After(now.Add(maxFuture))) {
				t.Fatalf("an incomplete case request passes the checks: %+v", req)
			}
		}
		if req, ok := decodeAs[eventRequest](body); ok {
			ev := Event{MessageID: req.MessageID, Action: req.Action, Ref: req.ReferenceMessageID, EventDate: req.EventDate,
				Status: req.Status, Note: req.Note, Deadline: req.Deadline, Outcome: req.Outcome, Notify: req.Notify}
			_ = ev.Check()
			out, _ := json.Marshal(req)
			again, ok := decodeAs[eventRequest](out)
			if !ok || !bytes.Equal(message(caller, req.MessageID, "event x", req).Hash, message(caller, again.MessageID, "event x", again).Hash) {
				t.Fatalf("accepted event %q does not survive a round trip (%s)", body, out)
			}
		} else if req != (eventRequest{}) {
			t.Fatalf("refused body %q yields %+v", body, req)
		}
	})
}
