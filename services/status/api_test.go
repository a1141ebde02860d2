package status

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAPIAuth(t *testing.T) {
	t.Parallel()
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, backend)
			id, _ := h.create(createBody("wohnsitzbestaetigung", "anna"))
			other, _ := h.create(createBody("hundesteuer", "anna"))
			tests := []struct {
				name         string
				method, path string
				tok          string
				body         map[string]any
				want         int
			}{
				{name: "no token", method: "POST", path: "/api/v1/cases", body: createBody("wohnsitzbestaetigung", "anna"), want: 401},
				{name: "unknown token", method: "POST", path: "/api/v1/cases", tok: "garbage", body: createBody("wohnsitzbestaetigung", "anna"), want: 401},
				{name: "read scope cannot create", method: "POST", path: "/api/v1/cases", tok: token("backoffice", ScopeRead), body: createBody("wohnsitzbestaetigung", "anna"), want: 403},
				{name: "write scope cannot read", method: "GET", path: "/api/v1/cases/" + id, tok: token("backoffice", ScopeWrite), want: 403},
				{name: "read scope cannot change", method: "POST", path: "/api/v1/cases/" + id + "/events", tok: token("backoffice", ScopeRead), body: event(Eingegangen, 1), want: 403},
				{name: "client without services", method: "POST", path: "/api/v1/cases", tok: token("stranger", ScopeWrite), body: createBody("wohnsitzbestaetigung", "anna"), want: 403},
				{name: "other service: create", method: "POST", path: "/api/v1/cases", tok: egov, body: createBody("hundesteuer", "anna"), want: 403},
				{name: "other service: change", method: "POST", path: "/api/v1/cases/" + other + "/events", tok: egov, body: event(Eingegangen, 1), want: 403},
				{name: "other service: read", method: "GET", path: "/api/v1/cases/" + other, tok: egov, want: 403},
				{name: "own service: read", method: "GET", path: "/api/v1/cases/" + id, tok: egov, want: 200},
				{name: "own service: change", method: "POST", path: "/api/v1/cases/" + id + "/events", tok: egov, body: event(Eingegangen, 1), want: 201},
				{name: "unknown case", method: "GET", path: "/api/v1/cases/no-such-case", tok: writer, want: 404},
				{name: "openapi is public", method: "GET", path: "/api/v1/openapi.json", want: 200},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					var body any
					if tt.body != nil {
						body = tt.body
					}
					code, out := h.call(tt.method, tt.path, tt.tok, body)
					if code != tt.want {
						t.Fatalf("%d %s, want %d", code, out, tt.want)
					}
					if code >= 400 && !strings.Contains(out, `"status":`) {
						t.Fatalf("no problem details: %s", out)
					}
				})
			}
		})
	}
}

func TestAPIIdempotency(t *testing.T) {
	t.Parallel()
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, backend)
			body := createBody("wohnsitzbestaetigung", "anna")
			c1, first := h.call("POST", "/api/v1/cases", writer, body)
			c2, again := h.call("POST", "/api/v1/cases", writer, body)
			if c1 != 201 || c2 != 200 || first != again {
				t.Fatalf("create twice: %d %s / %d %s", c1, first, c2, again)
			}
			if !strings.Contains(first, `"reference":"2026-000001-`) {
				t.Fatalf("answer %s", first)
			}
			body["title"] = map[string]string{"de": "Anders"}
			if code, out := h.call("POST", "/api/v1/cases", writer, body); code != http.StatusConflict {
				t.Fatalf("same messageId, other body: %d %s", code, out)
			}
			var a createAnswer
			_ = json.Unmarshal([]byte(first), &a)
			ev := event(InBearbeitung, 5)
			e1 := h.post(a.BusinessProcessID, ev, 201)
			h.clock.Add(time.Minute)
			e2 := h.post(a.BusinessProcessID, ev, 200)
			if e1 != e2 {
				t.Fatalf("event twice gave different answers:\n%s\n%s", e1, e2)
			}
			if n := len(h.get(a.BusinessProcessID).History); n != 2 {
				t.Fatalf("history has %d entries, want 2", n)
			}
			ev["note"] = map[string]string{"de": "anders"}
			h.post(a.BusinessProcessID, ev, http.StatusConflict)
			// The same messageId from another client is another message.
			if code, out := h.call("POST", "/api/v1/cases/"+a.BusinessProcessID+"/events", egov, ev); code != 201 {
				t.Fatalf("other client, same messageId: %d %s", code, out)
			}
		})
	}
}

