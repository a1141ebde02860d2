package templates

import (
	"errors"
	"io/fs"
	"path"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func mailTestData() MailData {
	return MailData{
		Name:         "Zoë Müller-Grünig",
		KontoID:      "KC-4821-7733-9",
		Link:         "https://konto.example.ch/aktivieren?t=abc123",
		ValidHours:   "48",
		ValidMinutes: "30",
		ResetLink:    "https://konto.example.ch/passwort-vergessen",
		LoginLink:    "https://konto.example.ch/anmelden",
		Event:        "phone_changed",
		SecurityLink: "https://konto.example.ch/security",
		OrgName:      "Muster Treuhand AG",
		InviterName:  "Anna Muster",
		PartyName:    "Paul Vertreten",
		Code:         "7K3M-Q9TX-2HZP-4WNA",
		ValidDays:    "14",
		RegisterLink: "https://konto.example.ch/registrieren",
		Date:         "31.10.2027",
		Notice:       "case-status-changed",
		ServiceName:  "Meine Vorgänge",
		Reference:    "2026-000123-4",
		Topic:        "login",
		ReplyTo:      "anna@example.ch",
		Message:      "Ich komme nicht weiter.",
		Decision:     "approved",
	}
}

// TestMailRenderEveryTemplate renders every template in every language and
// checks that the values the template is about appear in both parts.
func TestMailRenderEveryTemplate(t *testing.T) {
	mails, err := ParseMail()
	if err != nil {
		t.Fatalf("ParseMail: %v", err)
	}
	d := mailTestData()
	want := map[string][]string{
		"activate":                {d.Name, d.KontoID, d.Link, d.ValidHours},
		"reset":                   {d.Name, d.Link, d.ValidMinutes},
		"password_changed":        {d.Name, d.ResetLink},
		"already_registered":      {d.Name, d.LoginLink, d.ResetLink},
		"security_notice":         {d.Name, d.SecurityLink},
		"org_invitation":          {d.Name, d.OrgName, d.InviterName, d.Link, d.ValidHours},
		"org_invitation_register": {d.OrgName, d.InviterName, d.Link, d.ValidHours},
		"org_removed":             {d.Name, d.OrgName, d.LoginLink},
		"rep_code":                {d.Name, d.PartyName, d.Code, d.ValidDays, d.Link},
		"rep_accepted":            {d.Name, d.PartyName, d.Link},
		"rep_confirmed":           {d.Name, d.PartyName, d.Link},
		"rep_rejected":            {d.Name, d.PartyName, d.Link},
		"rep_ended":               {d.Name, d.PartyName, d.Link},
		"email_change":            {d.Name, d.Link, d.ValidHours},
		"email_changed":           {d.Name, d.ResetLink},
		"account_deleted":         {d.Name, d.RegisterLink},
		"lifecycle_reminder":      {d.Name, d.LoginLink, d.Date},
		"lifecycle_deleted":       {d.Name, d.RegisterLink},
		"service_notice":          {d.Name, d.ServiceName, d.Reference, d.Link},
		"contact":                 {d.Reference, d.Topic, d.ReplyTo, d.Message},
		"enablement":              {d.Name, d.ServiceName, d.Link},
	}
	if len(want) != len(MailNames) {
		t.Fatalf("test covers %d templates, MailNames has %d", len(want), len(MailNames))
	}
	subjects := map[string]bool{}
	for _, lang := range MailLanguages {
		for _, name := range MailNames {
			t.Run(lang+"/"+name, func(t *testing.T) {
				c, err := mails.Render(name, lang, d)
				if err != nil {
					t.Fatalf("Render: %v", err)
				}
				if c.Subject == "" || strings.ContainsAny(c.Subject, "\r\n") {
					t.Errorf("subject %q: want one non-empty line", c.Subject)
				}
				if subjects[c.Subject] {
					t.Errorf("subject %q is used by another template", c.Subject)
				}
				subjects[c.Subject] = true
				for _, v := range want[name] {
					if !strings.Contains(c.Text, v) {
						t.Errorf("text part lacks %q:\n%s", v, c.Text)
					}
					if !strings.Contains(c.HTML, v) {
						t.Errorf("HTML part lacks %q:\n%s", v, c.HTML)
					}
				}
				for _, s := range []string{`<html lang="` + lang + `">`, "<title>" + c.Subject + "</title>", "<h1"} {
					if !strings.Contains(c.HTML, s) {
						t.Errorf("HTML part lacks %q", s)
					}
				}
				if strings.Contains(c.Text+c.HTML, "<no value>") {
					t.Errorf("a template refers to a missing value")
				}
			})
		}
	}
}

func TestMailRenderDetails(t *testing.T) {
	mails, err := ParseMail()
	if err != nil {
		t.Fatalf("ParseMail: %v", err)
	}
	tests := []struct {
		name     string
		template string
		locale   string
		data     func(*MailData)
		wantText []string
		wantHTML []string
		notHTML  []string
	}{
		{
			name: "unknown locale falls back to German", template: "reset", locale: "rm",
			wantText: []string{"Guten Tag Zoë Müller-Grünig\n", "30 Minuten"},
		},
		{
			name: "region subtag is ignored", template: "reset", locale: "fr-CH",
			wantText: []string{"Bonjour Zoë Müller-Grünig,", "30 minutes"},
		},
		{
			name: "greeting without a name", template: "password_changed", locale: "de",
			data:     func(d *MailData) { d.Name = "" },
			wantText: []string{"Guten Tag\n"},
		},
		{
			name: "singular validity", template: "activate", locale: "en",
			data:     func(d *MailData) { d.ValidHours = "1" },
			wantText: []string{"valid for 1 hour and"},
		},
		{
			name: "HTML escapes the name", template: "activate", locale: "it",
			data:     func(d *MailData) { d.Name = `<script>alert("x")</script>` },
			wantHTML: []string{"&lt;script&gt;"},
			notHTML:  []string{"<script>"},
			wantText: []string{`<script>alert("x")</script>`},
		},
		{
			name: "HTML refuses a javascript link", template: "reset", locale: "de",
			data:    func(d *MailData) { d.Link = "javascript:alert(1)" },
			notHTML: []string{`href="javascript:`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := mailTestData()
			if tt.data != nil {
				tt.data(&d)
			}
			c, err := mails.Render(tt.template, tt.locale, d)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			for _, s := range tt.wantText {
				if !strings.Contains(c.Text, s) {
					t.Errorf("text lacks %q:\n%s", s, c.Text)
				}
			}
			for _, s := range tt.wantHTML {
				if !strings.Contains(c.HTML, s) {
					t.Errorf("HTML lacks %q", s)
				}
			}
			for _, s := range tt.notHTML {
				if strings.Contains(c.HTML, s) {
					t.Errorf("HTML contains %q", s)
				}
			}
		})
	}
}

func TestMailRenderUnknownTemplate(t *testing.T) {
	mails, err := ParseMail()
	if err != nil {
		t.Fatalf("ParseMail: %v", err)
	}
	if _, err := mails.Render("welcome", "de", mailTestData()); !errors.Is(err, ErrUnknownMail) {
		t.Fatalf("Render(welcome) = %v, want ErrUnknownMail", err)
	}
}

// TestMailParseFailsOnMissingFile removes one file at a time and expects
// ParseMailFS to fail, naming the template.
func TestMailParseFailsOnMissingFile(t *testing.T) {
	all := mailFiles(t)
	tests := []struct {
		name    string
		missing string
		want    string
	}{
		{name: "text body", missing: "mail/it/reset.txt", want: "it/reset (text)"},
		{name: "HTML body", missing: "mail/en/activate.html", want: "en/activate (html)"},
		{name: "common part", missing: "mail/fr/common.txt", want: "fr/activate (text)"},
		{name: "layout", missing: "mail/layout.html", want: "de/activate (html)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for p, b := range all {
				if p != tt.missing {
					fsys[p] = &fstest.MapFile{Data: b}
				}
			}
			_, err := ParseMailFS(fsys)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseMailFS without %s = %v, want an error naming %q", tt.missing, err, tt.want)
			}
		})
	}
	t.Run("missing define", func(t *testing.T) {
		fsys := fstest.MapFS{}
		for p, b := range all {
			fsys[p] = &fstest.MapFile{Data: b}
		}
		fsys["mail/de/reset.txt"] = &fstest.MapFile{Data: []byte(`{{define "text"}}x{{end}}`)}
		_, err := ParseMailFS(fsys)
		if err == nil || !strings.Contains(err.Error(), "subject") {
			t.Fatalf("ParseMailFS = %v, want an error about the missing subject", err)
		}
	})
}

