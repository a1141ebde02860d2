package idptest

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// Result is a fetched page: its final URL, status and body.
type Result struct {
	Resp *http.Response
	Body string
}

// URL is where the browser ended up (after redirects inside the IdP), or
// the Location of a redirect that leaves it.
func (r Result) URL() *url.URL {
	if loc := r.Resp.Header.Get("Location"); r.Resp.StatusCode/100 == 3 && loc != "" {
		u, _ := r.Resp.Request.URL.Parse(loc)
		return u
	}
	return r.Resp.Request.URL
}

// Open fetches a page of the IdP (path or absolute URL).
func (b *Browser) Open(t testing.TB, page string) Result {
	t.Helper()
	if strings.HasPrefix(page, "/") {
		page = b.env.URL + page
	}
	resp, err := b.Client.Get(page)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return Result{Resp: resp, Body: string(body)}
}

// Submit posts a form to action (a path) the way a browser submits a form
// of page: with the CSRF token of the page and a same-origin Origin header.
func (b *Browser) Submit(t testing.TB, page, action string, form url.Values) Result {
	t.Helper()
	if strings.HasPrefix(page, "/") {
		page = b.env.URL + page
	}
	csrf := b.CSRF(t, page)
	return b.Post(t, action, csrf, form)
}

// Post posts a form with the given CSRF token.
func (b *Browser) Post(t testing.TB, action, csrf string, form url.Values) Result {
	t.Helper()
	f := url.Values{}
	for k, v := range form {
		f[k] = v
	}
	f.Set("csrf", csrf)
	req, _ := http.NewRequest(http.MethodPost, b.env.URL+action, strings.NewReader(f.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.env.URL)
	resp, err := b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return Result{Resp: resp, Body: string(body)}
}

// Field returns the value of the hidden or text input name on the page ("" if none).
func (r Result) Field(name string) string {
	m := regexp.MustCompile(`name="` + regexp.QuoteMeta(name) + `" value="([^"]*)"`).FindStringSubmatch(r.Body)
	if m == nil {
		return ""
	}
	return htmlUnescape(m[1])
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'", "&#43;", "+").Replace(s)
}
