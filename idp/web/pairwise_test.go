package web_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
	"github.com/kanton/kundencenter/services/api"
)

// TestPairwiseActing: at a pairwise client, R acting for P sees both as
// that client knows them (sub and represents.sub) in the ID token,
// userinfo and introspection; a token exchanged for another pairwise
// audience names P (sub) and R (act.sub) as the audience knows them; the
// service's subjects come back through the action-receipt API (actor) and
// the notification API (recipient), and raw account IDs name no one there.
func TestPairwiseActing(t *testing.T) {
	t.Parallel()
	env := idptest.Start(t, idptest.Options{})
	env.AddClient(t, idp.Client{ID: "svc", Name: "Baugesuche", RedirectURIs: []string{mfaRedirect},
		GrantTypes:  []string{idp.GrantAuthorizationCode, idp.GrantTokenExchange, idp.GrantClientCredentials},
		Scopes:      []string{idp.ScopeActionReceipts, idp.ScopeNotify},
		SubjectType: idp.SubjectPairwise, SectorIdentifier: "bau.example.ch"}, mfaSecret)
	env.AddClient(t, idp.Client{ID: "api", Name: "Baugesuche-API", RedirectURIs: []string{mfaRedirect},
		SubjectType: idp.SubjectPairwise, SectorIdentifier: "api.example.ch"}, mfaSecret)
	f := newRepFixture(t, env, "svc", "api")
	ctx := t.Context()
	derive := idp.NewSubjects(env.Ring)
	rAtSvc, pAtSvc := derive.Pairwise("bau.example.ch", f.r.ID), derive.Pairwise("bau.example.ch", f.p.ID)
	rAtAPI, pAtAPI := derive.Pairwise("api.example.ch", f.r.ID), derive.Pairwise("api.example.ch", f.p.ID)

	forP := f.login(t, "svc", "person:"+f.rep.ID)
	idTok, err := f.oidcIssuer.Verifier(&oidc.Config{ClientID: "svc"}).Verify(ctx, forP.Extra("id_token").(string))
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Represents struct {
			Kind, Sub string
		} `json:"represents"`
	}
	if err := idTok.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if idTok.Subject != rAtSvc || claims.Represents.Kind != "person" || claims.Represents.Sub != pAtSvc {
		t.Fatalf("ID token sub %q represents %+v; want R %q acting for P %q", idTok.Subject, claims.Represents, rAtSvc, pAtSvc)
	}
	info, err := f.oidcIssuer.UserInfo(ctx, oauth2.StaticTokenSource(forP))
	if err != nil {
		t.Fatal(err)
	}
	if err := info.Claims(&claims); err != nil || info.Subject != rAtSvc || claims.Represents.Sub != pAtSvc {
		t.Fatalf("userinfo sub %q represents %+v (%v)", info.Subject, claims.Represents, err)
	}
	in := introspectAs(t, env, "svc", forP.AccessToken)
	if rep, _ := in["represents"].(map[string]any); in["sub"] != rAtSvc || rep["sub"] != pAtSvc {
		t.Fatalf("introspection of R's token: %v", in)
	}

	// Token exchange for the API: P and R as the API knows them.
	status, out := exchange(t, env, "svc", mfaSecret, url.Values{"subject_token": {forP.AccessToken}, "audience": {"api"}})
	if status != http.StatusOK {
		t.Fatalf("exchange: %d %v", status, out)
	}
	in = introspectAs(t, env, "api", out["access_token"].(string))
	act, _ := in["act"].(map[string]any)
	rep, _ := in["represents"].(map[string]any)
	if in["active"] != true || in["sub"] != pAtAPI || act["sub"] != rAtAPI || rep["sub"] != pAtAPI {
		t.Fatalf("introspection of the exchanged token: %v; want sub %q act.sub %q", in, pAtAPI, rAtAPI)
	}

	// The service names R by its own subject in a receipt; the account ID
	// (which it never saw) names no one.
	receipts := api.NewActionReceipts(api.ClientConfig{Issuer: env.URL, ClientID: "svc", ClientSecret: mfaSecret})
	if err := receipts.Record(ctx, f.rep.ID, rAtSvc, "Baugesuch 2026-117 eingereicht"); err != nil {
		t.Fatalf("receipt naming R by the service's subject: %v", err)
	}
	if err := receipts.Record(ctx, f.rep.ID, f.r.ID, "x"); err == nil {
		t.Fatal("receipt naming R by the account ID accepted")
	}

	// Notifications: P by the service's subject gets the mail.
	notifier := api.NewNotifier(api.ClientConfig{Issuer: env.URL, ClientID: "svc", ClientSecret: mfaSecret})
	for i, sub := range []string{pAtSvc, f.p.ID, pAtAPI} {
		n := api.Notification{MessageID: "pw-" + string(rune('a'+i)), Recipient: api.Recipient{Kind: "person", Sub: sub},
			Kind: api.NotifyCaseStatusChanged, Link: "http://localhost:9999/cases/1"}
		if err := notifier.Notify(ctx, n); err != nil {
			t.Fatalf("Notify %s: %v", sub, err)
		}
	}
	if got := env.Mails("paula@example.ch", idp.MailServiceNotice); len(got) != 1 {
		t.Fatalf("P got %d notices, want 1 (only for the service's own subject)", len(got))
	}
}
