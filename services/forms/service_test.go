package forms

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/kanton/kundencenter/services/page"
	"github.com/kanton/kundencenter/services/rp"
	"github.com/kanton/kundencenter/services/rp/rptest"
)

// TestService logs in through the real login plumbing at a test OpenID
// provider and sees the catalogue.
func TestService(t *testing.T) {
	t.Parallel()
	cfg, _ := testConfig(t, openDB(t, "sqlite"))
	rptest.CheckService(t, "kc-forms", page.Forms, func(ctx context.Context, rc rp.Config, nav page.Links) (http.Handler, error) {
		cfg.RP, cfg.Links = rc, nav
		return New(ctx, cfg)
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
