package forms

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/kanton/kundencenter/keyring"
	"github.com/kanton/kundencenter/services/api"
	"github.com/kanton/kundencenter/services/forms/datatrans"
	"github.com/kanton/kundencenter/services/forms/datatrans/datatranstest"
	"github.com/kanton/kundencenter/services/page"
	"github.com/kanton/kundencenter/services/rp"
	"github.com/kanton/kundencenter/services/rp/rptest"
)

// TestService logs in through the real login plumbing at a test OpenID
// provider and sees the catalogue.
func TestService(t *testing.T) {
	t.Parallel()
	db := openDB(t, "sqlite")
	psp, pcfg := datatranstest.Start(t)
	provider, err := datatrans.New(pcfg)
	if err != nil {
		t.Fatal(err)
	}
	ring, _ := keyring.Parse(keyring.Generate())
	status := newStatusPeer(t)
	rptest.CheckService(t, "kc-forms", page.Forms, func(ctx context.Context, rc rp.Config, nav page.Links) (http.Handler, error) {
		return New(ctx, Config{RP: rc, Links: nav, DB: db, Ring: ring, Payments: provider, PaymentPage: psp.URL(),
			Cases:    NewCaseClient(status.srv.URL, api.ClientConfig{Issuer: status.srv.URL, ClientID: "kc-forms", ClientSecret: "s"}),
			Notifier: &notes{sent: map[string]api.Notification{}}})
	}, "<h1>Formulare</h1>", "Hund anmelden", "Wohnen und Umzug", "CHF 20.00")
}

func TestConfigValidate(t *testing.T) {
	err := Config{}.Validate()
	for _, want := range []string{"DB is required", "Ring is required", "Payments is required", "Cases is required", "Notifier is required"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want %q", err, want)
		}
	}
}
