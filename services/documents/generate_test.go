package documents

import (
	"bytes"
	"context"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"codeberg.org/go-pdf/fpdf"

	"github.com/kanton/kundencenter/services/documents/seal"
	"github.com/kanton/kundencenter/services/documents/tsa"
)

// poppler runs a poppler-utils tool on pdf (args, the file, after); the test fails when it is
// missing (scripts/test installs poppler-utils).
func poppler(t *testing.T, tool string, pdf []byte, args []string, after ...string) string {
	t.Helper()
	bin, err := exec.LookPath(tool)
	if err != nil {
		t.Fatalf("%s is missing: apt-get install poppler-utils (scripts/test installs it)", tool)
	}
	f := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command(bin, slices.Concat(args, []string{f}, after)...).CombinedOutput()
	return string(out)
}

// testSealing returns a sealer and verifier on a fresh test PKI with an
// in-process timestamp authority.
func testSealing(t testing.TB) (*seal.Sealer, *seal.Verifier) {
	t.Helper()
	pki, err := seal.NewTestPKI("Kanton Test", seal.ECDSA, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(pki.Root)
	auth := &tsa.Authority{Cert: pki.TSACert, Key: pki.TSAKey}
	return &seal.Sealer{Key: pki.SealKey, Chain: pki.SealChain, Timestamp: auth.Stamp}, &seal.Verifier{Roots: roots}
}

// samplePDF is a small PDF as a back office might deliver it.
func samplePDF(t testing.TB) []byte {
	t.Helper()
	p := fpdf.New("P", "mm", "A4", "")
	p.AddPage()
	p.SetFont("Helvetica", "", 12)
	p.Cell(0, 10, "Registerauszug")
	var b bytes.Buffer
	if err := p.Output(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestGenerateWohnsitz(t *testing.T) {
	t.Parallel()
	sealer, verifier := testSealing(t)
	fields := GenerateFields{GivenName: "Jürg", FamilyName: "Müller-Bärtschi", BirthDate: "1980-02-29", Address: "Rösslistrasse 5, 8001 Zürich", Since: "2026-11-01"}
	tests := []struct{ lang, title string }{
		{"de", "Wohnsitzbestätigung"},
		{"fr", "Attestation de domicile"},
		{"it", "Attestato di domicilio"},
		{"en", "Confirmation of residence"},
		{"xx", "Wohnsitzbestätigung"},
	}
	for _, tc := range tests {
		t.Run(tc.lang, func(t *testing.T) {
			t.Parallel()
			pdf, title, err := generateWohnsitz(tc.lang, "Kanton Test, Einwohnerkontrolle", "http://localhost:8083/pruefen", fields, time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC))
			if err != nil {
				t.Fatal(err)
			}
			if title != tc.title {
				t.Errorf("title %q, want %q", title, tc.title)
			}
			sealed, err := sealer.Seal(context.Background(), pdf, seal.Appearance{Link: "http://localhost:8083/pruefen"})
			if err != nil {
				t.Fatal(err)
			}
			text := poppler(t, "pdftotext", sealed, []string{"-enc", "UTF-8"}, "-")
			for _, want := range []string{tc.title, "Müller-Bärtschi, Jürg", "29.02.1980", "Rösslistrasse 5, 8001 Zürich", "01.11.2026"} {
				if !strings.Contains(text, want) {
					t.Errorf("text lacks %q:\n%s", want, text)
				}
			}
			if res := verifier.Verify(sealed); !res.Valid {
				t.Errorf("seal of the generated document: %+v", res)
			}
		})
	}
}
