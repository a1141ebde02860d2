package rp_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/kanton/kundencenter/services/rp"
	"github.com/kanton/kundencenter/services/rp/rptest"
)

// TestStepUp: a page that needs a stronger login passes acr_values to the
// login; malformed values are dropped, and a configured ACRValues wins.
func TestStepUp(t *testing.T) {
	op := rptest.New(t, true)
	op.Register(clientID, clientSecret, "https://forms.example")
	tests := []struct {
		name, configured, query, want string
	}{
		{name: "step-up", query: "?acr_values=urn%3Akundencenter%3Aloa%3Asubstantial", want: "urn:kundencenter:loa:substantial"},
		{name: "none", query: "", want: ""},
		{name: "malformed", query: "?acr_values=%3Cscript%3E", want: ""},
		{name: "configured wins", configured: "urn:kanton:loa:high", query: "?acr_values=low", want: "urn:kanton:loa:high"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := rp.New(t.Context(), rp.Config{
				Issuer: op.Issuer, ClientID: clientID, ClientSecret: clientSecret, BaseURL: "https://forms.example",
				CookieKey: cookieKey, HTTPClient: op.Client(), ACRValues: tt.configured,
			})
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			c.Login(rec, httptest.NewRequest(http.MethodGet, "https://forms.example/login"+tt.query, nil))
			loc, err := rec.Result().Location()
			if err != nil {
				t.Fatal(err)
			}
			if got := loc.Query().Get("acr_values"); got != tt.want {
				t.Errorf("acr_values = %q, want %q", got, tt.want)
			}
		})
	}
}