// TestAPIConcurrent sends 50 changes to one case at once: every one is
// recorded once, in one consistent history.
func TestAPIConcurrent(t *testing.T) {
	t.Parallel()
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, backend)
			id, _ := h.create(createBody("wohnsitzbestaetigung", "anna"))
			h.post(id, event(InBearbeitung, 1), 201)
			const n = 50
			var wg sync.WaitGroup
			errs := make(chan string, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ev := event(InBearbeitung, 2+i)
					ev["notify"] = true
					if code, out := h.call("POST", "/api/v1/cases/"+id+"/events", writer, ev); code != 201 {
						errs <- fmt.Sprintf("%d %s", code, out)
					}
				}()
			}
			wg.Wait()
			close(errs)
			for e := range errs {
				t.Error(e)
			}
			v := h.get(id)
			if len(v.History) != n+2 {
				t.Fatalf("history has %d entries, want %d", len(v.History), n+2)
			}
			for i := 1; i < len(v.History); i++ {
				if v.History[i].EventDate.Before(v.History[i-1].EventDate) {
					t.Fatalf("history out of order at %d", i)
				}
			}
			var seqs, jobs int64
			if err := h.db.QueryRow(t.Context(), `SELECT count(DISTINCT seq) FROM status_events WHERE case_id = ?`, id).Scan(&seqs); err != nil {
				t.Fatal(err)
			}
			if err := h.db.QueryRow(t.Context(), `SELECT count(*) FROM kc_jobs WHERE kind = ?`, JobNotify).Scan(&jobs); err != nil {
				t.Fatal(err)
			}
			if seqs != n+2 || jobs != 1 {
				t.Fatalf("%d distinct seqs (want %d), %d notification jobs (want 1)", seqs, n+2, jobs)
			}
		})
	}
}

func TestAPIOutOfOrder(t *testing.T) {
	t.Parallel()
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, backend)
			id, _ := h.create(createBody("wohnsitzbestaetigung", "anna"))
			h.post(id, event(InBearbeitung, 30), 201)
			late := h.post(id, event(Eingegangen, 10), 201)
			if !strings.Contains(late, `"status":"in-bearbeitung"`) {
				t.Fatalf("a late message changed the state: %s", late)
			}
			closed := event(Abgeschlossen, 50)
			h.post(id, closed, 201)
			h.post(id, event(Rueckfrage, 40), 201) // late, fits between
			v := h.get(id)
			var got []Status
			for _, e := range v.History {
				got = append(got, e.Status)
			}
			want := []Status{Eingereicht, Eingegangen, InBearbeitung, Rueckfrage, Abgeschlossen}
			if fmt.Sprint(got) != fmt.Sprint(want) || v.Status != Abgeschlossen || !v.BusinessCaseClosed || v.Outcome != Gutgeheissen {
				t.Fatalf("history %v status %s closed %t outcome %s", got, v.Status, v.BusinessCaseClosed, v.Outcome)
			}
			// A new message after the close is refused; a correction of
			// the close is a correction, not a transition.
			h.post(id, event(InBearbeitung, 60), http.StatusConflict)
			corr := event(Abgeschlossen, 61)
			corr["action"], corr["referenceMessageId"], corr["outcome"] = "correction", closed["messageId"], "teilweise-gutgeheissen"
			if out := h.post(id, corr, 201); !strings.Contains(out, `"outcome":"teilweise-gutgeheissen"`) {
				t.Fatalf("correction: %s", out)
			}
			recall := map[string]any{"messageId": nextMsg(), "action": "recall", "eventDate": "2026-12-03T08:59:00Z", "referenceMessageId": closed["messageId"]}
			if out := h.post(id, recall, 201); !strings.Contains(out, `"status":"rueckfrage"`) || !strings.Contains(out, `"businessCaseClosed":false`) {
				t.Fatalf("recall of the close: %s", out)
			}
		})
	}
}

