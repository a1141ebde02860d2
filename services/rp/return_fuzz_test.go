package rp

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzSafeReturn checks the return-path filter on arbitrary input: the
// result is always a same-origin path (resolved against the site it stays
// on the site, in a browser's reading too), never a login route, free of
// control characters and backslashes, and filtering it again changes
// nothing.
func FuzzSafeReturn(f *testing.F) {
	for _, s := range []string{
		"/", "/cases/42?tab=history", "/cases#top", "", "cases", "//evil.example", "http://evil.example/",
		"javascript:alert(1)", `/\evil.example`, "/\t/evil.example", "/x\r\nSet-Cookie: a=b", "/%2F/evil.example",
		"/%2f%2fevil.example", "/./evil", "/../../etc", "/a/..//evil.example", "/%5Cevil.example", "/?next=//evil",
		"/auth/login", "/auth/callback?x=1", "/auth/logout", "///evil.example", "/\u3000/evil", "/@evil.example",
		"/:80", "/a:b", "/%00", "/%", "/é", "/\xff", LoginPath + "/", strings.Repeat("/a", 1025),
	} {
		f.Add(s)
	}
	site, _ := url.Parse("https://site.example/start/here")
	f.Fuzz(func(t *testing.T, raw string) {
		got := safeReturn(raw)
		if got == "" || got[0] != '/' || strings.HasPrefix(got, "//") || strings.ContainsAny(got, "\\#") {
			t.Fatalf("safeReturn(%q) = %q: not a plain local path", raw, got)
		}
		for _, r := range got {
			if r < 0x20 || r == 0x7f {
				t.Fatalf("safeReturn(%q) = %q: a control character", raw, got)
			}
		}
		ref, err := url.Parse(got)
		if err != nil {
			t.Fatalf("safeReturn(%q) = %q, which does not parse: %v", raw, got, err)
		}
		if u := site.ResolveReference(ref); u.Scheme != site.Scheme || u.Host != site.Host || u.User != nil {
			t.Fatalf("safeReturn(%q) = %q leaves the site: %s", raw, got, u)
		}
		// Browsers also treat tabs, newlines and a backslash like "/" and
		// fold "/%2F" never; a second slash after decoding must not appear.
		if p, err := url.PathUnescape(ref.EscapedPath()); err == nil && strings.HasPrefix(p, "//") {
			t.Fatalf("safeReturn(%q) = %q decodes to a protocol-relative path", raw, got)
		}
		switch ref.Path {
		case LoginPath, CallbackPath, LogoutPath, LoggedOutPath:
			if got != "/" {
				t.Fatalf("safeReturn(%q) = %q: a login route", raw, got)
			}
		}
		if again := safeReturn(got); again != got {
			t.Fatalf("safeReturn(safeReturn(%q)) = %q, want %q (not idempotent)", raw, again, got)
		}
	})
}
