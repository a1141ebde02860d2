package forms

import (
	"bytes"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kanton/kundencenter/services/forms/datatrans/datatranstest"
	"github.com/kanton/kundencenter/services/rp"
)

// fillUmzug answers every page of "Umzug melden" (from another canton) and
// returns the draft id.
func fillUmzug(t *testing.T, h *harness, who string) string {
	t.Helper()
	first := h.startDraft(who, "umzug-melden")
	if first != "/drafts/"+draftOf(first)+"/pages/herkunft" {
		t.Fatalf("first page %s", first)
	}
	id := draftOf(first)
	// The first page shows the question; "Weiter" without an answer shows
	// the error summary.
	must200(t, h.get(who, first), "Woher ziehen Sie?", `name="herkunft"`)
	r := h.post(who, first, url.Values{"action": {"continue"}})
	if r.code != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Es gibt ein Problem") ||
		!strings.Contains(r.body, `href="#f-herkunft"`) {
		t.Fatalf("no error summary: %d %s", r.code, r.body)
	}
	next := mustRedirect(t, h.post(who, first, url.Values{"action": {"continue"}, "herkunft": {"anderer_kanton"}}), "/drafts/"+id+"/pages/bisherige_adresse")
	// The address is pre-filled from the claims; the condition shows the
	// certificate-of-origin question.
	must200(t, h.get(who, next), `value="Hauptgasse 1"`, `value="4500"`, "Heimatschein")
	next = mustRedirect(t, h.post(who, next, url.Values{"action": {"continue"},
		"bisherige_adresse.street": {"Hauptgasse 1"}, "bisherige_adresse.postal_code": {"4500"},
		"bisherige_adresse.locality": {"Solothurn"}, "heimatschein": {"ja"}}), "/drafts/"+id+"/pages/neue_adresse")
	next = mustRedirect(t, h.post(who, next, url.Values{"action": {"continue"},
		"neue_adresse.street": {"Bahnhofstrasse 3"}, "neue_adresse.postal_code": {"2540"},
		"neue_adresse.locality": {"Grenchen"}, "umzugsdatum": {"01.02.2027"}, "personen": {"2"}}), "/drafts/"+id+"/pages/kontakt")
	must200(t, h.get(who, next), `value="anna@example.ch"`, "(optional)")
	mustRedirect(t, h.post(who, next, url.Values{"action": {"continue"}, "email": {"anna@example.ch"}}), "/drafts/"+id+"/check")
	return id
}