// TestAPIRefusedTransitions tries every pair the table refuses through the
// API: each is a 409 problem naming the transition.
func TestAPIRefusedTransitions(t *testing.T) {
	t.Parallel()
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, backend)
			for _, from := range Statuses {
				for _, to := range Statuses {
					if to == Eingereicht || Allowed(from, to) {
						continue
					}
					t.Run(string(from)+"→"+string(to), func(t *testing.T) {
						id, _ := h.create(createBody("wohnsitzbestaetigung", "anna"))
						if from != Eingereicht {
							h.post(id, event(from, 1), 201)
						}
						out := h.post(id, event(to, 2), http.StatusConflict)
						if !strings.Contains(out, "urn:kundencenter:problem:transition") || !strings.Contains(out, string(to)) {
							t.Fatalf("problem: %s", out)
						}
					})
				}
			}
		})
	}
}

func TestAPIInvalid(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "sqlite")
	id, _ := h.create(createBody("wohnsitzbestaetigung", "anna"))
	testID, _ := h.create(func() map[string]any {
		b := createBody("wohnsitzbestaetigung", "anna")
		b["testDeliveryFlag"] = true
		return b
	}())
	tests := []struct {
		name string
		path string
		body map[string]any
		want int
		has  string
	}{
		{name: "create without owner", path: "/api/v1/cases", body: func() map[string]any { b := createBody("x", "a"); delete(b, "owner"); return b }(), want: 422, has: "/owner/kind"},
		{name: "create with unknown member", path: "/api/v1/cases", body: func() map[string]any { b := createBody("x", "a"); b["colour"] = "red"; return b }(), want: 422, has: "colour"},
		{name: "organisation with sub", path: "/api/v1/cases", body: func() map[string]any {
			b := createBody("x", "a")
			b["owner"] = map[string]string{"kind": "organisation", "sub": "x"}
			return b
		}(), want: 422, has: "/owner"},
		{name: "create in the future", path: "/api/v1/cases", body: func() map[string]any { b := createBody("x", "a"); b["eventDate"] = "2026-12-04T09:00:00Z"; return b }(), want: 422, has: "future"},
		{name: "event in the future", path: "/api/v1/cases/" + id + "/events", body: func() map[string]any { b := event(InBearbeitung, 1); b["eventDate"] = "2026-12-03T09:06:00Z"; return b }(), want: 422, has: "future"},
		{name: "eingereicht by event", path: "/api/v1/cases/" + id + "/events", body: event(Eingereicht, 1), want: 422, has: "eingereicht"},
		{name: "unknown status", path: "/api/v1/cases/" + id + "/events", body: event("erledigt", 1), want: 422, has: "erledigt"},
		{name: "rueckfrage without deadline", path: "/api/v1/cases/" + id + "/events", body: func() map[string]any { b := event(Rueckfrage, 1); delete(b, "deadline"); return b }(), want: 422, has: "deadline"},
		{name: "closed without outcome", path: "/api/v1/cases/" + id + "/events", body: func() map[string]any { b := event(Abgeschlossen, 1); delete(b, "outcome"); return b }(), want: 422, has: "outcome"},
		{name: "businessCaseClosed while open", path: "/api/v1/cases/" + id + "/events", body: func() map[string]any { b := event(InBearbeitung, 1); b["businessCaseClosed"] = true; return b }(), want: 422, has: "businessCaseClosed"},
		{name: "test traffic on a real case", path: "/api/v1/cases/" + id + "/events", body: func() map[string]any { b := event(InBearbeitung, 1); b["testDeliveryFlag"] = true; return b }(), want: 422, has: "testDeliveryFlag"},
		{name: "real traffic on a test case", path: "/api/v1/cases/" + testID + "/events", body: event(InBearbeitung, 1), want: 422, has: "testDeliveryFlag"},
		{name: "recall of the creation", path: "/api/v1/cases/" + id + "/events", body: map[string]any{"messageId": nextMsg(), "action": "recall", "eventDate": "2026-12-03T09:00:00Z"}, want: 422, has: "first entry"},
		{name: "correction of an unknown entry", path: "/api/v1/cases/" + id + "/events", body: func() map[string]any {
			b := event(InBearbeitung, 1)
			b["action"], b["referenceMessageId"] = "correction", "nope"
			return b
		}(), want: 422, has: "referenceMessageId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := h.call("POST", tt.path, writer, tt.body)
			if code != tt.want || !strings.Contains(out, tt.has) {
				t.Fatalf("%d %s, want %d with %q", code, out, tt.want, tt.has)
			}
		})
	}
}

