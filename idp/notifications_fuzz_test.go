package idp

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzLinkOfClient checks the filter for the links a service puts into a
// notification mail: an accepted link is an absolute http(s) URL without
// user info on exactly the scheme and host of one of the service's
// redirect URIs, and holds nothing a browser reads differently from Go
// (backslashes, whitespace, control characters).
func FuzzLinkOfClient(f *testing.F) {
	c := Client{ID: "forms", RedirectURIs: []string{"https://forms.example.ch/auth/callback", "http://127.0.0.1:8081/cb"}}
	for _, s := range []string{
		"https://forms.example.ch/drafts/1", "https://FORMS.example.ch/x", "http://forms.example.ch/x", "https://forms.example.ch:443/x",
		"https://forms.example.ch.evil.example/", "https://evil.example/?https://forms.example.ch/", "https://forms.example.ch@evil.example/",
		"https://evil.example\\@forms.example.ch/", "https://forms.example.ch\\.evil.example/", "//forms.example.ch/x", "/drafts/1",
		"javascript://forms.example.ch/%0aalert(1)", "https://forms.example.ch\t/x", "http://127.0.0.1:8081/x", "http://127.0.0.1:8082/x",
		"https://xn--frms-jua.example.ch/", "https://forms.example.ch%2F@evil.example/", "https://[::1]/", "", strings.Repeat("a", 2001),
		"https://forms.example.ch/a b", "https://forms.example.ch/a\\b", "https://forms.example.ch/übersicht",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, link string) {
		if !linkOfClient(c, link) {
			return
		}
		if strings.ContainsFunc(link, func(r rune) bool { return r <= ' ' || r >= 0x7f || r == '\\' }) || len(link) > 2000 {
			t.Fatalf("accepted %q", link)
		}
		u, err := url.Parse(link)
		if err != nil || u.User != nil || u.Opaque != "" || (u.Scheme != "https" && u.Scheme != "http") {
			t.Fatalf("accepted %q (%v)", link, err)
		}
		for _, r := range c.RedirectURIs {
			ru, _ := url.Parse(r)
			if ru.Scheme == strings.ToLower(u.Scheme) && strings.EqualFold(ru.Host, u.Host) {
				return
			}
		}
		t.Fatalf("accepted %q: not on an origin of the client", link)
	})
}