func TestJourneyWithoutFee(t *testing.T) {
	dialects(t, func(t *testing.T, dialect string) {
		h := newHarness(t, dialect)
		id := fillUmzug(t, h, "anna")
		check := h.get("anna", "/drafts/"+id+"/check")
		must200(t, check, "Prüfen Sie Ihre Angaben", "Aus einem anderen Kanton", "01.02.2027", "Bahnhofstrasse 3",
			"Nicht angegeben", `Ändern<span class="visually-hidden"> Herkunft</span>`, "Antrag senden")
		// Change one answer: back to check answers afterwards.
		change := "/drafts/" + id + "/pages/neue_adresse?change=1"
		must200(t, h.get("anna", change), "Bahnhofstrasse 3")
		mustRedirect(t, h.post("anna", change, url.Values{"action": {"continue"},
			"neue_adresse.street": {"Bahnhofstrasse 5"}, "neue_adresse.postal_code": {"2540"},
			"neue_adresse.locality": {"Grenchen"}, "umzugsdatum": {"01.02.2027"}, "personen": {"3"}}), "/drafts/"+id+"/check")
		must200(t, h.get("anna", "/drafts/"+id+"/check"), "Bahnhofstrasse 5")
		// Without the declaration: an error, nothing sent.
		r := h.post("anna", "/drafts/"+id+"/send", nil)
		if r.code != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Bestätigen Sie die Erklärung") {
			t.Fatalf("send without declaration: %d", r.code)
		}
		conf := mustRedirect(t, h.post("anna", "/drafts/"+id+"/send", url.Values{"declaration": {"yes"}}), "/submissions/")
		page := h.get("anna", conf)
		must200(t, page, "Antrag gesendet", "F-", "Die Einwohnerkontrolle Ihrer neuen Gemeinde")
		// The back button: "bereits gesendet", a second send changes nothing.
		must200(t, h.get("anna", "/drafts/"+id+"/pages/kontakt"), "Bereits gesendet", conf)
		must200(t, h.post("anna", "/drafts/"+id+"/send", url.Values{"declaration": {"yes"}}), "Bereits gesendet")
		// Someone else sees neither the draft nor the submission.
		if r := h.get("bruno", conf); r.code != http.StatusNotFound {
			t.Errorf("another owner got %d", r.code)
		}
		// The job creates the case and then the notification.
		h.runJobs()
		h.runJobs()
		if cases, _ := h.status.count(); cases != 1 {
			t.Errorf("%d cases", cases)
		}
		if k := h.notes.kinds(); k["form-received"] != 1 {
			t.Errorf("notifications %v", k)
		}
		must200(t, h.get("anna", conf), "http://status.test/cases/2026-", "receipt.pdf")
		// The PDF receipt holds the reference and the answers.
		pdf := h.get("anna", conf+"/receipt.pdf")
		if pdf.code != http.StatusOK || !strings.HasPrefix(pdf.body, "%PDF-") {
			t.Fatalf("receipt: %d %.20q", pdf.code, pdf.body)
		}
		text := pdfText(t, []byte(pdf.body))
		for _, want := range []string{"Empfangsbestätigung", "Umzug melden", "Bahnhofstrasse 5", "Anna Muster", "2026-"} {
			if !strings.Contains(text, want) {
				t.Errorf("receipt lacks %q:\n%s", want, text)
			}
		}
		// Reuse: a new draft with the same answers, complete, so it opens
		// at check answers.
		reused := mustRedirect(t, h.post("anna", conf+"/reuse", nil), "/drafts/")
		if reused == "/drafts/"+id {
			t.Fatal("reuse returned the sent draft")
		}
		mustRedirect(t, h.get("anna", reused), reused+"/check")
		for table, want := range map[string]int{"forms_submissions": 1, "forms_payments": 0} {
			if n := h.count(table); n != want {
				t.Errorf("%s: %d rows, want %d", table, n, want)
			}
		}
	})
}

func TestDraftSaveAndResume(t *testing.T) {
	dialects(t, func(t *testing.T, dialect string) {
		h := newHarness(t, dialect)
		first := h.startDraft("anna", "umzug-melden")
		id := draftOf(first)
		mustRedirect(t, h.post("anna", first, url.Values{"action": {"continue"}, "herkunft": {"ausland"}}), "/drafts/"+id+"/pages/herkunftsland")
		// "Speichern und später fortfahren" leaves to "Meine Entwürfe".
		mustRedirect(t, h.post("anna", "/drafts/"+id+"/pages/herkunftsland", url.Values{"action": {"save"}, "land": {"Italien"}}), "/drafts?saved=1")
		must200(t, h.get("anna", "/drafts?saved=1"), "Umzug melden", "wird am 03.03.2027 gelöscht", "Ihr Entwurf ist gespeichert")
		// Resuming lands on the first unanswered page (the country is
		// answered; the new address is not).
		mustRedirect(t, h.get("anna", "/drafts/"+id), "/drafts/"+id+"/pages/neue_adresse")
		// The answers are sealed at rest.
		var raw []byte
		if err := h.db.QueryRow(t.Context(), "SELECT answers FROM forms_drafts WHERE id = ?", id).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(raw), "Italien") {
			t.Error("answers stored in the clear")
		}
		// The retention ends: the sweep reminds, then deletes.
		h.advance(84 * 24 * time.Hour)
		h.runJobs()
		if k := h.notes.kinds(); k["draft-expiring"] != 1 {
			t.Errorf("reminders %v", k)
		}
		h.advance(7 * 24 * time.Hour)
		h.runJobs()
		if n := h.count("forms_drafts"); n != 0 {
			t.Errorf("%d drafts after the retention", n)
		}
	})
}

// payForm fills "Parkkarte beantragen" as who and sends it, returning the
// draft id and the payment page URL.
func payForm(t *testing.T, h *harness, who string) (string, string) {
	t.Helper()
	first := h.startDraft(who, "parkkarte")
	id := draftOf(first)
	next := mustRedirect(t, h.post(who, first, url.Values{"action": {"continue"}, "kartenart": {"anwohner"}, "dauer": {"jahr"}}), "/drafts/"+id+"/pages/fahrzeug")
	mustRedirect(t, h.post(who, next, url.Values{"action": {"continue"}, "kennzeichen": {"SO 12345"},
		"adresse.street": {"Hauptgasse 1"}, "adresse.postal_code": {"4500"}, "adresse.locality": {"Solothurn"}}), "/drafts/"+id+"/check")
	check := h.get(who, "/drafts/"+id+"/check")
	must200(t, check, "CHF 40.00", "Bezahlen und Antrag senden")
	r := h.post(who, "/drafts/"+id+"/send", url.Values{"declaration": {"yes"}})
	if r.code != http.StatusSeeOther || !strings.HasPrefix(r.location, h.psp.URL()) {
		t.Fatalf("send: %d to %q\n%s", r.code, r.location, r.body)
	}
	return id, r.location
}

