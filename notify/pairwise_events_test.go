package notify_test

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
	"github.com/kanton/kundencenter/notify"
)

// logoutReceiver is a service's back-channel logout endpoint that
// verifies every logout token against the IdP's keys and keeps its claims.
type logoutReceiver struct {
	mu     sync.Mutex
	claims []map[string]any
	bad    []string
}

func newLogoutReceiver(t *testing.T, env *idptest.Env) (*logoutReceiver, string) {
	r := &logoutReceiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		c, err := verify(env.URL+"/keys", req.PostFormValue("logout_token"), "logout+jwt")
		r.mu.Lock()
		defer r.mu.Unlock()
		if err != nil {
			r.bad = append(r.bad, err.Error())
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.claims = append(r.claims, c)
	}))
	t.Cleanup(srv.Close)
	return r, srv.URL + "/backchannel-logout"
}

// TestPairwiseSubjectsInEvents: Security Event Tokens (representation
// ended, account purged) and back-channel logout tokens name accounts to a
// pairwise client by its pairwise subjects, every subject member of the
// event included, and to a public client by the account ID. Both stores.
func TestPairwiseSubjectsInEvents(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			env := idptest.Start(t, idptest.Options{Store: b.open(t)})
			ctx := t.Context()
			formsSET, formsEvents := newReceiver(t, env, nil)
			statusSET, statusEvents := newReceiver(t, env, nil)
			formsLogout, formsLogoutURI := newLogoutReceiver(t, env)
			env.AddClient(t, idp.Client{ID: "forms", RedirectURIs: []string{"https://forms.example.ch/cb"}, EventsURI: formsEvents,
				BackChannelLogoutURI: formsLogoutURI, SubjectType: idp.SubjectPairwise}, testSecret)
			env.AddClient(t, idp.Client{ID: "status", RedirectURIs: []string{"https://status.example.ch/cb"}, EventsURI: statusEvents}, testSecret)
			derive := idp.NewSubjects(env.Ring)
			atForms := func(accountID string) map[string]any {
				return subjectOf(env.URL, derive.Pairwise("forms.example.ch", accountID))
			}

			p := env.CreateAccount(t, "Paula", "Prinzipal", "paula@example.ch", testPassword)
			r := env.CreateAccount(t, "Anna", "Muster", "anna@example.ch", testPassword)
			rep := confirmedRepresentation(t, env, p.ID, r.ID, "forms", "status")
			if err := env.Orgs.EndRepresentation(ctx, r.ID, rep.ID); err != nil {
				t.Fatal(err)
			}
			events := jobs(t, env, nil)
			waitJobs(t, events, idp.OutgoingEvent, 2)
			for _, tc := range []struct {
				name        string
				recv        *receiver
				principal   map[string]any
				represented map[string]any
			}{
				{"forms (pairwise)", formsSET, atForms(p.ID), atForms(r.ID)},
				{"status (public)", statusSET, subjectOf(env.URL, p.ID), subjectOf(env.URL, r.ID)},
			} {
				got, bad, _ := tc.recv.result()
				if len(got) != 1 || len(bad) != 0 {
					t.Fatalf("%s: %d SETs, refused %v", tc.name, len(got), bad)
				}
				ev, _ := got[0]["events"].(map[string]any)[idp.EventRepresentationEnded].(map[string]any)
				if ev == nil || fmt.Sprint(ev["subject"]) != fmt.Sprint(tc.principal) ||
					fmt.Sprint(got[0]["sub_id"]) != fmt.Sprint(tc.principal) ||
					fmt.Sprint(ev["representative"]) != fmt.Sprint(tc.represented) {
					t.Errorf("%s: representation-ended SET %v; want subject %v, representative %v", tc.name, got[0], tc.principal, tc.represented)
				}
			}

			// R logs in to forms; ending R's sessions sends forms a logout
			// token naming R by the pairwise subject.
			verifier := "pairwise-events-verifier-0123456789-0123456789"
			sum := sha256.Sum256([]byte(verifier))
			authURL := env.URL + "/authorize?" + url.Values{"client_id": {"forms"}, "redirect_uri": {"https://forms.example.ch/cb"},
				"response_type": {"code"}, "scope": {"openid"}, "state": {"s"}, "code_challenge_method": {"S256"},
				"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}}.Encode()
			if u := env.NewBrowser(t).Authorize(t, authURL, "anna@example.ch", testPassword); u.Query().Get("code") == "" {
				t.Fatalf("login to forms: %s", u)
			}
			if err := env.Service.EndAllSessions(ctx, r.ID); err != nil {
				t.Fatal(err)
			}
			waitJobs(t, events, idp.OutgoingLogout, 1)
			formsLogout.mu.Lock()
			logouts, bad := formsLogout.claims, formsLogout.bad
			formsLogout.mu.Unlock()
			if len(logouts) != 1 || len(bad) != 0 || logouts[0]["sub"] != atForms(r.ID)["sub"] {
				t.Fatalf("logout tokens %v (refused %v); want sub %v", logouts, bad, atForms(r.ID)["sub"])
			}

			// R deletes the account: forms, which R used, learns it under
			// the pairwise subject.
			if err := env.Service.DeleteAccountByUser(ctx, idp.DeleteInput{AccountID: r.ID, Password: testPassword}); err != nil {
				t.Fatal(err)
			}
			if _, err := notify.DispatchServiceEvents(ctx, env.Store); err != nil {
				t.Fatal(err)
			}
			waitJobs(t, events, idp.OutgoingEvent, 1)
			got, _, _ := formsSET.result()
			if len(got) != 2 {
				t.Fatalf("forms received %d SETs, want 2", len(got))
			}
			ev, _ := got[1]["events"].(map[string]any)[idp.EventAccountPurged].(map[string]any)
			if ev == nil || fmt.Sprint(ev["subject"]) != fmt.Sprint(atForms(r.ID)) || fmt.Sprint(got[1]["sub_id"]) != fmt.Sprint(atForms(r.ID)) {
				t.Errorf("account-purged SET %v; want subject %v", got[1], atForms(r.ID))
			}
		})
	}
}
