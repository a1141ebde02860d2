package seal

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/skip2/go-qrcode"
	"golang.org/x/text/encoding/charmap"
)

// TimestampFunc obtains an RFC 3161 time-stamp token (the DER of its
// ContentInfo) for a SHA-256 digest; see package tsa for a client and a local
// authority.
type TimestampFunc func(ctx context.Context, digest []byte) ([]byte, error)

// Sealer applies the authority's electronic seal to PDF files: a PAdES
// baseline B-T signature (/SubFilter /ETSI.CAdES.detached, ESS
// signing-certificate-v2, no CMS signing-time, RFC 3161 signature time-stamp)
// appended as an incremental update, with a visible seal block on page 1.
type Sealer struct {
	Key       crypto.Signer       // the seal key (a PEM file in development, an HSM later)
	Chain     []*x509.Certificate // seal certificate first, then its intermediates
	Timestamp TimestampFunc       // required for B-T
	Now       func() time.Time    // the claimed signing time (/M); time.Now when nil
	Location  string
	Reason    string
}

// Appearance is the visible seal block on page 1.
type Appearance struct {
	Title string   // e.g. "Elektronisch gesiegelt"
	Lines []string // further lines (issuer, hint to verify)
	Link  string   // verification URL, printed and encoded in the QR code
}

const (
	blockW, blockH = 260.0, 86.0
	blockMargin    = 24.0
	qrSize         = 74.0
)

