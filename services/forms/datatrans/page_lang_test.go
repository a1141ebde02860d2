package datatrans_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestPaymentPageLanguage: the fake's payment page speaks the language the
// forms service passed in the init request (Datatrans's "language"), as the
// real one does; without one, or with one Datatrans does not offer, German.
func TestPaymentPageLanguage(t *testing.T) {
	for _, tt := range []struct{ lang, wantLang, pay, amount string }{
		{"de", "de", "Bezahlen", "Betrag: CHF 20.00"},
		{"fr", "fr", "Payer", "Montant: CHF 20.00"},
		{"it", "it", "Pagare", "Importo: CHF 20.00"},
		{"en", "en", "Pay", "Amount: CHF 20.00"},
		{"", "de", "Bezahlen", "Betrag: CHF 20.00"},
		{"rm", "de", "Bezahlen", "Betrag: CHF 20.00"},
	} {
		t.Run(tt.lang, func(t *testing.T) {
			_, c, _, hook := setup(t)
			r := req("ref-"+tt.lang, hook)
			r.Lang = tt.lang
			s, err := c.Init(t.Context(), r)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.Get(s.RedirectURL)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			page := string(raw)
			for _, want := range []string{`<html lang="` + tt.wantLang + `">`, `value="success">` + tt.pay + `</button>`, tt.amount} {
				if !strings.Contains(page, want) {
					t.Errorf("payment page lacks %q:\n%s", want, page)
				}
			}
		})
	}
}