func TestPaymentFaults(t *testing.T) {
	tests := []struct {
		name    string
		faults  datatranstest.Faults
		outcome string
		// after the browser's return: a redirect to this prefix, or 202
		// "Zahlung wird geprüft" when "" (then Release sends the webhook).
		back string
		sent bool
	}{
		{name: "paid", outcome: "success", back: "/submissions/", sent: true},
		{name: "late webhook", faults: datatranstest.Faults{LateWebhook: true}, outcome: "success", back: "/submissions/", sent: true},
		{name: "dropped webhook", faults: datatranstest.Faults{DropWebhook: true}, outcome: "success", back: "/submissions/", sent: true},
		{name: "doubled webhook", faults: datatranstest.Faults{DoubleWebhook: true}, outcome: "success", back: "/submissions/", sent: true},
		{name: "early webhook", faults: datatranstest.Faults{EarlyWebhook: true}, outcome: "success", back: "/submissions/", sent: true},
		{name: "stale webhook afterwards", faults: datatranstest.Faults{StaleAfterward: true}, outcome: "success", back: "/submissions/", sent: true},
		{name: "bad signature", faults: datatranstest.Faults{BadSignature: true}, outcome: "success", back: "/submissions/", sent: true},
		{name: "canceled", outcome: "cancel", back: "/drafts/"},
		{name: "failed", outcome: "fail", back: "/drafts/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dialects(t, func(t *testing.T, dialect string) {
				h := newHarness(t, dialect)
				h.psp.SetFaults(tt.faults)
				id, pay := payForm(t, h, "anna")
				trx := pay[strings.LastIndex(pay, "/")+1:]
				back, err := h.psp.Complete(trx, tt.outcome, "TWI")
				if err != nil {
					t.Fatal(err)
				}
				if tt.faults.BadSignature {
					for _, d := range h.psp.Deliveries() {
						if d.Answer != http.StatusForbidden {
							t.Errorf("a mis-signed webhook got %d", d.Answer)
						}
					}
				}
				loc := mustRedirect(t, h.get("anna", back), tt.back)
				if tt.faults.LateWebhook {
					h.psp.Release() // the webhook after the status query: harmless
				}
				if !tt.sent {
					if !strings.Contains(loc, "/check?payment=") {
						t.Fatalf("back to %s", loc)
					}
					must200(t, h.get("anna", loc), "Ihre Angaben sind gespeichert")
					// The draft is intact: paying again works.
					h.psp.SetFaults(datatranstest.Faults{})
					r := h.post("anna", "/drafts/"+id+"/send", url.Values{"declaration": {"yes"}})
					trx2 := r.location[strings.LastIndex(r.location, "/")+1:]
					if trx2 == trx {
						t.Fatal("a finished payment was reused")
					}
					back, _ = h.psp.Complete(trx2, "success", "TWI")
					loc = mustRedirect(t, h.get("anna", back), "/submissions/")
				}
				must200(t, h.get("anna", loc), "Antrag gesendet", "Bezahlt: CHF 40.00")
				if n := h.count("forms_submissions"); n != 1 {
					t.Errorf("%d submissions", n)
				}
				if n := h.psp.Charges(trx); tt.sent && n != 1 {
					t.Errorf("charged %d times", n)
				}
			})
		})
	}
}

