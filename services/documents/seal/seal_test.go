package seal_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"net/http/httptest"
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

// samplePDF builds a small document with fpdf.
func samplePDF(t testing.TB, compress bool) []byte {
	t.Helper()
	p := fpdf.New("P", "mm", "A4", "")
	p.SetCompression(compress)
	p.SetTitle("Registerauszug Test", true)
	p.AddPage()
	tr := p.UnicodeTranslatorFromDescriptor("")
	p.SetFont("Helvetica", "", 12)
	p.Cell(0, 10, tr("Bestätigung für Jürg Müller, Zürich"))
	var b bytes.Buffer
	if err := p.Output(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

type fixture struct {
	pki    *seal.TestPKI
	sealer *seal.Sealer
	roots  *x509.CertPool
}

func newFixture(t testing.TB, kt seal.KeyType, overHTTP bool) fixture {
	t.Helper()
	pki, err := seal.NewTestPKI("Kanton Test", kt, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	auth := &tsa.Authority{Cert: pki.TSACert, Key: pki.TSAKey}
	stamp := auth.Stamp
	if overHTTP {
		srv := httptest.NewServer(auth)
		t.Cleanup(srv.Close)
		stamp = tsa.Client(srv.URL, srv.Client())
	}
	roots := x509.NewCertPool()
	roots.AddCert(pki.Root)
	return fixture{
		pki:    pki,
		sealer: &seal.Sealer{Key: pki.SealKey, Chain: pki.SealChain, Timestamp: stamp, Reason: "Amtliches Dokument", Location: "Zürich"},
		roots:  roots,
	}
}

var appearance = seal.Appearance{
	Title: "Elektronisch gesiegelt",
	Lines: []string{"Kanton Test", "Prüfen: http://localhost:8083/pruefen?d=1234"},
	Link:  "http://localhost:8083/pruefen?d=1234",
}

// pdfsig runs Debian's pdfsig (poppler-utils); the test fails when it is
// missing (scripts/test installs it).
func pdfsig(t *testing.T, pdf []byte) string {
	t.Helper()
	bin, err := exec.LookPath("pdfsig")
	if err != nil {
		t.Fatal("pdfsig is missing: apt-get install poppler-utils (scripts/test installs it)")
	}
	f := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command(bin, f).CombinedOutput() // exit status is 1 for invalid signatures
	return string(out)
}

// flip changes one byte inside the signed range: a letter of the title.
func flip(t *testing.T, pdf []byte) []byte {
	t.Helper()
	out := bytes.Clone(pdf)
	i := bytes.Index(out, []byte("Registerauszug"))
	if i < 0 {
		// The title is UTF-16 when written by fpdf with isUTF8; look for hex or raw.
		i = bytes.Index(out, []byte("/Title"))
		if i < 0 {
			t.Fatal("no title to flip")
		}
		i += len("/Title") + 4
	}
	out[i] ^= 0x01
	return out
}

func newVerifier(fx fixture) *seal.Verifier { return &seal.Verifier{Roots: fx.roots} }

func TestSealPdfsigAgrees(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		kt       seal.KeyType
		compress bool
		overHTTP bool
	}{
		{"ecdsa-http-tsa", seal.ECDSA, true, true},
		{"rsa-uncompressed", seal.RSA, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fx := newFixture(t, tc.kt, tc.overHTTP)
			orig := samplePDF(t, tc.compress)
			sealed, err := fx.sealer.Seal(context.Background(), orig, appearance)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(sealed, orig) {
				t.Fatal("sealing changed the original bytes (no incremental update)")
			}
			out := pdfsig(t, sealed)
			for _, want := range []string{"Signature Type: ETSI.CAdES.detached", "Signature Validation: Signature is Valid.", "Kanton Test"} {
				if !strings.Contains(out, want) {
					t.Errorf("pdfsig output lacks %q:\n%s", want, out)
				}
			}
			v := &seal.Verifier{Roots: fx.roots}
			res := v.Verify(sealed)
			if !res.Valid || !res.Intact || !res.Trusted || res.SignedAt.IsZero() || res.Organization != "Kanton Test" {
				t.Errorf("own verifier: %+v", res)
			}

			bad := flip(t, sealed)
			out = pdfsig(t, bad)
			if strings.Contains(out, "Signature is Valid") || !strings.Contains(out, "Signature Validation:") {
				t.Errorf("pdfsig accepts a flipped byte:\n%s", out)
			}
			res = v.Verify(bad)
			if res.Valid || res.Intact || !slices.Contains(res.Problems, seal.DigestMismatch) {
				t.Errorf("own verifier accepts a flipped byte: %+v", res)
			}
		})
	}
}

func TestVerifyRefuses(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, seal.ECDSA, false)
	sealed, err := fx.sealer.Seal(context.Background(), samplePDF(t, true), appearance)
	if err != nil {
		t.Fatal(err)
	}
	other, err := seal.NewTestPKI("Fremd", seal.ECDSA, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	otherRoots := x509.NewCertPool()
	otherRoots.AddCert(other.Root)
	tests := []struct {
		name  string
		pdf   []byte
		roots *x509.CertPool
		want  string
	}{
		{"unsealed", samplePDF(t, true), fx.roots, seal.NoSignature},
		{"not a pdf", []byte("hello"), fx.roots, seal.NoSignature},
		{"appended", append(bytes.Clone(sealed), "\n% more\n"...), fx.roots, seal.NotCovered},
		{"other anchor", sealed, otherRoots, seal.Untrusted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := (&seal.Verifier{Roots: tc.roots}).Verify(tc.pdf)
			if res.Valid || !slices.Contains(res.Problems, tc.want) {
				t.Errorf("got %+v, want problem %s", res, tc.want)
			}
		})
	}
}

