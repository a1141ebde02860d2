package page

import (
	"bytes"
	"net/http"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzSniffUpload checks upload sniffing on arbitrary content: a file is
// accepted only as PDF, JPEG or PNG, only when it starts with that type's
// signature, and exactly when the standard library's sniffer
// (http.DetectContentType, RFC 7231 / WHATWG) names one of those types.
func FuzzSniffUpload(f *testing.F) {
	for _, s := range []string{"%PDF-1.7\n%âãÏÓ\n", "\xff\xd8\xff\xe0\x00\x10JFIF", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
		"%PDF", " %PDF-1.7", "<html>%PDF-", "GIF89a", "PK\x03\x04", "\x00\x00\x01\x00", "\xef\xbb\xbf%PDF-", "", "\x89PNG\r\n"} {
		f.Add([]byte(s))
	}
	accepted := []string{"application/pdf", "image/jpeg", "image/png"}
	f.Fuzz(func(t *testing.T, data []byte) {
		typ, ok := SniffUpload(data)
		std := http.DetectContentType(data)
		if ok != slices.Contains(accepted, std) || ok && typ != std {
			t.Fatalf("SniffUpload(%q) = %q, %v; DetectContentType says %q", data, typ, ok, std)
		}
		if !ok {
			if typ != "" {
				t.Fatalf("SniffUpload(%q) refused with type %q", data, typ)
			}
			return
		}
		magic := map[string]string{"application/pdf": "%PDF-", "image/jpeg": "\xff\xd8\xff", "image/png": "\x89PNG\r\n\x1a\n"}[typ]
		if !bytes.HasPrefix(data, []byte(magic)) {
			t.Fatalf("SniffUpload(%q) = %q without its signature", data, typ)
		}
	})
}

// FuzzFileName checks the cleaning of uploaded file names: the result is a
// non-empty base name of valid UTF-8, at most 100 runes, without path
// separators, control or bidi characters; cleaning it again changes
// nothing; a clean short name is kept as it is.
func FuzzFileName(f *testing.F) {
	for _, s := range []string{"scan.pdf", `C:\Users\anna\scan.pdf`, "../../etc/passwd", "rechnung\u202efdp.exe", "a\x00b.png",
		"\xff\xfe.pdf", strings.Repeat("ä", 150) + ".pdf", "", "/", ".", "..", " \t", "Zoë Müller – Beleg 1.jpg", "\u2066x\u2069.png"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := FileName(in)
		if got == "" || !utf8.ValidString(got) || utf8.RuneCountInString(got) > maxFileName || strings.ContainsAny(got, `/\`) ||
			got == "." || got == ".." {
			t.Fatalf("FileName(%q) = %q", in, got)
		}
		if strings.ContainsFunc(got, func(r rune) bool {
			return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029'
		}) {
			t.Fatalf("FileName(%q) = %q: a control character", in, got)
		}
		if again := FileName(got); again != got {
			t.Fatalf("FileName(%q) = %q, but FileName(%q) = %q", in, got, got, again)
		}
		if utf8.ValidString(in) && in == strings.TrimSpace(in) && in != "" && in != "." && in != ".." &&
			utf8.RuneCountInString(in) <= maxFileName && !strings.ContainsFunc(in, func(r rune) bool {
			return r == '/' || r == '\\' || unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) ||
				r == '\u2028' || r == '\u2029' || r == '\ufeff'
		}) && got != in {
			t.Fatalf("FileName(%q) = %q; a clean name must be kept", in, got)
		}
	})
}

// TestFileName: forms kept the last 200 bytes of a name (which can cut a
// character in two) and both services kept bidi overrides, so that
// "rechnung\u202efdp.exe" read as "rechnungexe.pdf".
func TestFileName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"rechnung\u202efdp.exe":                     "rechnungfdp.exe",
		`C:\fakepath\Beleg 1.pdf`:                   "Beleg 1.pdf",
		strings.Repeat("ä", 150) + ".pdf":           strings.Repeat("ä", 96) + ".pdf",
		"x" + strings.Repeat("ä", 100) + "\xff.png": strings.Repeat("ä", 95) + "\uFFFD.png",
		"a\x00b\u0085c.jpg":                         "abc.jpg",
		"../..":                                     "datei",
	} {
		if got := FileName(in); got != want {
			t.Errorf("FileName(%q) = %q, want %q", in, got, want)
		}
	}
}