// TestAPIConcurrentCreate sends the same creation ten times at once: one
// case, one answer.
func TestAPIConcurrentCreate(t *testing.T) {
	t.Parallel()
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, backend)
			body := createBody("wohnsitzbestaetigung", "anna")
			var wg sync.WaitGroup
			answers := make([]string, 10)
			for i := range answers {
				wg.Go(func() {
					code, out := h.call("POST", "/api/v1/cases", writer, body)
					answers[i] = fmt.Sprint(code == 200 || code == 201, " ", out)
				})
			}
			wg.Wait()
			for _, a := range answers {
				if a != answers[0] || !strings.HasPrefix(a, "true") {
					t.Fatalf("answers differ:\n%s", strings.Join(answers, "\n"))
				}
			}
			var n int
			if err := h.db.QueryRow(t.Context(), `SELECT count(*) FROM status_cases`).Scan(&n); err != nil || n != 1 {
				t.Fatalf("%d cases (%v)", n, err)
			}
		})
	}
}

func TestAPISummary(t *testing.T) {
	t.Parallel()
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, backend)
			var refs []string
			for i := range 7 {
				id, ref := h.create(createBody("wohnsitzbestaetigung", "anna"))
				refs = append(refs, ref)
				if i == 0 {
					h.post(id, event(Abgeschlossen, 1), 201) // closed: not in the summary
				}
				h.clock.Add(time.Second)
			}
			h.create(createBody("wohnsitzbestaetigung", "ben"))
			code, out := h.call("GET", "/api/v1/summary", personToken("anna", ScopeSummary), nil)
			var s summary
			if err := json.Unmarshal([]byte(out), &s); code != 200 || err != nil {
				t.Fatalf("%d %s", code, out)
			}
			if s.Count != 6 || len(s.Items) != 5 || s.Items[0].Reference != refs[6] || s.Items[4].Reference != refs[2] ||
				s.Items[0].Title != "Wohnsitzbestätigung" || s.Items[0].URL != "http://status.test/cases/"+refs[6] {
				t.Fatalf("summary %+v", s)
			}
			for _, tt := range []struct {
				name, tok string
				want      int
			}{
				{"no scope", personToken("anna", ScopeRead), 403},
				{"client credentials", token("backoffice", ScopeSummary), 403},
				{"no token", "", 401},
			} {
				if code, out := h.call("GET", "/api/v1/summary", tt.tok, nil); code != tt.want {
					t.Errorf("%s: %d %s", tt.name, code, out)
				}
			}
		})
	}
}

// TestOpenAPI checks that the served description is OpenAPI 3.1 and
// documents every route of the API.
func TestOpenAPI(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "sqlite")
	code, out := h.call("GET", "/api/v1/openapi.json", "", nil)
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal([]byte(out), &doc); code != 200 || err != nil || doc.OpenAPI != "3.1.0" {
		t.Fatalf("%d %v %.200s", code, err, out)
	}
	for _, route := range []string{"post /cases", "get /cases", "get /cases/{businessProcessId}", "post /cases/{businessProcessId}/events",
		"get /cases/{businessProcessId}/files/{fileId}", "get /summary"} {
		method, path, _ := strings.Cut(route, " ")
		if _, ok := doc.Paths[path][method]; !ok {
			t.Errorf("%s is not documented", route)
		}
	}
}