// Seal returns pdf with the seal appended; the original bytes are an
// unchanged prefix of the result.
func (s *Sealer) Seal(ctx context.Context, pdf []byte, ap Appearance) ([]byte, error) {
	if s.Key == nil || len(s.Chain) == 0 {
		return nil, errors.New("seal: key or certificate missing")
	}
	if s.Timestamp == nil {
		return nil, errors.New("seal: no timestamp authority configured")
	}
	doc, err := parsePDF(pdf)
	if err != nil {
		return nil, err
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	reserve := 12 << 10
	for range 3 {
		out, contentsAt, err := s.increment(doc, ap, now(), reserve)
		if err != nil {
			return nil, err
		}
		cms, err := s.sign(ctx, out, contentsAt, reserve)
		if err != nil {
			return nil, err
		}
		if len(cms) > reserve {
			reserve = len(cms) + 2048
			continue
		}
		hex := fmt.Appendf(nil, "%X", cms)
		copy(out[contentsAt+1:], hex)
		return out, nil
	}
	return nil, errors.New("seal: signature does not fit")
}

// sign fills in the /ByteRange and returns the CMS over it.
func (s *Sealer) sign(ctx context.Context, out []byte, contentsAt, reserve int) ([]byte, error) {
	gapEnd := contentsAt + 2 + 2*reserve
	br := fmt.Sprintf("0 %d %d %d", contentsAt, gapEnd, len(out)-gapEnd)
	i := bytes.LastIndex(out[:contentsAt], []byte(byteRangePlaceholder))
	if i < 0 || len(br) > len(byteRangePlaceholder) {
		return nil, errors.New("seal: byte range placeholder lost")
	}
	copy(out[i:], br+strings.Repeat(" ", len(byteRangePlaceholder)-len(br)))
	h := sha256.New()
	h.Write(out[:contentsAt])
	h.Write(out[gapEnd:])
	ts := func(d []byte) ([]byte, error) { return s.Timestamp(ctx, d) }
	return buildCMS(h.Sum(nil), s.Key, s.Chain, ts)
}

const byteRangePlaceholder = "0 0000000000 0000000000 0000000000"

// increment builds the file with the incremental update and an empty
// /Contents of reserve bytes; it returns the offset of the '<' of /Contents.
func (s *Sealer) increment(doc *document, ap Appearance, at time.Time, reserve int) ([]byte, int, error) {
	pageRef, page, box, err := doc.firstPage()
	if err != nil {
		return nil, 0, err
	}
	rootRef := doc.trailer["Root"].(ref)
	root := doc.dictOf(rootRef)
	if root == nil {
		return nil, 0, fmt.Errorf("%w: catalog unreadable", ErrNotPDF)
	}
	size, _ := doc.trailer["Size"].(int64)
	for n := range doc.xref {
		size = max(size, int64(n)+1)
	}
	next := int(size)
	alloc := func() ref { r := ref{next, 0}; next++; return r }
	sigRef, widgetRef, apRef, qrRef, linkRef := alloc(), alloc(), alloc(), alloc(), alloc()

	x1, y1 := box[2]-blockMargin, box[3]-blockMargin
	rect := []any{x1 - blockW, y1 - blockH, x1, y1}

	out := bytes.NewBuffer(append([]byte(nil), doc.data...))
	offsets := map[int]int{}
	begin := func(r ref) {
		if b := out.Bytes(); b[len(b)-1] != '\n' {
			out.WriteByte('\n')
		}
		offsets[r.num] = out.Len()
		fmt.Fprintf(out, "%d %d obj\n", r.num, r.gen)
	}
	writeObj := func(r ref, v any) {
		begin(r)
		writeObject(out, v)
		out.WriteString("\nendobj\n")
	}
	writeStream := func(r ref, d dict, data []byte) {
		begin(r)
		d["Length"] = int64(len(data))
		writeObject(out, d)
		out.WriteString("\nstream\n")
		out.Write(data)
		out.WriteString("\nendstream\nendobj\n")
	}

	// The signature dictionary, with placeholders.
	sig := dict{
		"Type":      name("Sig"),
		"Filter":    name("Adobe.PPKLite"),
		"SubFilter": name("ETSI.CAdES.detached"),
		"ByteRange": raw("[" + byteRangePlaceholder + "]"),
		"M":         "D:" + at.UTC().Format("20060102150405") + "Z",
		"Name":      textString(s.Chain[0].Subject.CommonName),
	}
	if s.Reason != "" {
		sig["Reason"] = textString(s.Reason)
	}
	if s.Location != "" {
		sig["Location"] = textString(s.Location)
	}
	begin(sigRef)
	var sb bytes.Buffer
	writeObject(&sb, sig)
	// /Contents goes last so that its offset is easy to find.
	sd := sb.String()
	sd = strings.TrimSuffix(sd, ">>") + "/Contents "
	out.WriteString(sd)
	contentsAt := out.Len()
	out.WriteByte('<')
	out.Write(bytes.Repeat([]byte("0"), 2*reserve))
	out.WriteString(">>>\nendobj\n")

	writeObj(widgetRef, dict{
		"Type": name("Annot"), "Subtype": name("Widget"), "FT": name("Sig"),
		"T": fmt.Sprintf("Siegel%d", sigRef.num), "V": sigRef, "F": int64(4 | 128),
		"Rect": rect, "P": pageRef, "AP": dict{"N": apRef},
	})
	stream, err := appearanceStream(ap, at)
	if err != nil {
		return nil, 0, err
	}
	writeStream(apRef, dict{
		"Type": name("XObject"), "Subtype": name("Form"), "BBox": []any{0.0, 0.0, blockW, blockH},
		"Resources": dict{
			"Font": dict{
				"F1": dict{"Type": name("Font"), "Subtype": name("Type1"), "BaseFont": name("Helvetica"), "Encoding": name("WinAnsiEncoding")},
				"F2": dict{"Type": name("Font"), "Subtype": name("Type1"), "BaseFont": name("Helvetica-Bold"), "Encoding": name("WinAnsiEncoding")},
			},
			"XObject": dict{"QR": qrRef},
		},
	}, stream)
	qrData, qrN, err := qrImage(ap.Link)
	if err != nil {
		return nil, 0, err
	}
	writeStream(qrRef, dict{
		"Type": name("XObject"), "Subtype": name("Image"), "Width": int64(qrN), "Height": int64(qrN),
		"ColorSpace": name("DeviceGray"), "BitsPerComponent": int64(8), "Filter": name("FlateDecode"),
	}, qrData)
	annots := []any{widgetRef}
	if ap.Link != "" {
		writeObj(linkRef, dict{
			"Type": name("Annot"), "Subtype": name("Link"), "Rect": rect, "Border": []any{int64(0), int64(0), int64(0)},
			"A": dict{"S": name("URI"), "URI": ap.Link},
		})
		annots = append(annots, linkRef)
	}

	// Page 1 gets the annotations, the catalog the signature field.
	newPage := dict{}
	for k, v := range page {
		newPage[k] = v
	}
	if old, err := doc.resolve(page["Annots"]); err == nil {
		if arr, ok := old.([]any); ok {
			annots = append(append([]any{}, arr...), annots...)
		}
	}
	newPage["Annots"] = annots
	writeObj(pageRef, newPage)

	newRoot := dict{}
	for k, v := range root {
		newRoot[k] = v
	}
	form := dict{}
	if old := doc.dictOf(root["AcroForm"]); old != nil {
		for k, v := range old {
			form[k] = v
		}
	}
	var fields []any
	if old, err := doc.resolve(form["Fields"]); err == nil {
		if arr, ok := old.([]any); ok {
			fields = append(fields, arr...)
		}
	}
	form["Fields"] = append(fields, widgetRef)
	form["SigFlags"] = int64(3)
	if formRef, ok := root["AcroForm"].(ref); ok {
		writeObj(formRef, form)
	} else {
		newRoot["AcroForm"] = form
	}
	writeObj(rootRef, newRoot)

	// Cross-reference section and trailer.
	if b := out.Bytes(); b[len(b)-1] != '\n' {
		out.WriteByte('\n')
	}
	xrefAt := out.Len()
	out.WriteString("xref\n0 1\n0000000000 65535 f \n")
	nums := make([]int, 0, len(offsets))
	for n := range offsets {
		nums = append(nums, n)
	}
	sortInts(nums)
	for i := 0; i < len(nums); {
		j := i
		for j+1 < len(nums) && nums[j+1] == nums[j]+1 {
			j++
		}
		fmt.Fprintf(out, "%d %d\n", nums[i], j-i+1)
		for k := i; k <= j; k++ {
			fmt.Fprintf(out, "%010d %05d n \n", offsets[nums[k]], 0)
		}
		i = j + 1
	}
	trailer := dict{"Size": int64(next), "Root": rootRef, "Prev": doc.startxref}
	for _, k := range []string{"Info", "ID"} {
		if v, ok := doc.trailer[k]; ok {
			trailer[k] = v
		}
	}
	out.WriteString("trailer\n")
	writeObject(out, trailer)
	fmt.Fprintf(out, "\nstartxref\n%d\n%%%%EOF\n", xrefAt)
	return out.Bytes(), contentsAt, nil
}

func sortInts(a []int) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// textString encodes a PDF text string: ASCII as is, anything else as
// UTF-16BE with a byte order mark.
func textString(s string) any {
	ascii := true
	for _, r := range s {
		if r > 0x7e || r < 0x20 {
			ascii = false
		}
	}
	if ascii {
		return s
	}
	b := []byte{0xfe, 0xff}
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u>>8), byte(u))
	}
	return b
}

