package status

import (
	"context"
	"flag"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/kanton/kundencenter/services/api"
	"github.com/kanton/kundencenter/services/page"
	"github.com/kanton/kundencenter/services/rp"
	"github.com/kanton/kundencenter/services/rp/rptest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestService(t *testing.T) {
	t.Parallel()
	db := openDB(t, "sqlite")
	rptest.CheckService(t, "kc-status", page.Status, func(ctx context.Context, rc rp.Config, nav page.Links) (http.Handler, error) {
		return New(ctx, Config{RP: rc, Links: nav, DB: db, Notifier: nopNotifier{}})
	}, "<h1>Meine Vorgänge</h1>", "Sie haben noch keine Vorgänge.")
}

type nopNotifier struct{}

func (nopNotifier) Notify(context.Context, api.Notification) error { return nil }

// TestPagesGolden renders the list and a case with a Rückfrage in German
// and French.
func TestPagesGolden(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "sqlite")
	id, ref := h.create(createBody("wohnsitzbestaetigung", "anna"))
	h.post(id, event(Eingegangen, 1), 201)
	h.post(id, event(Rueckfrage, 2), 201)
	for _, lang := range []string{"de", "fr"} {
		sess := rp.Session{Subject: "anna", Name: "Anna Muster", CSRF: "csrf-token", Lang: lang}
		for _, p := range []struct{ name, path string }{{"list", "/"}, {"case", "/cases/" + ref}} {
			t.Run(p.name+"_"+lang, func(t *testing.T) {
				code, body := h.page(sess, p.path)
				if code != http.StatusOK {
					t.Fatalf("%d %s", code, body)
				}
				rptest.Golden(t, filepath.Join("testdata", p.name+"_"+lang+".golden.html"), []byte(body), *update)
			})
		}
	}
}
