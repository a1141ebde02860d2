package page

import (
	"bytes"
	"strings"
	"unicode"
)

// uploadTypes are the file types the services accept from people, by
// their first bytes (never by the name or the declared type).
var uploadTypes = []struct {
	magic []byte
	typ   string
}{
	{[]byte("%PDF-"), "application/pdf"},
	{[]byte{0xFF, 0xD8, 0xFF}, "image/jpeg"},
	{[]byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}, "image/png"},
}

// SniffUpload returns the content type of an uploaded file by its content:
// PDF, JPEG or PNG; false for anything else.
func SniffUpload(data []byte) (string, bool) {
	for _, t := range uploadTypes {
		if bytes.HasPrefix(data, t.magic) {
			return t.typ, true
		}
	}
	return "", false
}

// maxFileName is the longest file name kept, in runes.
const maxFileName = 100

// FileName returns the name of an uploaded file fit to store and show: its
// base name (after the last / or \), valid UTF-8, without control, bidi
// control or line-separator characters (a right-to-left override makes
// "rechnung\u202efdp.exe" read as "rechnungexe.pdf"), at most 100 runes
// (the end, with the extension, is kept); "datei" when nothing is left.
func FileName(name string) string {
	name = name[strings.LastIndexAny(name, `/\`)+1:]
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029' || r == '\ufeff' {
			return -1
		}
		return r
	}, strings.ToValidUTF8(name, "\uFFFD"))
	name = strings.TrimSpace(name)
	if r := []rune(name); len(r) > maxFileName {
		name = strings.TrimSpace(string(r[len(r)-maxFileName:]))
	}
	if name == "" || name == "." || name == ".." {
		return "datei"
	}
	return name
}
