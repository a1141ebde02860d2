package web_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/kanton/kundencenter/delegation"
	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
	"github.com/kanton/kundencenter/services/api"
)

// TestNotifications: a service has the IdP send general e-mails through
// POST /api/notifications with its client-credentials token — to a person
// by subject, to the members of an organisation who may use the service,
// once per messageId, never with a link elsewhere or without the scope.
func TestNotifications(t *testing.T) {
	t.Parallel()
	env := idptest.Start(t, idptest.Options{})
	const svcBase = "http://localhost:9999"
	env.AddClient(t, idp.Client{ID: "svc", Name: "Meine Vorgänge", RedirectURIs: []string{mfaRedirect},
		GrantTypes: []string{idp.GrantClientCredentials}, Scopes: []string{idp.ScopeNotify, "cases:read"}}, mfaSecret)
	anna := env.CreateAccount(t, "Anna", "Muster", mfaEmail, mfaPassword)
	bert := env.CreateAccount(t, "Bert", "Beispiel", "bert@example.ch", mfaPassword)
	notifier := api.NewNotifier(api.ClientConfig{Issuer: env.URL, ClientID: "svc", ClientSecret: mfaSecret})
	ctx := t.Context()

	t.Run("person, once per messageId", func(t *testing.T) {
		n := api.Notification{MessageID: "m-1", Recipient: api.Recipient{Kind: "person", Sub: anna.ID},
			Kind: api.NotifyCaseStatusChanged, Reference: "2026-000123-4", Link: svcBase + "/cases/2026-000123-4"}
		for range 2 {
			if err := notifier.Notify(ctx, n); err != nil {
				t.Fatalf("Notify: %v", err)
			}
		}
		mails := env.Mails(mfaEmail, idp.MailServiceNotice)
		if len(mails) != 1 {
			t.Fatalf("%d mails, want exactly 1", len(mails))
		}
		d := mails[0].Data
		if d["Notice"] != api.NotifyCaseStatusChanged || d["Reference"] != "2026-000123-4" ||
			d["ServiceName"] != "Meine Vorgänge" || d["Link"] != n.Link || d["Name"] != "Anna Muster" {
			t.Errorf("mail data %v", d)
		}
	})
	t.Run("unknown subject: accepted, nothing sent", func(t *testing.T) {
		n := api.Notification{MessageID: "m-2", Recipient: api.Recipient{Kind: "person", Sub: "no-such-account"},
			Kind: api.NotifyDocumentDelivered, Link: svcBase + "/"}
		if err := notifier.Notify(ctx, n); err != nil {
			t.Fatalf("Notify: %v", err)
		}
	})
	t.Run("organisation: members with the service", func(t *testing.T) {
		org, err := env.Orgs.CreateOrg(ctx, bert.ID, delegation.OrgInput{Name: "Muster AG", UID: "CHE-116.281.710",
			Addresses: []delegation.Address{{Street: "Bahnhofstrasse 1", PostalCode: "5000", Town: "Aarau", Country: "CH"}}})
		if err != nil {
			t.Fatal(err)
		}
		n := api.Notification{MessageID: "m-3", Recipient: api.Recipient{Kind: "organisation", ID: org.ID},
			Kind: api.NotifyDocumentDelivered, Link: svcBase + "/documents"}
		if err := notifier.Notify(ctx, n); err != nil {
			t.Fatal(err)
		}
		if got := env.Mails("bert@example.ch", idp.MailServiceNotice); len(got) != 0 {
			t.Fatalf("a member without the service was told: %d mails", len(got))
		}
		if err := env.Orgs.SetServices(ctx, bert.ID, org.ID, bert.ID, []string{"svc"}); err != nil {
			t.Fatal(err)
		}
		n.MessageID = "m-4"
		if err := notifier.Notify(ctx, n); err != nil {
			t.Fatal(err)
		}
		if got := env.Mails("bert@example.ch", idp.MailServiceNotice); len(got) != 1 {
			t.Fatalf("member with the service: %d mails, want 1", len(got))
		}
	})

	tests := []struct {
		name   string
		n      api.Notification
		status int
		detail string
	}{
		{name: "link elsewhere", n: api.Notification{MessageID: "x-1", Recipient: api.Recipient{Kind: "person", Sub: anna.ID},
			Kind: api.NotifyCaseCreated, Link: "https://evil.example/phish"}, status: 422, detail: "/link"},
		{name: "unknown kind", n: api.Notification{MessageID: "x-2", Recipient: api.Recipient{Kind: "person", Sub: anna.ID},
			Kind: "your-money", Link: svcBase + "/"}, status: 422, detail: "/kind"},
		{name: "no message id", n: api.Notification{Recipient: api.Recipient{Kind: "person", Sub: anna.ID},
			Kind: api.NotifyCaseCreated, Link: svcBase + "/"}, status: 422, detail: "/messageId"},
		{name: "bidi control in reference", n: api.Notification{MessageID: "x-3", Recipient: api.Recipient{Kind: "person", Sub: anna.ID},
			Kind: api.NotifyCaseCreated, Reference: "2026\u202e", Link: svcBase + "/"}, status: 422, detail: "/reference"},
		{name: "unknown recipient kind", n: api.Notification{MessageID: "x-4", Recipient: api.Recipient{Kind: "robot", Sub: anna.ID},
			Kind: api.NotifyCaseCreated, Link: svcBase + "/"}, status: 422, detail: "/recipient/kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := notifier.Notify(ctx, tt.n)
			var se *api.StatusError
			if !errors.As(err, &se) || se.Status != tt.status {
				t.Fatalf("Notify = %v, want status %d", err, tt.status)
			}
			found := false
			for _, fe := range se.Problem.Errors {
				found = found || fe.Pointer == tt.detail
			}
			if !found {
				t.Errorf("problem %+v does not name %s", se.Problem, tt.detail)
			}
		})
	}
	if got := len(env.Mails(mfaEmail, idp.MailServiceNotice)); got != 1 {
		t.Errorf("refused notifications sent mail: %d", got)
	}

	t.Run("no or wrong token", func(t *testing.T) {
		for _, auth := range []string{"", "Bearer not-a-token", "Basic c3ZjOnNlY3JldA=="} {
			req, _ := http.NewRequest(http.MethodPost, env.URL+"/api/notifications", strings.NewReader(`{}`))
			req.Header.Set("Content-Type", "application/json")
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") ||
				resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%q: %d %q %q", auth, resp.StatusCode, resp.Header.Get("WWW-Authenticate"), resp.Header.Get("Content-Type"))
			}
		}
	})
	t.Run("token without the scope", func(t *testing.T) {
		c := api.NewAPIClient(api.ClientConfig{Issuer: env.URL, ClientID: "svc", ClientSecret: mfaSecret, Scopes: []string{"cases:read"}})
		_, err := c.Do(ctx, http.MethodPost, env.URL+"/api/notifications", map[string]any{}, nil)
		var se *api.StatusError
		if !errors.As(err, &se) || se.Status != 403 {
			t.Errorf("got %v, want 403", err)
		}
	})
}