// TestMailNoStrayFiles makes sure every file in MailFS is used, so a
// misspelt file name cannot hide next to the one that is parsed.
func TestMailNoStrayFiles(t *testing.T) {
	for p := range mailFiles(t) {
		if p == "mail/layout.html" {
			continue
		}
		dir, file := path.Split(p)
		lang := strings.TrimSuffix(strings.TrimPrefix(dir, "mail/"), "/")
		base := strings.TrimSuffix(file, path.Ext(file))
		ext := path.Ext(file)
		if !slices.Contains(MailLanguages, lang) || (ext != ".txt" && ext != ".html") ||
			(base != "common" && !slices.Contains(MailNames, base)) {
			t.Errorf("stray file %s in MailFS", p)
		}
	}
}

func TestMailLanguage(t *testing.T) {
	tests := []struct {
		name, locale, want string
	}{
		{name: "empty", locale: "", want: "de"},
		{name: "German", locale: "de", want: "de"},
		{name: "French region", locale: "fr-CH", want: "fr"},
		{name: "Italian underscore upper case", locale: "IT_ch", want: "it"},
		{name: "English", locale: "en", want: "en"},
		{name: "Romansh falls back", locale: "rm-CH", want: "de"},
		{name: "garbage", locale: "../../x", want: "de"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MailLanguage(tt.locale); got != tt.want {
				t.Errorf("MailLanguage(%q) = %q, want %q", tt.locale, got, tt.want)
			}
		})
	}
}

