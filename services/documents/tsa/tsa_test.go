package tsa_test

import (
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kanton/kundencenter/services/documents/seal"
	"github.com/kanton/kundencenter/services/documents/tsa"
)

func TestAuthorityAndClient(t *testing.T) {
	t.Parallel()
	pki, err := seal.NewTestPKI("Kanton Test", seal.ECDSA, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(&tsa.Authority{Cert: pki.TSACert, Key: pki.TSAKey})
	t.Cleanup(srv.Close)
	digest := sha256.Sum256([]byte("signature"))
	token, err := tsa.Client(srv.URL, srv.Client())(t.Context(), digest[:])
	if err != nil || len(token) == 0 {
		t.Fatalf("token: %v", err)
	}

	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	t.Cleanup(broken.Close)
	if _, err := tsa.Client(broken.URL, broken.Client())(t.Context(), digest[:]); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("unavailable authority: %v", err)
	}
	for name, ctype := range map[string]string{"wrong type": "application/json", "garbage": "application/timestamp-query"} {
		resp, err := http.Post(srv.URL, ctype, strings.NewReader("not a request"))
		if err != nil || resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %v %v", name, resp.StatusCode, err)
		}
	}
}
