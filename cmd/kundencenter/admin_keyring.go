package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/kanton/kundencenter/keyring"
	"github.com/kanton/kundencenter/keyring/reseal"
	"github.com/kanton/kundencenter/services/forms"
	"github.com/kanton/kundencenter/store/sqldb"
)

const adminKeyringUsage = `  keyring generate         print a new KC_KEYRING value and random KC_TOKEN_KEY / KC_CSRF_KEY / KC_COOKIE_KEY values
  keyring add-key -id ID   phase 1 of a rotation: print KC_KEYRING with a new key that every instance can read
                           but none seals with yet; deploy it to every instance
  keyring activate -id ID  phase 2: print KC_KEYRING with ID as the current key; deploy it to every instance
  keyring reseal [-service idp|forms] [-batch N]
                           phase 3: re-seal every value sealed with an older key with the current one
                           (runs beside the instances; safe to interrupt and run again)
  keyring status [-service idp|forms]   how many values each key seals
  keyring retire -id ID [-service idp|forms]
                           print KC_KEYRING without ID; refuses while values sealed with ID remain
                           (docs/keyring.md)
`

// adminKeyring runs the keyring commands: the rotation in three phases of
// docs/keyring.md. The ring is read from KC_KEYRING (KC_FORMS_KEYRING for
// -service forms) and printed, never written anywhere: the operator deploys it.
func adminKeyring(ctx context.Context, cfg config, verb string, rest []string) error {
	fs := flag.NewFlagSet("keyring "+verb, flag.ContinueOnError)
	id := fs.String("id", "", "key ID, e.g. k2")
	service := fs.String("service", "idp", "whose data: idp (KC_DATABASE_URL) or forms (KC_FORMS_DATABASE_URL)")
	batch := fs.Int("batch", reseal.DefaultBatch, "rows per query")
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if verb == "generate" {
		fmt.Printf("KC_KEYRING=%s\nKC_TOKEN_KEY=%s\nKC_CSRF_KEY=%s\nKC_COOKIE_KEY=%s\n", keyring.Generate(), random32(), random32(), random32())
		return nil
	}
	name := "KC_KEYRING"
	if *service == "forms" {
		name = "KC_FORMS_KEYRING"
	} else if *service != "idp" {
		return fmt.Errorf("-service: %q is neither idp nor forms", *service)
	}
	text := firstNonEmpty(os.Getenv(name), cfg.Keyring)
	if text == "" {
		return fmt.Errorf("%s: missing; set it to the current key ring", name)
	}
	needID := func() error {
		if *id == "" {
			return fmt.Errorf("keyring %s: -id is missing", verb)
		}
		return nil
	}
	switch verb {
	case "add-key", "activate":
		if err := needID(); err != nil {
			return err
		}
		op := keyring.AddKey
		if verb == "activate" {
			op = keyring.Activate
		}
		out, err := op(text, *id)
		if err != nil {
			return err
		}
		fmt.Printf("%s=%s\n", name, out)
		if verb == "add-key" {
			fmt.Fprintf(os.Stderr, "Deploy this to every instance first; then run `keyring activate -id %s` and deploy that.\n", *id)
		}
		return nil
	case "reseal", "status", "retire":
	default:
		return fmt.Errorf("unknown keyring command %q", verb)
	}
	ring, err := keyring.Parse(text)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	db, cols, closeFn, err := openSealedStore(ctx, cfg, *service)
	if err != nil {
		return err
	}
	defer closeFn()
	switch verb {
	case "reseal":
		log := slog.New(slog.NewTextHandler(os.Stderr, nil))
		res, err := reseal.Run(ctx, db, ring, cols, *batch, log)
		for _, l := range reseal.Summary(res) {
			fmt.Println(l)
		}
		if err != nil {
			return err
		}
		for _, r := range res {
			if len(r.Remaining) > 0 || r.Changed > 0 {
				return errors.New("some values are not sealed with the current key yet; run reseal again (see the log)")
			}
		}
		return nil
	case "status":
		res, err := reseal.Count(ctx, db, cols)
		if err != nil {
			return err
		}
		fmt.Printf("current key %s; keys %s\n", ring.Current(), strings.Join(ring.KeyIDs(), ", "))
		for _, l := range reseal.Summary(res) {
			fmt.Println(strings.Replace(l, "; not current:", "; sealed with:", 1))
		}
		return nil
	}
	if err := needID(); err != nil {
		return err
	}
	out, err := reseal.Retire(ctx, db, cols, text, *id)
	if err != nil {
		return err
	}
	fmt.Printf("%s=%s\n", name, out)
	return nil
}

// openSealedStore opens the database of service and lists its sealed
// columns.
func openSealedStore(ctx context.Context, cfg config, service string) (*sqldb.DB, []reseal.Column, func(), error) {
	if service == "forms" {
		var sc serviceConfig
		if cfg.DatabaseURL == "" {
			sc.DataDir = cfg.DataDir // embedded: serve's forms.db
		}
		dsn, schema, err := serviceDatabase("forms", sc)
		if err != nil {
			return nil, nil, nil, err
		}
		db, err := sqldb.Open(ctx, dsn, schema)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("forms database: %w", err)
		}
		return db, forms.SealedColumns(), func() { _ = db.Close() }, nil
	}
	store, _, closeFn, err := openAdminStore(ctx, &cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	st, ok := store.(sealedStore)
	if !ok {
		closeFn()
		return nil, nil, nil, fmt.Errorf("store %T has no sealed columns", store)
	}
	return st.Database(), st.SealedColumns(), closeFn, nil
}

type sealedStore interface {
	Database() *sqldb.DB
	SealedColumns() []reseal.Column
}
