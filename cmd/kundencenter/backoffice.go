package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kanton/kundencenter/services/api"
	"github.com/kanton/kundencenter/templates"
)

const backofficeUsage = `usage: kundencenter backoffice cases <command> [flags]

Drives the status service's back-office API with the client credentials of
a back-office client (the demo client "backoffice" of kundencenter serve).

commands:
  create       create a case:  cases create -service wohnsitzbestaetigung -title "Wohnsitzbestätigung" -owner-sub SUB
  set-status   change a case:  cases set-status CASE -status in-bearbeitung [-note "…"] [-deadline YYYY-MM-DD] [-outcome …]
               CASE is the businessProcessId or the reference number (2026-000123-4)
  show         print a case:   cases show CASE

Closing a wohnsitzbestaetigung case as gutgeheissen also delivers the
certificate to the document service (give -given-name, -family-name,
-birth-date, -address, -since; -lang fr|it|en writes it in another language
than German: the case does not record the person's language).

common flags (environment defaults):
  -issuer          KC_ISSUER, http://localhost:8080
  -status-url      KC_STATUS_URL, http://localhost:8082
  -documents-url   KC_DOCUMENTS_URL, http://localhost:8083
  -client-id       KC_BACKOFFICE_CLIENT_ID, backoffice
  -client-secret   KC_BACKOFFICE_SECRET, else the file backoffice.secret in KC_DATA_DIR (written by serve)
`

// backofficeSecret returns the demo back office's secret:
// KC_BACKOFFICE_SECRET, else what `serve` wrote to the data folder.
func backofficeSecret() string {
	if s := os.Getenv("KC_BACKOFFICE_SECRET"); s != "" {
		return s
	}
	raw, _ := os.ReadFile(filepath.Join(cmp.Or(os.Getenv("KC_DATA_DIR"), "data"), backofficeSecretFile))
	return strings.TrimSpace(string(raw))
}

// backoffice is the state of one backoffice command.
type backoffice struct {
	statusURL, documentsURL string
	client                  *api.APIClient
	out                     io.Writer
	caseArg                 string // the case named on the command line
}

// runBackoffice runs "kundencenter backoffice cases …".
func runBackoffice(ctx context.Context, args []string, out io.Writer) error {
	if len(args) < 2 || args[0] != "cases" {
		fmt.Fprint(out, backofficeUsage)
		return errors.New("backoffice: expected \"cases create|set-status|show\"")
	}
	cmd, args := args[1], args[2:]
	fs := flag.NewFlagSet("backoffice cases "+cmd, flag.ContinueOnError)
	fs.SetOutput(out)
	issuer := fs.String("issuer", cmp.Or(os.Getenv("KC_ISSUER"), "http://localhost:8080"), "the IdP's issuer")
	statusURL := fs.String("status-url", cmp.Or(os.Getenv("KC_STATUS_URL"), "http://localhost:8082"), "the status service")
	documentsURL := fs.String("documents-url", cmp.Or(os.Getenv("KC_DOCUMENTS_URL"), "http://localhost:8083"), "the document service")
	clientID := fs.String("client-id", cmp.Or(os.Getenv("KC_BACKOFFICE_CLIENT_ID"), "backoffice"), "the back-office client")
	secret := fs.String("client-secret", backofficeSecret(), "its secret")
	var run func() error
	b := &backoffice{out: out}
	switch cmd {
	case "create":
		run = b.createFlags(ctx, fs)
	case "set-status":
		run = b.setStatusFlags(ctx, fs)
	case "show":
		run = func() error {
			c, err := b.get(ctx, b.caseArg)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(out)
			enc.SetIndent("", "  ")
			return enc.Encode(c)
		}
	default:
		fmt.Fprint(out, backofficeUsage)
		return fmt.Errorf("backoffice: unknown command %q", cmd)
	}
	// The case may come before the flags or after them.
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		b.caseArg, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if b.caseArg == "" {
		b.caseArg = fs.Arg(0)
	}
	if *secret == "" {
		return errors.New("backoffice: no client secret (-client-secret, KC_BACKOFFICE_SECRET, or start `kundencenter serve` once)")
	}
	b.statusURL = strings.TrimSuffix(*statusURL, "/")
	b.documentsURL = strings.TrimSuffix(*documentsURL, "/")
	b.client = api.NewAPIClient(api.ClientConfig{Issuer: *issuer, ClientID: *clientID, ClientSecret: *secret,
		Scopes: []string{"cases:write", "cases:read", "documents:write"}})
	return run()
}

