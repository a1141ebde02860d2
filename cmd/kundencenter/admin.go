package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/provider"
	"github.com/kanton/kundencenter/keyring"
	"github.com/kanton/kundencenter/store/postgres"
	"github.com/kanton/kundencenter/store/sqlite"
	"github.com/kanton/kundencenter/wire"
)

const adminUsage = `usage: kundencenter admin <command>

  clients list
  clients add -id ID -name NAME -redirect URI [-redirect URI…] [-post-logout URI…] [-grant G…] [-public] [-level ACR] [-jwt] [-backchannel-logout-uri URI] [-events-uri URI] [-subject-type public|pairwise] [-sector-identifier HOST]
              [-scope S…] [-api-scope S…]
              prints the client secret once (store it in the service's KC_CLIENT_SECRET)
  clients delete -id ID
  keys list
  keys rotate [-force]     promote the next signing key, retire the active one, publish a new next key
` + adminKeyringUsage + adminAuditUsage + `  orgs import FILE         import legacy organisation accounts (CSV: legacy_id,org_name,uid,owner_email; see package delegation)
  accounts disable [-reason hijacking|bulk-account] ACCOUNT
              refuse logins and end every session and token of the account (services get back-channel
              logout and a RISC account-disabled event with the reason)
  accounts enable ACCOUNT        allow logins again (ended sessions stay ended; services get account-enabled)
  accounts sessions-end ACCOUNT  end every session and token of the account
              ACCOUNT is the account ID or its Konto-ID
  enablements list [-all]  enablement requests ("Freischaltung"); enablements approve ID; enablements refuse ID [-note TEXT]

Uses KC_DATABASE_URL when set, else the embedded SQLite file in KC_DATA_DIR.
`

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(s string) error { *m = append(*m, s); return nil }

func runAdmin(ctx context.Context, cfg config, args []string) error {
	if len(args) < 2 {
		fmt.Print(adminUsage)
		return nil
	}
	what, verb, rest := args[0], args[1], args[2:]
	switch what {
	case "keyring":
		return adminKeyring(ctx, cfg, verb, rest) // admin_keyring.go
	case "audit":
		return adminAudit(ctx, cfg, verb, rest) // admin_audit.go
	}
	store, ring, closeFn, err := openAdminStore(ctx, &cfg)
	if err != nil {
		return err
	}
	defer closeFn()
	switch what + " " + verb {
	case "enablements list", "enablements approve", "enablements refuse":
		return adminEnablements(ctx, cfg, store, ring, verb, rest) // portal.go
	case "clients list":
		list, err := store.ListClients(ctx)
		if err != nil {
			return err
		}
		return writeClients(os.Stdout, list)
	case "clients add":
		fs := flag.NewFlagSet("clients add", flag.ContinueOnError)
		var redirects, postLogout, grants, scopes, apiScopes multi
		id := fs.String("id", "", "client ID")
		name := fs.String("name", "", "display name shown on the login page")
		public := fs.Bool("public", false, "public client (no secret; PKCE only)")
		level := fs.String("level", "", "minimum authentication level (acr)")
		jwt := fs.Bool("jwt", false, "issue JWT access tokens instead of opaque ones")
		backchannel := fs.String("backchannel-logout-uri", "", "OIDC back-channel logout endpoint of the service (https)")
		eventsURI := fs.String("events-uri", "", "endpoint receiving Security Event Tokens (RFC 8935 push, https)")
		subjectType := fs.String("subject-type", idp.SubjectPublic, "sub the service sees: public (the account ID) or pairwise (its own per sector)")
		sector := fs.String("sector-identifier", "", "pairwise only: host whose subjects the service shares (default: the host of its redirect URIs)")
		fs.Var(&redirects, "redirect", "redirect URI (repeatable, matched exactly)")
		fs.Var(&postLogout, "post-logout", "post-logout redirect URI (repeatable)")
		fs.Var(&grants, "grant", "grant type: authorization_code, refresh_token, client_credentials, urn:ietf:params:oauth:grant-type:token-exchange (repeatable)")
		fs.Var(&scopes, "scope", "scope the client may request with client_credentials, e.g. cases:write (repeatable)")
		fs.Var(&apiScopes, "api-scope", "scope this client serves as an API: tokens granting it name the client in aud (repeatable)")
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if len(grants) == 0 {
			grants = multi{idp.GrantAuthorizationCode, idp.GrantRefreshToken}
		}
		c := idp.Client{ID: *id, Name: firstNonEmpty(*name, *id), RedirectURIs: redirects, PostLogoutRedirectURIs: postLogout,
			GrantTypes: grants, Public: *public, Level: *level, BackChannelLogoutURI: *backchannel, EventsURI: *eventsURI,
			Scopes: scopes, APIScopes: apiScopes, SubjectType: *subjectType, SectorIdentifier: *sector}
		if *jwt {
			c.AccessTokenType = "jwt"
		}
		var secret string
		if !c.Public {
			secret = random32()
			c.SecretHash = idp.HashToken(secret)
		}
		if err := validateClient(c); err != nil {
			return err
		}
		if err := putClient(ctx, store, c); err != nil {
			return err
		}
		fmt.Printf("client %q saved\n", c.ID)
		if secret != "" {
			sum := sha256.Sum256([]byte(secret))
			fmt.Printf("client secret (shown once): %s\nsecret_sha256 (for KC_CLIENTS_FILE): %s\n", secret, hex.EncodeToString(sum[:]))
		}
		return nil
	case "clients delete":
		fs := flag.NewFlagSet("clients delete", flag.ContinueOnError)
		id := fs.String("id", "", "client ID")
		if err := fs.Parse(rest); err != nil {
			return err
		}
		return store.DeleteClient(ctx, *id)
	case "keys list":
		keys, err := store.ListSigningKeys(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KID\tSTATE\tCREATED\tSTATE SINCE")
		for _, k := range keys {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.ID, k.State, k.CreatedAt.Format(time.RFC3339), k.UpdatedAt.Format(time.RFC3339))
		}
		return tw.Flush()
	case "keys rotate":
		fs := flag.NewFlagSet("keys rotate", flag.ContinueOnError)
		force := fs.Bool("force", false, "do not wait until the next key has been published for an hour")
		if err := fs.Parse(rest); err != nil {
			return err
		}
		k, err := provider.Rotate(ctx, store, ring, time.Now().UTC(), provider.DefaultRotation, *force)
		if err != nil {
			return err
		}
		fmt.Printf("key %s is now active; running instances pick it up within a minute\n", k.ID)
		return nil
	case "orgs import":
		return adminOrgsImport(ctx, store, ring, rest)
	case "accounts disable", "accounts enable", "accounts sessions-end":
		return adminAccounts(ctx, cfg, store, ring, verb, rest) // accounts.go
	}
	fmt.Print(adminUsage)
	return fmt.Errorf("unknown admin command %q", what+" "+verb)
}