func TestPaymentStartFaults(t *testing.T) {
	dialects(t, func(t *testing.T, dialect string) {
		h := newHarness(t, dialect)
		h.psp.SetFaults(datatranstest.Faults{FailNextAPI: 1})
		first := h.startDraft("anna", "parkkarte")
		id := draftOf(first)
		h.post("anna", first, url.Values{"action": {"continue"}, "kartenart": {"gewerbe"}, "dauer": {"monat"}})
		// The company is asked because of the condition.
		r := h.post("anna", "/drafts/"+id+"/pages/fahrzeug", url.Values{"action": {"continue"}, "kennzeichen": {"SO 1"},
			"adresse.street": {"A 1"}, "adresse.postal_code": {"4500"}, "adresse.locality": {"Solothurn"}})
		if r.code != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Firma") {
			t.Fatalf("condition on the same page: %d", r.code)
		}
		mustRedirect(t, h.post("anna", "/drafts/"+id+"/pages/fahrzeug", url.Values{"action": {"continue"}, "kennzeichen": {"SO 1"},
			"firma": {"Muster GmbH"}, "adresse.street": {"A 1"}, "adresse.postal_code": {"4500"}, "adresse.locality": {"Solothurn"}}), "/drafts/"+id+"/check")
		// One 5xx: "not possible right now", the draft intact.
		r = h.post("anna", "/drafts/"+id+"/send", url.Values{"declaration": {"yes"}})
		if r.code != http.StatusServiceUnavailable || !strings.Contains(r.body, "im Moment nicht möglich") {
			t.Fatalf("5xx: %d", r.code)
		}
		// A double click: two sends, one payment.
		var wg sync.WaitGroup
		locs := make([]string, 2)
		for i := range locs {
			wg.Go(func() { locs[i] = h.post("anna", "/drafts/"+id+"/send", url.Values{"declaration": {"yes"}}).location })
		}
		wg.Wait()
		if locs[0] != locs[1] || locs[0] == "" {
			t.Fatalf("double click: %q", locs)
		}
		// The page expires (fake clock on both sides).
		h.psp.SetNow(func() time.Time { return time.Now().Add(31 * time.Minute) })
		h.advance(31 * time.Minute)
		trx := locs[0][strings.LastIndex(locs[0], "/")+1:]
		back, _ := h.psp.Complete(trx, "success", "TWI")
		mustRedirect(t, h.get("anna", back), "/drafts/"+id+"/check?payment=failed")
		if n := h.psp.Charges(trx); n != 0 {
			t.Errorf("an expired transaction was charged %d times", n)
		}
	})
}

func TestConcurrentSubmit(t *testing.T) {
	dialects(t, func(t *testing.T, dialect string) {
		h := newHarness(t, dialect)
		id := fillUmzug(t, h, "anna")
		var wg sync.WaitGroup
		ids := make([]string, 50)
		for i := range ids {
			wg.Go(func() {
				sub, _, err := h.s.submit(t.Context(), id, submitter{Sub: "anna", Name: "Anna", Lang: "de"}, "")
				if err != nil {
					t.Error(err)
					return
				}
				ids[i] = sub.ID
			})
		}
		wg.Wait()
		for _, x := range ids {
			if x != ids[0] {
				t.Fatalf("two submissions: %s and %s", ids[0], x)
			}
		}
		h.runJobs()
		h.runJobs()
		if n := h.count("forms_submissions"); n != 1 {
			t.Errorf("%d submissions", n)
		}
		if cases, _ := h.status.count(); cases != 1 {
			t.Errorf("%d cases", cases)
		}
	})
}

func TestCaseRetriedWhileStatusIsDown(t *testing.T) {
	dialects(t, func(t *testing.T, dialect string) {
		h := newHarness(t, dialect)
		id := fillUmzug(t, h, "anna")
		h.status.mu.Lock()
		h.status.down = 2
		h.status.mu.Unlock()
		conf := mustRedirect(t, h.post("anna", "/drafts/"+id+"/send", url.Values{"declaration": {"yes"}}), "/submissions/")
		for range 4 {
			h.runJobs()
			h.advance(time.Hour)
		}
		cases, calls := h.status.count()
		if cases != 1 || calls != 3 {
			t.Errorf("%d cases after %d calls, want 1 after 3", cases, calls)
		}
		must200(t, h.get("anna", conf), "http://status.test/cases/")
		if k := h.notes.kinds(); k["form-received"] != 1 {
			t.Errorf("notifications %v", k)
		}
	})
}

