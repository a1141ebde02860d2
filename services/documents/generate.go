package documents

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"
)

// Templates of result documents the service renders itself.
const TemplateWohnsitz = "wohnsitzbestaetigung"

// GenerateFields are the data of a generated result document.
type GenerateFields struct {
	GivenName  string `json:"givenName"`
	FamilyName string `json:"familyName"`
	BirthDate  string `json:"birthDate"` // YYYY-MM-DD
	Address    string `json:"address"`
	Since      string `json:"since"` // YYYY-MM-DD
}

// wohnsitzTexts are the texts of the Wohnsitzbestätigung per language.
var wohnsitzTexts = map[string]struct {
	Title, Intro, Name, Birth, Address, Since, Issued, Hint string
}{
	"de": {"Wohnsitzbestätigung", "Die Einwohnerkontrolle bestätigt, dass die nachstehend genannte Person an der angegebenen Adresse ihren Wohnsitz hat.",
		"Name, Vorname", "Geburtsdatum", "Adresse", "Zugezogen am", "Ausgestellt am %s",
		"Dieses Dokument ist elektronisch gesiegelt. Ein Ausdruck ist keine beglaubigte Kopie. Prüfen Sie die Datei unter %s."},
	"fr": {"Attestation de domicile", "Le contrôle des habitants atteste que la personne mentionnée ci-dessous est domiciliée à l'adresse indiquée.",
		"Nom, prénom", "Date de naissance", "Adresse", "Arrivée le", "Établi le %s",
		"Ce document porte un sceau électronique. Une impression n'est pas une copie certifiée. Vérifiez le fichier sur %s."},
	"it": {"Attestato di domicilio", "Il controllo abitanti attesta che la persona indicata qui sotto è domiciliata all'indirizzo indicato.",
		"Cognome, nome", "Data di nascita", "Indirizzo", "Arrivo il", "Rilasciato il %s",
		"Questo documento è munito di un sigillo elettronico. Una stampa non è una copia autenticata. Verifichi il file su %s."},
	"en": {"Confirmation of residence", "The residents' registration office confirms that the person named below has their residence at the address given.",
		"Name, given name", "Date of birth", "Address", "Moved in on", "Issued on %s",
		"This document carries an electronic seal. A printout is not a certified copy. Verify the file at %s."},
}

// swissDate formats YYYY-MM-DD as DD.MM.YYYY (left as is when unparsable).
func swissDate(s string) string {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.Format("02.01.2006")
	}
	return s
}

// generateWohnsitz renders a Wohnsitzbestätigung as PDF. The top right of
// page 1 is left free for the visible seal.
func generateWohnsitz(lang, issuer, verifyURL string, f GenerateFields, now time.Time) ([]byte, string, error) {
	tx, ok := wohnsitzTexts[lang]
	if !ok {
		lang, tx = "de", wohnsitzTexts["de"]
	}
	p := fpdf.New("P", "mm", "A4", "")
	p.SetCreationDate(now)
	p.SetModificationDate(now)
	p.SetCatalogSort(true)
	p.SetTitle(tx.Title, true)
	p.SetAuthor(issuer, true)
	p.SetCreator("Kundencenter", true)
	p.SetLang(lang)
	p.SetMargins(22, 20, 22)
	p.SetAutoPageBreak(true, 20)
	p.AddPage()
	tr := p.UnicodeTranslatorFromDescriptor("")

	p.SetFont("Helvetica", "B", 11)
	p.MultiCell(90, 5.5, tr(issuer), "", "L", false)
	p.SetFont("Helvetica", "", 9)
	p.SetTextColor(90, 90, 90)
	p.MultiCell(90, 5, tr(tx.Title), "", "L", false)
	p.SetTextColor(0, 0, 0)

	p.SetY(62)
	p.SetFont("Helvetica", "B", 20)
	p.CellFormat(0, 10, tr(tx.Title), "", 1, "L", false, 0, "")
	p.Ln(4)
	p.SetFont("Helvetica", "", 11)
	p.MultiCell(0, 6, tr(tx.Intro), "", "L", false)
	p.Ln(6)
	rows := [][2]string{
		{tx.Name, strings.TrimSpace(f.FamilyName + ", " + f.GivenName)},
		{tx.Birth, swissDate(f.BirthDate)},
		{tx.Address, f.Address},
		{tx.Since, swissDate(f.Since)},
	}
	p.SetDrawColor(200, 200, 200)
	for _, r := range rows {
		p.SetFont("Helvetica", "", 10)
		p.SetTextColor(90, 90, 90)
		p.CellFormat(50, 9, tr(r[0]), "B", 0, "L", false, 0, "")
		p.SetFont("Helvetica", "B", 11)
		p.SetTextColor(0, 0, 0)
		p.CellFormat(0, 9, tr(r[1]), "B", 1, "L", false, 0, "")
	}
	p.Ln(10)
	p.SetFont("Helvetica", "", 10)
	p.CellFormat(0, 6, tr(fmt.Sprintf(tx.Issued, now.Format("02.01.2006"))), "", 1, "L", false, 0, "")
	p.Ln(12)
	p.SetFont("Helvetica", "", 8.5)
	p.SetTextColor(90, 90, 90)
	p.MultiCell(0, 4.5, tr(fmt.Sprintf(tx.Hint, verifyURL)), "", "L", false)

	var b bytes.Buffer
	if err := p.Output(&b); err != nil {
		return nil, "", fmt.Errorf("render %s: %w", TemplateWohnsitz, err)
	}
	return b.Bytes(), tx.Title, nil
}

// wohnsitzTitles returns the document's title in every language.
func wohnsitzTitles() map[string]string {
	out := map[string]string{}
	for lang, tx := range wohnsitzTexts {
		out[lang] = tx.Title
	}
	return out
}
