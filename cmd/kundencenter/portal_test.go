package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/kanton/kundencenter/catalogue"
	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/store/sqlite"
)

// TestCatalogueCheckStopsStart: a registered client whose level disagrees
// with the service catalogue stops the start with a clear error.
func TestCatalogueCheckStopsStart(t *testing.T) {
	t.Parallel()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "kc.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cat, err := catalogue.Load()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutClient(t.Context(), idp.Client{ID: "status", Name: "Meine Vorgänge", RedirectURIs: []string{"http://localhost:8082/auth/callback"}}); err != nil {
		t.Fatal(err)
	}
	if err := checkCatalogue(t.Context(), cat, st); err != nil {
		t.Fatalf("agreeing client refused: %v", err)
	}
	if err := st.PutClient(t.Context(), idp.Client{ID: "status", Name: "Meine Vorgänge", RedirectURIs: []string{"http://localhost:8082/auth/callback"},
		Level: idp.LevelHigh}); err != nil {
		t.Fatal(err)
	}
	err = checkCatalogue(t.Context(), cat, st)
	if err == nil || !strings.Contains(err.Error(), "disagree with the service catalogue") || !strings.Contains(err.Error(), `client "status"`) {
		t.Fatalf("disagreeing client: %v", err)
	}
}