func TestOrganisationAndStepUp(t *testing.T) {
	dialects(t, func(t *testing.T, dialect string) {
		h := newHarness(t, dialect)
		// Acting for an organisation: only the forms for organisations.
		cat := h.get("bruno", "/")
		must200(t, cat, "Parkkarte beantragen", "Fristerstreckung")
		if strings.Contains(cat.body, "Hund anmelden") {
			t.Error("a form for persons offered to an organisation")
		}
		// Search is tolerant of case and umlauts.
		must200(t, h.get("anna", "/?q=WOHNSITZBESTATIGUNG"), "Wohnsitzbestätigung bestellen")
		// A two-factor form steps the login up.
		r := h.get("anna", "/forms/betreibungsregisterauszug")
		loc := mustRedirect(t, r, "/login?return=")
		if !strings.Contains(loc, "acr_values=urn%3Akundencenter%3Aloa%3Asubstantial") {
			t.Errorf("step-up %s", loc)
		}
		if r := h.get("anna", "/forms/betreibungsregisterauszug?stepup=1"); r.code != http.StatusForbidden {
			t.Errorf("after a step-up that failed: %d", r.code)
		}
		must200(t, h.get("anna-strong", "/forms/betreibungsregisterauszug"), "CHF 17.00", "Anmeldung mit zwei Faktoren")
		// A draft of an organisation belongs to it.
		first := h.startDraft("bruno", "fristerstreckung-steuererklaerung")
		if r := h.get("anna", first); r.code != http.StatusNotFound {
			t.Errorf("anna sees the organisation's draft: %d", r.code)
		}
	})
}

func TestAccountPurged(t *testing.T) {
	dialects(t, func(t *testing.T, dialect string) {
		h := newHarness(t, dialect)
		sent := fillUmzug(t, h, "anna")
		mustRedirect(t, h.post("anna", "/drafts/"+sent+"/send", url.Values{"declaration": {"yes"}}), "/submissions/")
		open := draftOf(h.startDraft("anna", "hund-anmelden"))
		other := draftOf(h.startDraft("bruno", "parkkarte"))
		for _, ev := range []rp.SecurityEvent{{Type: "urn:other", Subject: "anna"}, {Type: rp.EventAccountPurged, Subject: "anna"}} {
			if err := h.s.securityEvent(t.Context(), ev); err != nil {
				t.Fatal(err)
			}
		}
		if r := h.get("anna", "/drafts/"+open); r.code != http.StatusNotFound {
			t.Errorf("purged draft: %d", r.code)
		}
		if n := h.count("forms_submissions"); n != 1 {
			t.Errorf("%d submissions after the purge, want the sent one kept", n)
		}
		mustRedirect(t, h.get("bruno", "/drafts/"+other), "/drafts/"+other+"/pages/")
	})
}

func TestUploads(t *testing.T) {
	pdf := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("x"), 1000)...)
	png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{0}, 100)...)
	big := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("x"), MaxFileBytes)...)
	nine := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("x"), 9<<20)...)
	dialects(t, func(t *testing.T, dialect string) {
		h := newHarness(t, dialect)
		first := h.startDraft("anna", "hund-anmelden")
		id := draftOf(first)
		h.post("anna", first, url.Values{"action": {"continue"}, "hundename": {"Bello"}, "rasse": {"Labrador"}, "geburtsdatum_hund": {"01.01.2024"}})
		mustRedirect(t, h.post("anna", "/drafts/"+id+"/pages/chip", url.Values{"action": {"continue"}, "chipnummer": {"756098100123456"}, "herkunft_hund": {"schweiz"}}),
			"/drafts/"+id+"/pages/nachweise")
		page := "/drafts/" + id + "/pages/nachweise"
		tests := []struct {
			name string
			file []byte
			lang string
			want string
			code int
		}{
			{name: "wrong type", file: []byte("GIF89a not allowed here"), want: "muss ein PDF, JPEG oder PNG sein", code: http.StatusOK},
			{name: "text called pdf", file: []byte("hello, I am not a PDF"), want: "muss ein PDF, JPEG oder PNG sein", code: http.StatusOK},
			{name: "too large", file: big, want: "grösser als 10 MB", code: http.StatusOK},
			{name: "empty", file: nil, want: "", code: http.StatusOK},
			{name: "pdf", file: pdf, want: "heimtierausweis.pdf", code: http.StatusOK},
			{name: "png", file: png, want: "heimtierausweis.pdf", code: http.StatusOK},
			{name: "nine", file: nine, want: "heimtierausweis.pdf", code: http.StatusOK},
			{name: "nine again", file: nine, want: "heimtierausweis.pdf", code: http.StatusOK},
			{name: "over the total", file: nine, want: "höchstens 25 MB", code: http.StatusOK},
		}
		for _, tt := range tests {
			r := h.upload("anna", page, url.Values{"action": {"upload"}}, "heimtierausweis", "heimtierausweis.pdf", tt.file)
			if r.code != tt.code || !strings.Contains(r.body, tt.want) {
				t.Fatalf("%s: %d, want %d with %q\n%.3000s", tt.name, r.code, tt.code, tt.want, r.body)
			}
		}
		if n := h.count("forms_attachments"); n != 4 {
			t.Errorf("%d attachments, want 4", n)
		}
		// The draft is intact (the page is answered by the files), and the
		// stored file is sealed.
		mustRedirect(t, h.get("anna", "/drafts/"+id), "/drafts/"+id+"/pages/haltung")
		var data []byte
		if err := h.db.QueryRow(t.Context(), "SELECT data FROM forms_attachments WHERE size = ?", len(pdf)).Scan(&data); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte("%PDF")) {
			t.Error("file stored in the clear")
		}
		mustRedirect(t, h.post("anna", page, url.Values{"action": {"continue"}}), "/drafts/"+id+"/pages/haltung")
		// Deleting the draft removes its files.
		mustRedirect(t, h.post("anna", "/drafts/"+id+"/delete", nil), "/drafts")
		if n := h.count("forms_attachments"); n != 0 {
			t.Errorf("%d attachments after deleting the draft", n)
		}
	})
}

