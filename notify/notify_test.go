package notify

import (
	"crypto/rand"
	"testing"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/keyring"
)

// testRing returns a key ring with fresh random keys.
func testRing(t *testing.T) *keyring.Ring {
	t.Helper()
	r, err := keyring.New(map[string][]byte{"k1": random32(t)}, "k1", random32(t))
	if err != nil {
		t.Fatalf("keyring.New: %v", err)
	}
	return r
}

func random32(t *testing.T) []byte {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("rand: %v", err)
	}
	return b
}

// testMail returns a valid mail of the given template with every value set.
func testMail(template, locale string) idp.Mail {
	return idp.Mail{
		To:       "zoe.mueller@example.ch",
		Locale:   locale,
		Template: template,
		Data: map[string]string{
			KeyName:         "Zoë Müller-Grünig",
			KeyKontoID:      "KC-4821-7733-9",
			KeyLink:         "https://konto.example.ch/aktivieren?token=s3cr3t-t0ken",
			KeyValidHours:   "48",
			KeyValidMinutes: "30",
			KeyResetLink:    "https://konto.example.ch/passwort-vergessen",
			KeyLoginLink:    "https://konto.example.ch/anmelden",
			KeyEvent:        "phone_changed",
			KeySecurityLink: "https://konto.example.ch/security",
			KeyOrgName:      "Muster Treuhand AG",
			KeyInviterName:  "Anna Muster",
			KeyPartyName:    "Paul Vertreten",
			KeyCode:         "7K3M-Q9TX-2HZP-4WNA",
			KeyValidDays:    "14",
			KeyRegisterLink: "https://konto.example.ch/registrieren",
			KeyTopic:        "login",
			KeyReplyTo:      "zoe.mueller@example.ch",
			KeyMessage:      "Ich komme nicht weiter.",
			KeyDecision:     "approved",
			KeyDate:         "31.10.2027",
			KeyNotice:       "document-delivered",
			KeyServiceName:  "Meine Dokumente",
		},
	}
}

var allMails = []string{idp.MailActivate, idp.MailReset, idp.MailPasswordChanged, idp.MailAlreadyRegistered,
	idp.MailSecurityNotice, "org_invitation", "org_invitation_register", "org_removed",
	"rep_code", "rep_accepted", "rep_confirmed", "rep_rejected", "rep_ended",
	idp.MailEmailChange, idp.MailEmailChanged, idp.MailAccountDeleted, idp.MailLifecycleReminder, idp.MailLifecycleDeleted,
	idp.MailServiceNotice, "contact", "enablement"}
