package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kanton/kundencenter/catalogue"
	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/provider"
	"github.com/kanton/kundencenter/idp/web"
	"github.com/kanton/kundencenter/keyring"
	"github.com/kanton/kundencenter/notify"
	"github.com/kanton/kundencenter/portal"
	"github.com/kanton/kundencenter/templates"
)

// portalSetup is what the IdP's portal pages run on; close releases the
// enablement store.
type portalSetup struct {
	web.Portal
	close func()
}

// portalStoreURL is where the enablement requests live: an own SQLite file
// portal.db beside the IdP's in embedded mode, the schema "portal" of
// KC_DATABASE_URL in production.
func portalStoreURL(cfg config) string {
	if cfg.DatabaseURL != "" {
		return cfg.DatabaseURL
	}
	return "sqlite:" + filepath.Join(cfg.DataDir, "portal.db")
}

// newPortal loads the service catalogue, checks that the registered
// clients agree with it (a mismatch stops the start with the reason), opens
// the enablement store and prepares the overview's summaries of the bundled
// services at links (an empty URL leaves a service out). KC_CONTACT_TO is
// the support address of the contact form (default in embedded mode:
// support@kundencenter.localhost, shown in the dev outbox).
func newPortal(ctx context.Context, cfg config, store idp.Store, ring *keyring.Ring, links templates.PortalLinks, embedded bool, log *slog.Logger) (*portalSetup, error) {
	cat, err := catalogue.Load()
	if err != nil {
		return nil, err
	}
	if err := checkCatalogue(ctx, cat, store); err != nil {
		return nil, err
	}
	contact := os.Getenv("KC_CONTACT_TO")
	if contact == "" && embedded {
		contact = "support@kundencenter.localhost"
	}
	if a, err := mail.ParseAddress(contact); contact != "" && (err != nil || a.Address != contact) {
		return nil, fmt.Errorf("KC_CONTACT_TO: %q is not a bare e-mail address", contact)
	}
	en, err := portal.OpenEnablements(ctx, portalStoreURL(cfg), nil)
	if err != nil {
		return nil, err
	}
	var svcs []portal.SummaryService
	for _, s := range []struct{ kind, url string }{{"status", links.Status}, {"documents", links.Documents}, {"forms", links.Forms}} {
		if s.url != "" {
			svcs = append(svcs, portal.SummaryService{Kind: s.kind, ClientID: s.kind, BaseURL: strings.TrimSuffix(s.url, "/")})
		}
	}
	return &portalSetup{Portal: web.Portal{Links: links, Catalogue: cat, Enablements: en, ContactTo: contact,
		Summaries: &portal.Summaries{Services: svcs, Timeout: 1500 * time.Millisecond, Log: log},
		Mail:      outboxMail(store, ring)}, close: func() { en.Close() }}, nil
}

// outboxMail enqueues a mail in the IdP's outbox.
func outboxMail(store idp.Store, ring *keyring.Ring) func(context.Context, idp.Mail) error {
	return func(ctx context.Context, m idp.Mail) error {
		out, err := notify.SealMail(ring, m)
		if err != nil {
			return err
		}
		return store.EnqueueOutgoing(ctx, out)
	}
}

// mintSummaryTokens lets the overview call the services' summary endpoint
// with a one-minute token of the person for each service's audience.
func mintSummaryTokens(p *portalSetup, prov *provider.Provider) {
	if p == nil || p.Summaries == nil {
		return
	}
	p.Summaries.Token = func(ctx context.Context, accountID, audience string) (string, error) {
		return prov.MintAccessToken(ctx, accountID, audience, []string{portal.SummaryScope}, time.Minute)
	}
}

// checkCatalogue makes the start fail when a registered client and the
// service catalogue disagree on the level (catalogue/services.json is the
// single source of a service's level and enablement).
func checkCatalogue(ctx context.Context, cat *catalogue.Catalogue, store idp.ClientStore) error {
	list, err := store.ListClients(ctx)
	if err != nil {
		return fmt.Errorf("check the service catalogue: %w", err)
	}
	var cs []catalogue.Client
	for _, c := range list {
		cs = append(cs, catalogue.Client{ID: c.ID, Level: c.Level})
	}
	if err := cat.Check(cs); err != nil {
		return fmt.Errorf("the registered clients disagree with the service catalogue:\n%w", err)
	}
	return nil
}