// caseView is what the status API answers for a case (the members used here).
type caseView struct {
	BusinessProcessID string          `json:"businessProcessId"`
	Reference         string          `json:"reference"`
	URL               string          `json:"url"`
	Service           string          `json:"service"`
	Title             map[string]any  `json:"title"`
	Owner             json.RawMessage `json:"owner"`
	Status            string          `json:"status"`
	Outcome           string          `json:"outcome,omitempty"`
	Closed            bool            `json:"businessCaseClosed"`
	History           []any           `json:"history"`
	Answers           []any           `json:"answers,omitempty"`
}

func (b *backoffice) get(ctx context.Context, ref string) (caseView, error) {
	if ref == "" {
		return caseView{}, errors.New("backoffice: name the case (businessProcessId or reference number)")
	}
	u := b.statusURL + "/api/v1/cases/" + url.PathEscape(ref)
	if strings.Count(ref, "-") == 2 { // a reference number
		u = b.statusURL + "/api/v1/cases?reference=" + url.QueryEscape(ref)
	}
	var c caseView
	_, err := b.client.Do(ctx, http.MethodGet, u, nil, &c)
	return c, err
}

func (b *backoffice) createFlags(ctx context.Context, fs *flag.FlagSet) func() error {
	service := fs.String("service", "wohnsitzbestaetigung", "the service (Dienstleistung) of the case")
	title := fs.String("title", "Wohnsitzbestätigung", "the case's title (German)")
	ownerSub := fs.String("owner-sub", "", "the owner: a person's subject at the status service")
	ownerOrg := fs.String("owner-org", "", "the owner: an organisation's ID")
	expected := fs.String("expected", "", "expected completion (YYYY-MM-DD)")
	test := fs.Bool("test", false, "mark the case as test traffic")
	return func() error {
		owner := map[string]string{"kind": "person", "sub": *ownerSub}
		if *ownerOrg != "" {
			owner = map[string]string{"kind": "organisation", "id": *ownerOrg}
		}
		body := map[string]any{"messageId": newMessageID(), "service": *service, "title": map[string]string{"de": *title},
			"owner": owner, "eventDate": time.Now().UTC().Format(time.RFC3339), "testDeliveryFlag": *test}
		if *expected != "" {
			body["expectedCompletion"] = *expected
		}
		var a struct{ BusinessProcessID, Reference, URL string }
		if _, err := b.client.Do(ctx, http.MethodPost, b.statusURL+"/api/v1/cases", body, &a); err != nil {
			return explain(err)
		}
		fmt.Fprintf(b.out, "created %s (businessProcessId %s)\n%s\n", a.Reference, a.BusinessProcessID, a.URL)
		return nil
	}
}