type adminStore interface {
	idp.ClientStore
	idp.KeyStore
}

func openAdminStore(ctx context.Context, cfg *config) (adminStore, *keyring.Ring, func(), error) {
	if cfg.DatabaseURL != "" {
		ring, err := keyring.Parse(cfg.Keyring)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("KC_KEYRING: %w", err)
		}
		s, err := postgres.Open(ctx, cfg.DatabaseURL)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("KC_DATABASE_URL: %w", err)
		}
		return s, ring, s.Close, nil
	}
	if err := cfg.embeddedSecrets(); err != nil {
		return nil, nil, nil, err
	}
	ring, err := keyring.Parse(cfg.Keyring)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("key ring: %w", err)
	}
	s, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "kundencenter.db"))
	if err != nil {
		return nil, nil, nil, err
	}
	return s, ring, func() { s.Close() }, nil
}

// adminOrgsImport reads legacy organisation accounts from a CSV file (the
// format is documented in package delegation) into the store.
func adminOrgsImport(ctx context.Context, store adminStore, ring *keyring.Ring, args []string) error {
	if len(args) != 1 {
		return errors.New("usage: kundencenter admin orgs import FILE")
	}
	st, ok := store.(wire.Store)
	if !ok {
		return fmt.Errorf("store %T keeps no organisations", store)
	}
	f, err := os.Open(args[0])
	if err != nil {
		return err
	}
	defer f.Close()
	acc, err := wire.NewAccounts(wire.Config{Store: st, Ring: ring})
	if err != nil {
		return err
	}
	res, err := acc.Orgs.ImportLegacy(ctx, f)
	if err != nil {
		return err
	}
	fmt.Printf("legacy organisation accounts: %d new, %d updated\n", res.Inserted, res.Updated)
	return nil
}

// writeClients is the table of "clients list".
func writeClients(w io.Writer, list []idp.Client) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tPUBLIC\tGRANTS\tLEVEL\tSUBJECT\tSCOPES\tAPI SCOPES\tREDIRECT URIS")
	for _, c := range list {
		fmt.Fprintf(tw, "%s\t%s\t%v\t%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Name, c.Public, strings.Join(c.GrantTypes, ","), c.Level,
			subjectColumn(c), strings.Join(c.Scopes, " "), strings.Join(c.APIScopes, " "), strings.Join(c.RedirectURIs, " "))
	}
	return tw.Flush()
}

// subjectColumn is the SUBJECT column of "clients list": public, or
// pairwise with its sector.
func subjectColumn(c idp.Client) string {
	if !c.Pairwise() {
		return idp.SubjectPublic
	}
	sector, err := c.Sector()
	if err != nil {
		return "pairwise (no sector!)"
	}
	return "pairwise:" + sector
}