func TestSealRefusesNonPDF(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, seal.ECDSA, false)
	if _, err := fx.sealer.Seal(context.Background(), []byte("%PDF-1.4 garbage"), appearance); err == nil {
		t.Fatal("sealed garbage")
	}
}

func TestTestPKISaveLoad(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, seal.ECDSA, false)
	dir := filepath.Join(t.TempDir(), "pki")
	if err := fx.pki.Save(dir); err != nil {
		t.Fatal(err)
	}
	loaded, err := seal.LoadTestPKI(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !loaded.Root.Equal(fx.pki.Root) || !loaded.SealChain[0].Equal(fx.pki.SealChain[0]) || !loaded.TSACert.Equal(fx.pki.TSACert) {
		t.Fatal("certificates differ after loading")
	}
	auth := &tsa.Authority{Cert: loaded.TSACert, Key: loaded.TSAKey}
	s := &seal.Sealer{Key: loaded.SealKey, Chain: loaded.SealChain, Timestamp: auth.Stamp}
	sealed, err := s.Seal(context.Background(), samplePDF(t, true), appearance)
	if err != nil {
		t.Fatal(err)
	}
	if res := newVerifier(fx).Verify(sealed); !res.Valid {
		t.Errorf("sealed with the loaded keys: %+v", res)
	}
}

// TestHostileInput feeds the verifier and the sealer files made to break a
// parser: they must answer, never panic or exhaust the stack.
func TestHostileInput(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, seal.ECDSA, false)
	v := newVerifier(fx)
	deep := "%PDF-1.7\n1 0 obj\n<< /ByteRange [0 1 2 3] /X " + strings.Repeat("[", 1_000_000) + "\nendobj\n"
	inputs := map[string]string{
		"deep nesting":       deep,
		"huge byte range":    "%PDF-1.7\n1 0 obj\n<< /ByteRange [0 10 20 9223372036854775800] /Contents <00> >>\nendobj\n",
		"negative range":     "%PDF-1.7\n1 0 obj\n<< /ByteRange [0 -5 20 3] >>\nendobj\n",
		"range past the end": "%PDF-1.7\n1 0 obj\n<< /ByteRange [0 10 900 10] >>\nendobj\n",
		"no object":          "%PDF-1.7\n/ByteRange [0 1 2 3]",
		"huge object stream": "%PDF-1.7\n5 0 obj\n<< /Type /ObjStm /N 999999999999 /First 0 /Length 0 >>\nstream\n\nendstream\nendobj\nxref\n0 6\n0000000000 65535 f \n0000000000 65535 f \n0000000000 65535 f \n0000000000 65535 f \n0000000000 65535 f \n0000000009 00000 n \ntrailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n88\n%%EOF\n",
	}
	for name, in := range inputs {
		if res := v.Verify([]byte(in)); res.Valid {
			t.Errorf("%s: valid", name)
		}
		if _, err := fx.sealer.Seal(context.Background(), []byte(in), appearance); err == nil {
			t.Errorf("%s: sealed", name)
		}
	}
}