func (b *backoffice) setStatusFlags(ctx context.Context, fs *flag.FlagSet) func() error {
	status := fs.String("status", "", "eingegangen, in-bearbeitung, rueckfrage, sistiert, abgeschlossen or storniert")
	note := fs.String("note", "", "a public note (German)")
	deadline := fs.String("deadline", "", "the Rückfrage's deadline (YYYY-MM-DD)")
	outcome := fs.String("outcome", "", "with abgeschlossen: gutgeheissen, teilweise-gutgeheissen, abgelehnt, nichteintreten, zurueckgezogen")
	notify := fs.Bool("notify", true, "tell the person by e-mail")
	recall := fs.Bool("recall", false, "recall the entry -ref names (or the current one)")
	correct := fs.Bool("correct", false, "correct the entry -ref names (or the current one)")
	ref := fs.String("ref", "", "the messageId a correction or recall refers to")
	messageID := fs.String("message-id", "", "the messageId (default: a new one; repeat one to retry safely)")
	given := fs.String("given-name", "", "certificate: given name")
	family := fs.String("family-name", "", "certificate: family name")
	birth := fs.String("birth-date", "", "certificate: birth date (YYYY-MM-DD)")
	address := fs.String("address", "", "certificate: address")
	since := fs.String("since", "", "certificate: resident since (YYYY-MM-DD)")
	// The case does not say which language its person reads; the back
	// office, which issues the certificate, does.
	lang := fs.String("lang", "de", "certificate: its language (de, fr, it or en)")
	return func() error {
		c, err := b.get(ctx, b.caseArg)
		if err != nil {
			return explain(err)
		}
		action := "new"
		switch {
		case *recall:
			action = "recall"
		case *correct:
			action = "correction"
		}
		msg := cmp.Or(*messageID, newMessageID())
		body := map[string]any{"messageId": msg, "action": action, "eventDate": time.Now().UTC().Format(time.RFC3339Nano),
			"notify": *notify, "businessCaseClosed": *status == "abgeschlossen" || *status == "storniert"}
		if action != "recall" {
			body["status"] = *status
			if *note != "" {
				body["note"] = map[string]string{"de": *note}
			}
		}
		for k, v := range map[string]string{"deadline": *deadline, "outcome": *outcome, "referenceMessageId": *ref} {
			if v != "" {
				body[k] = v
			}
		}
		fields := map[string]string{"givenName": *given, "familyName": *family, "birthDate": *birth, "address": *address, "since": *since}
		deliver := c.Service == "wohnsitzbestaetigung" && *status == "abgeschlossen" && *outcome == "gutgeheissen"
		if !slices.Contains(templates.Langs(), *lang) {
			return fmt.Errorf("backoffice: -lang %q: the certificate is written in de, fr, it or en", *lang)
		}
		if deliver {
			for k, v := range fields {
				if v == "" {
					return fmt.Errorf("backoffice: closing a wohnsitzbestaetigung as gutgeheissen delivers the certificate; %s is missing (see -given-name, -family-name, -birth-date, -address, -since)", k)
				}
			}
		}
		var after caseView
		if _, err := b.client.Do(ctx, http.MethodPost, b.statusURL+"/api/v1/cases/"+url.PathEscape(c.BusinessProcessID)+"/events", body, &after); err != nil {
			return explain(err)
		}
		fmt.Fprintf(b.out, "%s is now %s%s (messageId %s)\n", after.Reference, after.Status, prefixed(": ", after.Outcome), msg)
		if !deliver {
			return nil
		}
		doc := map[string]any{"messageId": derivedID(msg, "document"), "owner": c.Owner, "service": c.Service,
			"businessProcessId": c.BusinessProcessID, "reference": c.Reference,
			"title":        certificateTitle,
			"documentKind": "certificate", "issuer": "Einwohnerkontrolle",
			"generate": map[string]any{"template": "wohnsitzbestaetigung", "lang": *lang, "fields": fields}}
		var d struct{ ID, SHA256, URL string }
		if _, err := b.client.Do(ctx, http.MethodPost, b.documentsURL+"/api/v1/documents", doc, &d); err != nil {
			return fmt.Errorf("the case is closed, but the certificate was not delivered (run the same command with -message-id %s to retry): %w", msg, explain(err))
		}
		fmt.Fprintf(b.out, "certificate delivered: %s (SHA-256 %s)\n", d.URL, d.SHA256)
		return nil
	}
}

// certificateTitle is the title of the delivered Wohnsitzbestätigung in
// "Meine Dokumente", by language.
var certificateTitle = map[string]string{"de": "Wohnsitzbestätigung", "fr": "Attestation de domicile", "it": "Certificato di domicilio", "en": "Certificate of residence"}

// explain turns an API's problem into a readable error.
func explain(err error) error {
	var se *api.StatusError
	if errors.As(err, &se) && se.Problem.Detail != "" {
		return fmt.Errorf("%s: %s", se.Problem.Title, se.Problem.Detail)
	}
	return err
}

func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}

// newMessageID returns a random UUID for an eCH-0058 messageId.
func newMessageID() string {
	var b [16]byte
	rand.Read(b[:]) // crypto/rand.Read never fails
	return uuidOf(b, 4)
}

// derivedID returns a UUID derived from id and purpose, so that a retry of
// a command sends the same messageId.
func derivedID(id, purpose string) string {
	h := sha256.Sum256([]byte(purpose + "\x00" + id))
	var b [16]byte
	copy(b[:], h[:16])
	return uuidOf(b, 5)
}

func uuidOf(b [16]byte, version byte) string {
	b[6] = b[6]&0x0f | version<<4
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