// winAnsi encodes s for the WinAnsiEncoding core fonts and escapes it as a
// PDF literal string.
func winAnsi(s string) string {
	enc, err := charmap.Windows1252.NewEncoder().String(s)
	if err != nil {
		enc = strings.Map(func(r rune) rune {
			if r > 0x7e {
				return '?'
			}
			return r
		}, s)
	}
	var b strings.Builder
	b.WriteByte('(')
	for _, c := range []byte(enc) {
		switch {
		case c == '(' || c == ')' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c > 0x7e:
			fmt.Fprintf(&b, "\\%03o", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(')')
	return b.String()
}

// appearanceStream draws the seal block: frame, QR code, title, lines.
func appearanceStream(ap Appearance, at time.Time) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "q 0.96 0.97 0.99 rg 0.11 0.27 0.53 RG 1 w 0.5 0.5 %.1f %.1f re B Q\n", blockW-1, blockH-1)
	fmt.Fprintf(&b, "q %.1f 0 0 %.1f 6 6 cm /QR Do Q\n", qrSize, qrSize)
	x := 6 + qrSize + 8
	title := ap.Title
	if title == "" {
		title = "Elektronisch gesiegelt"
	}
	fmt.Fprintf(&b, "BT 0.11 0.27 0.53 rg /F2 9.5 Tf %.1f %.1f Td %s Tj ET\n", x, blockH-16, winAnsi(title))
	y := blockH - 29
	lines := append(append([]string{}, ap.Lines...), at.UTC().Format("2006-01-02 15:04 UTC"))
	for _, l := range lines {
		for _, part := range wrap(l, 40) {
			if y < 6 {
				break
			}
			fmt.Fprintf(&b, "BT 0 g /F1 7 Tf %.1f %.1f Td %s Tj ET\n", x, y, winAnsi(part))
			y -= 9
		}
	}
	return b.Bytes(), nil
}

// wrap splits s into pieces of at most n characters, at spaces or slashes
// where possible.
func wrap(s string, n int) []string {
	var out []string
	r := []rune(s)
	for len(r) > n {
		cut := n
		for i := n; i > n/2; i-- {
			if r[i-1] == ' ' || r[i-1] == '/' || r[i-1] == '?' {
				cut = i
				break
			}
		}
		out = append(out, strings.TrimSpace(string(r[:cut])))
		r = r[cut:]
	}
	return append(out, string(r))
}

// qrImage renders link as an 8-bit gray image with a quiet zone, deflated.
func qrImage(link string) ([]byte, int, error) {
	if link == "" {
		link = "-"
	}
	q, err := qrcode.New(link, qrcode.Medium)
	if err != nil {
		return nil, 0, fmt.Errorf("seal QR code: %w", err)
	}
	bm := q.Bitmap() // includes a 4-module quiet zone
	n := len(bm)
	var pix bytes.Buffer
	zw := zlib.NewWriter(&pix)
	row := make([]byte, n)
	for _, line := range bm {
		for i, black := range line {
			row[i] = 0xff
			if black {
				row[i] = 0
			}
		}
		zw.Write(row)
	}
	if err := zw.Close(); err != nil {
		return nil, 0, err
	}
	return pix.Bytes(), n, nil
}