func mailFiles(t *testing.T) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := fs.WalkDir(MailFS, "mail", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := fs.ReadFile(MailFS, p)
		files[p] = b
		return err
	})
	if err != nil {
		t.Fatalf("walk MailFS: %v", err)
	}
	return files
}

// TestSecurityNoticeEvents checks that every event a security notice can
// announce has its own sentence in every language.
func TestSecurityNoticeEvents(t *testing.T) {
	mails, err := ParseMail()
	if err != nil {
		t.Fatalf("ParseMail: %v", err)
	}
	events := []string{"phone_added", "phone_changed", "phone_removed", "mfa_on", "mfa_off",
		"passkey_added", "passkey_removed", "recovery_new", "recovery_used", "login_linked", "login_unlinked"}
	for _, lang := range MailLanguages {
		d := mailTestData()
		d.Event = "unknown"
		base, err := mails.Render("security_notice", lang, d)
		if err != nil {
			t.Fatalf("Render: %v", err)
		}
		seen := map[string]string{}
		for _, ev := range events {
			d.Event = ev
			c, err := mails.Render("security_notice", lang, d)
			if err != nil {
				t.Fatalf("%s/%s: %v", lang, ev, err)
			}
			if len(c.Text) <= len(base.Text)+20 {
				t.Errorf("%s/%s: no sentence for the event", lang, ev)
			}
			if other, dup := seen[c.Text]; dup {
				t.Errorf("%s: %s and %s render the same text", lang, ev, other)
			}
			seen[c.Text] = ev
		}
	}
}