const enablementsUsage = `usage: kundencenter admin enablements <command>

  list [-all]                     pending requests (with -all: every request)
  approve ID                      enable the account for the service; the person is told by e-mail
  refuse ID [-note "reason"]      refuse the request; the person is told by e-mail with the reason
`

// adminEnablements lists, approves and refuses enablement requests.
func adminEnablements(ctx context.Context, cfg config, store adminStore, ring *keyring.Ring, verb string, args []string) error {
	en, err := portal.OpenEnablements(ctx, portalStoreURL(cfg), nil)
	if err != nil {
		return err
	}
	defer en.Close()
	cat, err := catalogue.Load()
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("enablements "+verb, flag.ContinueOnError)
	all := fs.Bool("all", false, "list every request, not only pending ones")
	note := fs.String("note", "", "reason of a refusal, told to the person")
	var id string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		id, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch verb {
	case "list":
		status := portal.StatusRequested
		if *all {
			status = ""
		}
		list, err := en.List(ctx, status)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSTATUS\tSERVICE\tACCOUNT\tKONTO-ID\tREQUESTED")
		for _, x := range list {
			konto := ""
			if a, err := store.(idp.AccountStore).GetAccount(ctx, x.AccountID); err == nil {
				konto = a.KontoID
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", x.ID, x.Status, x.Service, x.AccountID, konto, x.RequestedAt.Format(time.DateTime))
		}
		return tw.Flush()
	case "approve", "refuse":
		if id == "" {
			return errors.New(enablementsUsage)
		}
		x, err := en.Decide(ctx, id, verb == "approve", *note)
		if err != nil {
			return err
		}
		if err := tellEnablement(ctx, cfg, store, ring, cat, x); err != nil {
			return fmt.Errorf("%s %s, but the e-mail could not be queued: %w", x.Status, x.ID, err)
		}
		fmt.Printf("%s %s (%s); the person is told by e-mail\n", x.ID, x.Status, x.Service)
		return nil
	}
	return errors.New(enablementsUsage)
}

// tellEnablement queues the decision mail in the person's language.
func tellEnablement(ctx context.Context, cfg config, store adminStore, ring *keyring.Ring, cat *catalogue.Catalogue, x portal.Enablement) error {
	st, ok := store.(idp.Store)
	if !ok {
		return errors.New("the store cannot send mail")
	}
	a, err := st.GetAccount(ctx, x.AccountID)
	if err != nil {
		return err
	}
	p, err := idp.NewService(idp.Config{BaseURL: cfg.Issuer}, st, nil, ring, nil, nil).Personal(a)
	if err != nil {
		return err
	}
	name := x.Service
	if s, ok := cat.Service(x.Service); ok {
		name = s.Title.In(x.Locale)
	}
	decision := "refused"
	if x.Status == portal.StatusApproved {
		decision = "approved"
	}
	return outboxMail(st, ring)(ctx, idp.Mail{To: p.Email, Locale: x.Locale, Template: "enablement", Data: map[string]string{
		"Name": strings.TrimSpace(p.GivenName + " " + p.FamilyName), "Decision": decision, "ServiceName": name, "Note": x.Note,
		"Link": strings.TrimSuffix(cfg.Issuer, "/") + templates.PathCatalogue + "/" + x.Service}})
}

// riverLog is River's logger: warnings and errors only (and everything with
// KC_LOG_LEVEL=debug), so that its per-minute "Producer job counts" and
// start/stop chatter do not fill the operator's console (issue 14).
func riverLog(log *slog.Logger) *slog.Logger {
	return slog.New(minLevel{Handler: log.With("component", "river").Handler(), min: slog.LevelWarn})
}

// minLevel drops records below min unless the wrapped handler is at debug.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (m minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	if m.Handler.Enabled(ctx, slog.LevelDebug) {
		return true
	}
	return l >= m.min && m.Handler.Enabled(ctx, l)
}

func (m minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{Handler: m.Handler.WithAttrs(as), min: m.min}
}

func (m minLevel) WithGroup(name string) slog.Handler {
	return minLevel{Handler: m.Handler.WithGroup(name), min: m.min}
}