// pdfText extracts the text of a PDF with poppler's pdftotext.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	cmd := exec.Command("pdftotext", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pdftotext (apt-get install poppler-utils): %v", err)
	}
	return string(out)
}

// TestActingFor: a submission made for an organisation or a represented
// person belongs to them, records who sent it, and its case and
// notification go to them.
func TestActingFor(t *testing.T) {
	dialects(t, func(t *testing.T, dialect string) {
		h := newHarness(t, dialect)
		for _, tt := range []struct{ who, form, ownerKind, ownerID string }{
			{"rita", "wohnsitzbestaetigung", "person", "paula"},
			{"bruno", "fristerstreckung-steuererklaerung", "organisation", "org-1"},
		} {
			first := h.startDraft(tt.who, tt.form)
			id := draftOf(first)
			d, _ := h.s.cat.Latest(tt.form)
			// Fill every page directly with valid answers.
			a := map[string][]string{"vorname": {"Paula"}, "nachname": {"Prinzipal"}, "geburtsdatum": {"1950-03-01"},
				"wohnadresse.street": {"Gartenweg 2"}, "wohnadresse.postal_code": {"4500"}, "wohnadresse.locality": {"Solothurn"},
				"zweck": {"bank"}, "steuerjahr": {"2025"}, "steuernummer": {"123.456.789"}, "neue_frist": {"30.06"}}
			for _, p := range d.Pages {
				form := url.Values{"action": {"continue"}}
				for k, v := range a {
					form[k] = v
				}
				h.post(tt.who, "/drafts/"+id+"/pages/"+p.ID, form)
			}
			r := h.post(tt.who, "/drafts/"+id+"/send", url.Values{"declaration": {"yes"}})
			if d.Fee != nil {
				trx := r.location[strings.LastIndex(r.location, "/")+1:]
				back, _ := h.psp.Complete(trx, "success", "PFC")
				r = h.get(tt.who, back)
			}
			conf := mustRedirect(t, r, "/submissions/")
			sub, err := h.s.db.submission(t.Context(), Owner{Kind: tt.ownerKind, ID: tt.ownerID}, strings.TrimPrefix(conf, "/submissions/"))
			if err != nil {
				t.Fatalf("%s: submission not owned by %s %s: %v", tt.who, tt.ownerKind, tt.ownerID, err)
			}
			if sub.SubmittedBy != tt.who || sub.SubmittedByName == "" {
				t.Errorf("%s: submitted by %q %q", tt.who, sub.SubmittedBy, sub.SubmittedByName)
			}
			h.runJobs()
			h.runJobs()
			h.status.mu.Lock()
			c := h.status.cases[sub.ID]
			h.status.mu.Unlock()
			if c.Owner.Kind != tt.ownerKind || (c.Owner.Sub+c.Owner.ID) != tt.ownerID || c.SubmittedBy.Sub != tt.who {
				t.Errorf("%s: case %+v", tt.who, c)
			}
		}
		h.notes.mu.Lock()
		defer h.notes.mu.Unlock()
		got := map[string]bool{}
		for _, n := range h.notes.sent {
			got[n.Recipient.Kind+":"+n.Recipient.Sub+n.Recipient.ID] = true
		}
		if !got["person:paula"] || !got["organisation:org-1"] {
			t.Errorf("notifications to %v", got)
		}
	})
}

