package notify

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/templates"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestRenderGolden renders every mail in every language and compares it with
// testdata/mail/{lang}/{template}.golden; run `go test ./notify -update`
// after changing a text and review the diff.
func TestRenderGolden(t *testing.T) {
	t.Parallel()
	r, err := NewRenderer()
	if err != nil {
		t.Fatalf("NewRenderer: %v", err)
	}
	for _, lang := range templates.MailLanguages {
		for _, name := range allMails {
			t.Run(lang+"/"+name, func(t *testing.T) {
				m, err := r.Render(testMail(name, lang))
				if err != nil {
					t.Fatalf("Render: %v", err)
				}
				if m.To != "zoe.mueller@example.ch" || m.Template != name {
					t.Errorf("To, Template = %q, %q", m.To, m.Template)
				}
				got := "Subject: " + m.Subject + "\n\n" + m.Text + "\n----- HTML -----\n" + m.HTML
				path := filepath.Join("testdata", "mail", lang, name+".golden")
				if *update {
					if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("read golden file (run go test -update to create it): %v", err)
				}
				if got != string(want) {
					t.Errorf("rendered mail differs from %s (run go test -update and review the diff):\n%s", path, got)
				}
			})
		}
	}
}

func TestRenderLocale(t *testing.T) {
	t.Parallel()
	r, err := NewRenderer()
	if err != nil {
		t.Fatalf("NewRenderer: %v", err)
	}
	tests := []struct {
		name, locale, want string
	}{
		{name: "German", locale: "de", want: "Neues Passwort festlegen"},
		{name: "Swiss French", locale: "fr-CH", want: "Définir un nouveau mot de passe"},
		{name: "Italian", locale: "it", want: "Impostare una nuova password"},
		{name: "English", locale: "en", want: "Set a new password"},
		{name: "unknown falls back to German", locale: "rm", want: "Neues Passwort festlegen"},
		{name: "empty falls back to German", locale: "", want: "Neues Passwort festlegen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := r.Render(testMail(idp.MailReset, tt.locale))
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if m.Subject != tt.want {
				t.Errorf("Subject = %q, want %q", m.Subject, tt.want)
			}
		})
	}
}

// TestMailNamesMatchIdP keeps the idp template constants and the template
// files in step.
func TestMailNamesMatchIdP(t *testing.T) {
	t.Parallel()
	if len(allMails) != len(templates.MailNames) || len(mailKeys) != len(allMails) {
		t.Fatalf("idp names %v, template names %v, checked keys for %d", allMails, templates.MailNames, len(mailKeys))
	}
	for _, n := range allMails {
		if !slices.Contains(templates.MailNames, n) {
			t.Errorf("idp mail %q has no template", n)
		}
	}
}

func TestRenderActivateShowsKontoID(t *testing.T) {
	t.Parallel()
	r, err := NewRenderer()
	if err != nil {
		t.Fatalf("NewRenderer: %v", err)
	}
	m, err := r.Render(testMail(idp.MailActivate, "de"))
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	if !strings.Contains(m.Text, "Ihre Konto-ID: KC-4821-7733-9") || !strings.Contains(m.Text, "eingeladen") {
		t.Errorf("text part does not show the Konto-ID and its use:\n%s", m.Text)
	}
	if got := Links(m.Text); len(got) == 0 || got[0] != "https://konto.example.ch/aktivieren?token=s3cr3t-t0ken" {
		t.Errorf("Links(text) = %q, want the activation link first", got)
	}
}
