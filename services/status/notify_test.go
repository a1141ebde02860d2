package status

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kanton/kundencenter/services/api"
	"github.com/kanton/kundencenter/services/rp"
)

// runDue works the due jobs at the harness's clock.
func (h *harness) runDue() {
	h.t.Helper()
	if _, err := h.worker.RunDue(h.t.Context()); err != nil {
		h.t.Fatal(err)
	}
}

func notifiable(status Status, minutes int) map[string]any {
	b := event(status, minutes)
	b["notify"] = true
	return b
}

func TestNotifications(t *testing.T) {
	t.Parallel()
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, backend)
			id, ref := h.create(createBody("wohnsitzbestaetigung", "anna"))
			org := createBody("wohnsitzbestaetigung", "")
			org["owner"] = map[string]string{"kind": "organisation", "id": "org-1"}
			orgID, orgRef := h.create(org)
			test := createBody("wohnsitzbestaetigung", "anna")
			test["testDeliveryFlag"] = true
			testID, _ := h.create(test)
			quiet, _ := h.create(createBody("wohnsitzbestaetigung", "anna"))

			// Three changes within ten minutes: one e-mail at the end.
			h.post(id, notifiable(Eingegangen, 1), 201)
			h.post(orgID, notifiable(InBearbeitung, 1), 201)
			h.clock.Add(2 * time.Minute)
			h.post(id, notifiable(InBearbeitung, 2), 201)
			h.clock.Add(3 * time.Minute)
			h.post(id, notifiable(Sistiert, 3), 201)
			tb := notifiable(InBearbeitung, 1)
			tb["testDeliveryFlag"] = true
			h.post(testID, tb, 201)                     // test traffic: never mailed
			h.post(quiet, event(InBearbeitung, 1), 201) // not notifiable
			h.clock.Add(4 * time.Minute)
			h.runDue()
			if n := h.peer.notifications(); len(n) != 0 {
				t.Fatalf("sent before the window ended: %+v", n)
			}
			h.peer.fail(1) // the IdP fails once: the job is retried, one e-mail
			h.clock.Add(2 * time.Minute)
			h.runDue()
			h.clock.Add(time.Minute)
			h.runDue()
			got := h.peer.notifications()
			if len(got) != 2 {
				t.Fatalf("notifications %+v, want 2", got)
			}
			want := map[string]api.Notification{
				ref:    {Recipient: api.Recipient{Kind: "person", Sub: "anna"}, Kind: api.NotifyCaseStatusChanged, Reference: ref, Link: "http://status.test/cases/" + ref},
				orgRef: {Recipient: api.Recipient{Kind: "organisation", ID: "org-1"}, Kind: api.NotifyCaseStatusChanged, Reference: orgRef, Link: "http://status.test/cases/" + orgRef},
			}
			for _, n := range got {
				w, ok := want[n.Reference]
				w.MessageID = n.MessageID
				if !ok || n != w || n.MessageID == "" {
					t.Errorf("notification %+v, want %+v", n, w)
				}
			}
			// A change after the window opens a new one; a Rückfrage is
			// announced as such.
			h.post(id, notifiable(Rueckfrage, 20), 201)
			h.clock.Add(10 * time.Minute)
			h.runDue()
			got = h.peer.notifications()
			if len(got) != 3 || got[2].Kind != api.NotifyCaseRequest || got[2].Reference != ref {
				t.Fatalf("notifications %+v", got)
			}
			// Nothing is sent for a purged owner.
			h.post(id, notifiable(InBearbeitung, 30), 201)
			if _, err := h.svc.store.Purge(t.Context(), "anna"); err != nil {
				t.Fatal(err)
			}
			h.clock.Add(10 * time.Minute)
			h.runDue()
			if n := len(h.peer.notifications()); n != 3 {
				t.Fatalf("%d notifications after the purge", n)
			}
		})
	}
}

// TestPurge deletes an account: its cases disappear from its pages and
// lose the personal references; the back office still has them.
func TestPurge(t *testing.T) {
	t.Parallel()
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, backend)
			own := createBody("wohnsitzbestaetigung", "anna")
			own["submittedBy"] = map[string]string{"sub": "anna", "name": "Anna Muster"}
			id, ref := h.create(own)
			org := createBody("wohnsitzbestaetigung", "")
			org["owner"] = map[string]string{"kind": "organisation", "id": "org-1"}
			org["submittedBy"] = map[string]string{"sub": "anna", "name": "Anna Muster"}
			orgID, orgRef := h.create(org)
			h.post(id, event(Rueckfrage, 1), 201)
			if err := h.svc.store.AddAnswer(t.Context(), id, "anna", "Antwort", nil); err != nil {
				t.Fatal(err)
			}
			n, err := h.svc.store.Purge(t.Context(), "anna")
			if err != nil || n != 2 {
				t.Fatalf("Purge = %d, %v", n, err)
			}
			anna := rp.Session{Subject: "anna"}
			if _, list := h.page(anna, "/"); strings.Contains(list, ref) {
				t.Fatal("the purged person's case is still listed")
			}
			if code, _ := h.page(anna, "/cases/"+ref); code != http.StatusNotFound {
				t.Fatalf("case page: %d", code)
			}
			member := rp.Session{Subject: "carla", Acting: &rp.Represents{Kind: rp.ActingOrganisation, ID: "org-1"}}
			if code, _ := h.page(member, "/cases/"+orgRef); code != http.StatusOK {
				t.Fatalf("the organisation's case: %d", code)
			}
			v := h.get(id)
			if v.Owner != nil || len(v.History) != 2 || len(v.Answers) != 1 || v.Answers[0].SubmittedBy != "" {
				t.Fatalf("back office view after purge: %+v", v)
			}
			var subs int
			if err := h.db.QueryRow(t.Context(), `SELECT count(*) FROM status_cases WHERE submitted_by_sub = ? OR owner_id = ?`, "anna", "anna").Scan(&subs); err != nil || subs != 0 {
				t.Fatalf("%d rows still name the person (%v)", subs, err)
			}
			if v := h.get(orgID); v.Owner == nil || v.Owner.ID != "org-1" {
				t.Fatalf("the organisation's case lost its owner: %+v", v.Owner)
			}
			// A repeated event changes nothing.
			if n, err := h.svc.store.Purge(t.Context(), "anna"); err != nil || n != 0 {
				t.Fatalf("second Purge = %d, %v", n, err)
			}
		})
	}
}
