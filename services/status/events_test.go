package status

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
	"github.com/kanton/kundencenter/notify"
	"github.com/kanton/kundencenter/services/rp"
)

// TestAccountPurgedEvent pushes Security Event Tokens signed by a real IdP
// (its signing keys and SET claims) to the service's events URI: the
// account-purged event hides the person's cases; forged or misdirected
// tokens are refused with an RFC 8935 error.
func TestAccountPurgedEvent(t *testing.T) {
	t.Parallel()
	env := idptest.Start(t, idptest.Options{})
	app := httptest.NewUnstartedServer(nil)
	t.Cleanup(app.Close)
	base := "http://" + app.Listener.Addr().String()
	env.AddClient(t, idp.Client{ID: "status", RedirectURIs: []string{base + rp.CallbackPath},
		GrantTypes: []string{idp.GrantAuthorizationCode}, EventsURI: base + rp.EventsPath}, "status-secret-0123456789")
	db := openDB(t, "sqlite")
	svc, err := NewService(t.Context(), Config{RP: rp.Config{Issuer: env.URL, ClientID: "status", ClientSecret: "status-secret-0123456789",
		BaseURL: base, CookieKey: []byte("0123456789abcdef0123456789abcdef"), Insecure: true, Logger: slog.New(slog.DiscardHandler)},
		DB: db, Notifier: nopNotifier{}})
	if err != nil {
		t.Fatal(err)
	}
	app.Config.Handler = svc.Handler()
	app.Start()
	store := NewStore(db, time.Now, time.Minute)
	c, err := store.Create(t.Context(), Message{ClientID: "forms", MessageID: "m1", Hash: []byte{1}},
		NewCase{Service: "wohnsitzbestaetigung", Title: Text{De: "Wohnsitz"}, Owner: Owner{Kind: OwnerPerson, Sub: "acc-1"}, EventDate: time.Now()},
		func(Case, State) ([]byte, error) { return []byte("{}"), nil })
	if err != nil || c.Code != 201 {
		t.Fatal(c, err)
	}
	ev := notify.EventsConfig{Issuer: env.URL}
	notice := idp.EventNotice{JTI: "jti-1", ClientID: "status", Type: idp.EventAccountPurged, Subject: "acc-1", At: time.Now()}
	sign := func(typ string, claims map[string]any) string {
		tok, err := env.Keys.SignJWT(typ, claims)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	good := ev.SETClaims(notice, time.Now())
	withSub := ev.SETClaims(notice, time.Now())
	withSub["sub"] = "acc-1"
	otherAud := notice
	otherAud.ClientID = "forms"
	tests := []struct {
		name, token string
		want        int
		err         string
	}{
		{name: "logout token type", token: sign("logout+jwt", good), want: 400, err: "invalid_request"},
		{name: "for another service", token: sign("secevent+jwt", ev.SETClaims(otherAud, time.Now())), want: 400, err: "invalid_audience"},
		{name: "with sub", token: sign("secevent+jwt", withSub), want: 400, err: "invalid_request"},
		{name: "tampered", token: sign("secevent+jwt", good)[:40] + "x" + sign("secevent+jwt", good)[41:], want: 400},
		{name: "account purged", token: sign("secevent+jwt", good), want: 202},
		{name: "again (retry)", token: sign("secevent+jwt", good), want: 202},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(context.Background(), "POST", base+rp.EventsPath, strings.NewReader(tt.token))
			req.Header.Set("Content-Type", "application/secevent+jwt")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body strings.Builder
			_, _ = io.Copy(&body, resp.Body)
			if resp.StatusCode != tt.want || !strings.Contains(body.String(), tt.err) {
				t.Fatalf("%d %s, want %d %s", resp.StatusCode, body.String(), tt.want, tt.err)
			}
		})
	}
	cases, err := store.List(t.Context(), Owner{Kind: OwnerPerson, Sub: "acc-1"}, Cursor{}, 10)
	if err != nil || len(cases) != 0 {
		t.Fatalf("after account-purged the person still has %d cases (%v)", len(cases), err)
	}
}