// TestConcurrentPay: 50 concurrent "Bezahlen und Antrag senden" start one
// payment; 50 concurrent returns after paying make one submission and one
// case.
func TestConcurrentPay(t *testing.T) {
	dialects(t, func(t *testing.T, dialect string) {
		h := newHarness(t, dialect)
		id, pay := payForm(t, h, "anna")
		var wg sync.WaitGroup
		locs := make([]string, 50)
		for i := range locs {
			wg.Go(func() {
				locs[i] = h.post("anna", "/drafts/"+id+"/send", url.Values{"declaration": {"yes"}}).location
			})
		}
		wg.Wait()
		for _, l := range locs {
			if l != pay {
				t.Fatalf("a send went to %q, not the one payment page %q", l, pay)
			}
		}
		back, err := h.psp.Complete(pay[strings.LastIndex(pay, "/")+1:], "success", "VIS")
		if err != nil {
			t.Fatal(err)
		}
		confs := make([]string, 50)
		for i := range confs {
			wg.Go(func() { confs[i] = h.get("anna", back).location })
		}
		wg.Wait()
		for _, c := range confs {
			if c != confs[0] || !strings.HasPrefix(c, "/submissions/") {
				t.Fatalf("returns went to %q and %q", confs[0], c)
			}
		}
		h.runJobs()
		cases, _ := h.status.count()
		if p, s, tx := h.count("forms_payments"), h.count("forms_submissions"), h.psp.Transactions(); p != 1 || s != 1 || tx != 1 || cases != 1 {
			t.Errorf("%d payments, %d submissions, %d transactions, %d cases; want one each", p, s, tx, cases)
		}
	})
}

// TestFormGuard checks that the state-changing routes refuse a post
// without the session's CSRF token or from another site with 403 and
// change nothing.
func TestFormGuard(t *testing.T) {
	dialects(t, func(t *testing.T, dialect string) {
		h := newHarness(t, dialect)
		first := h.startDraft("anna", "umzug-melden")
		id := draftOf(first)
		posts := []struct {
			path string
			form url.Values
		}{
			{"/forms/umzug-melden", url.Values{}},
			{first, url.Values{"action": {"continue"}, "herkunft": {"ausland"}}},
			{"/drafts/" + id + "/delete", url.Values{}},
			{"/drafts/" + id + "/send", url.Values{}},
		}
		tests := []struct {
			name   string
			csrf   string
			header http.Header
		}{
			{name: "no token"},
			{name: "wrong token", csrf: "csrf-bruno"},
			{name: "cross-site", csrf: "csrf-anna", header: http.Header{"Sec-Fetch-Site": {"cross-site"}}},
			{name: "foreign origin", csrf: "csrf-anna", header: http.Header{"Origin": {"https://evil.example"}}},
		}
		for _, tt := range tests {
			for _, p := range posts {
				form := url.Values{}
				for k, v := range p.form {
					form[k] = v
				}
				if tt.csrf != "" {
					form.Set("csrf", tt.csrf)
				}
				req, err := http.NewRequest(http.MethodPost, h.srv.URL+p.path, strings.NewReader(form.Encode()))
				if err != nil {
					t.Fatal(err)
				}
				for k, v := range tt.header {
					req.Header[k] = v
				}
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				if r := h.send("anna", req); r.code != http.StatusForbidden {
					t.Errorf("%s %s: %d, want 403", tt.name, p.path, r.code)
				}
			}
		}
		// A body over the route's limit is refused as too large (413), with
		// or without a token, before anything is read of it.
		big := url.Values{"csrf": {"csrf-anna"}, "pad": {strings.Repeat("x", 300<<10)}}
		req, err := http.NewRequest(http.MethodPost, h.srv.URL+"/drafts/"+id+"/send", strings.NewReader(big.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if r := h.send("anna", req); r.code != http.StatusRequestEntityTooLarge {
			t.Errorf("oversized post: %d, want 413", r.code)
		}
		if n := h.count("forms_drafts"); n != 1 {
			t.Errorf("%d drafts, want the one started", n)
		}
		// The draft is untouched: resuming lands on its first page.
		mustRedirect(t, h.get("anna", "/drafts/"+id), first)
	})
}
