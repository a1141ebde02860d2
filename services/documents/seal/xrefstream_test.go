package seal_test

import (
	"bytes"
	"compress/zlib"
	"context"
	"fmt"
	"strings"
	"testing"
)

// objStreamPDF builds a PDF 1.5 file the way modern producers write it: the
// catalog, page tree and page in a compressed object stream, and a
// cross-reference stream with the PNG Up predictor instead of a table.
func objStreamPDF(t *testing.T) []byte {
	t.Helper()
	var out bytes.Buffer
	out.WriteString("%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
	offsets := map[int]int{}
	content := "BT /F1 14 Tf 72 760 Td (Registerauszug aus einem Objektstrom) Tj ET"
	offsets[4] = out.Len()
	fmt.Fprintf(&out, "4 0 obj\n<< /Length %d >>\nstream\n%s\nendstream\nendobj\n", len(content), content)
	// Objects 1 (catalog), 2 (pages), 3 (page), 6 (font) live in object stream 5.
	objs := []struct {
		num  int
		body string
	}{
		{1, "<< /Type /Catalog /Pages 2 0 R >>"},
		{2, "<< /Type /Pages /Kids [3 0 R] /Count 1 /MediaBox [0 0 595 842] >>"},
		{3, "<< /Type /Page /Parent 2 0 R /Contents 4 0 R /Resources << /Font << /F1 6 0 R >> >> >>"},
		{6, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"},
	}
	var head, body strings.Builder
	for _, o := range objs {
		fmt.Fprintf(&head, "%d %d ", o.num, body.Len())
		body.WriteString(o.body + "\n")
	}
	stm := deflate(t, []byte(head.String()+body.String()))
	offsets[5] = out.Len()
	fmt.Fprintf(&out, "5 0 obj\n<< /Type /ObjStm /N %d /First %d /Filter /FlateDecode /Length %d >>\nstream\n", len(objs), head.Len(), len(stm))
	out.Write(stm)
	out.WriteString("\nendstream\nendobj\n")
	// Cross-reference stream (object 7): rows of type(1) field2(4) field3(2).
	xrefAt := out.Len()
	rows := [][3]int{{0, 0, 65535}}
	index := map[int]int{1: 0, 2: 1, 3: 2, 6: 3}
	for n := 1; n <= 7; n++ {
		switch {
		case n == 7:
			rows = append(rows, [3]int{1, xrefAt, 0})
		case offsets[n] > 0:
			rows = append(rows, [3]int{1, offsets[n], 0})
		default:
			rows = append(rows, [3]int{2, 5, index[n]})
		}
	}
	var raw []byte
	prev := make([]byte, 7)
	for _, r := range rows {
		row := []byte{byte(r[0]), byte(r[1] >> 24), byte(r[1] >> 16), byte(r[1] >> 8), byte(r[1]), byte(r[2] >> 8), byte(r[2])}
		raw = append(raw, 2) // PNG Up
		for i := range row {
			raw = append(raw, row[i]-prev[i])
		}
		prev = row
	}
	xs := deflate(t, raw)
	fmt.Fprintf(&out, "7 0 obj\n<< /Type /XRef /Size 8 /W [1 4 2] /Root 1 0 R /Filter /FlateDecode /DecodeParms << /Predictor 12 /Columns 7 >> /Length %d >>\nstream\n", len(xs))
	out.Write(xs)
	fmt.Fprintf(&out, "\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", xrefAt)
	return out.Bytes()
}

func deflate(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	w := zlib.NewWriter(&out)
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestSealObjectStreamsAndTwice(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, "ecdsa", false)
	orig := objStreamPDF(t)
	if out := pdfsig(t, orig); !strings.Contains(out, "does not contain any signatures") {
		t.Fatalf("the hand-made PDF is not readable by poppler:\n%s", out)
	}
	once, err := fx.sealer.Seal(context.Background(), orig, appearance)
	if err != nil {
		t.Fatal(err)
	}
	if out := pdfsig(t, once); !strings.Contains(out, "Signature is Valid.") {
		t.Fatalf("pdfsig on a sealed PDF with object streams:\n%s", out)
	}
	twice, err := fx.sealer.Seal(context.Background(), once, appearance)
	if err != nil {
		t.Fatal(err)
	}
	out := pdfsig(t, twice)
	if strings.Count(out, "Signature is Valid.") != 2 || !strings.Contains(out, "Signature #2") {
		t.Fatalf("pdfsig on a PDF sealed twice:\n%s", out)
	}
	v := newVerifier(fx)
	if res := v.Verify(twice); !res.Valid {
		t.Errorf("own verifier on the second seal: %+v", res)
	}
}
