package seal_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/kanton/kundencenter/services/documents/seal"
)

var problemCodes = []string{seal.NoSignature, seal.Malformed, seal.DigestMismatch, seal.BadSignature, seal.NotCovered,
	seal.Untrusted, seal.NotDocSigning, seal.NoTimestamp, seal.BadTimestamp, seal.NotPAdESBaseline, seal.SigningTimeAttr}

// FuzzVerify checks the seal verification (the public "Dokument prüfen"
// upload) on arbitrary files: no panic; a result is valid exactly when it
// has no problem, and then intact, trusted and time-stamped; an invalid
// result names at least one known problem; bytes appended to a valid
// document make it invalid. Whatever PDF the sealer accepts, its sealed
// output verifies as valid (the sealer and verifier agree).
func FuzzVerify(f *testing.F) {
	fx := newFixture(f, seal.ECDSA, false)
	v := newVerifier(fx)
	plain := samplePDF(f, false)
	sealed, err := fx.sealer.Seal(context.Background(), samplePDF(f, true), appearance)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sealed)
	f.Add(plain)
	f.Add(append(sealed[:len(sealed):len(sealed)], "\n%%EOF\n"...))
	f.Add(sealed[:len(sealed)/2])
	for _, s := range []string{
		"%PDF-1.7\n1 0 obj\n<< /ByteRange [0 10 20 9223372036854775800] /Contents <00> >>\nendobj\n",
		"%PDF-1.7\n1 0 obj\n<< /ByteRange [0 -5 20 3] >>\nendobj\n",
		"%PDF-1.7\n1 0 obj\n<< /ByteRange [0 10 900 10] >>\nendobj\n",
		"%PDF-1.7\n/ByteRange [0 1 2 3]", "%PDF-1.7\n1 0 obj\n<< /X " + strings.Repeat("[", 1000) + "\nendobj\n",
		"%PDF-1.7\n5 0 obj\n<< /Type /ObjStm /N 999999999999 /First 0 /Length 0 >>\nstream\n\nendstream\nendobj\n", "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, pdf []byte) {
		res := v.Verify(pdf)
		check := func(what string, res seal.Result) {
			if res.Valid != (len(res.Problems) == 0) {
				t.Fatalf("%s: Valid = %v with problems %q", what, res.Valid, res.Problems)
			}
			if res.Valid && (!res.Intact || !res.Trusted || res.SignedAt.IsZero()) {
				t.Fatalf("%s: valid, but %+v", what, res)
			}
			for _, p := range res.Problems {
				if !slices.Contains(problemCodes, p) {
					t.Fatalf("%s: unknown problem %q", what, p)
				}
			}
		}
		check("input", res)
		if res.Valid {
			if more := v.Verify(append(slices.Clip(pdf), " "...)); more.Valid {
				t.Fatal("a valid document with a byte appended is still valid")
			}
		}
		out, err := fx.sealer.Seal(context.Background(), pdf, appearance)
		if err != nil {
			return
		}
		res = v.Verify(out)
		check("sealed", res)
		if !res.Valid {
			t.Fatalf("the sealer accepted the input, but its output does not verify: %q", res.Problems)
		}
	})
}
