package webkit_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/kanton/kundencenter/webkit"
)

func TestHeaders(t *testing.T) {
	t.Parallel()
	var seen string
	h := webkit.Headers{CSP: "default-src 'none'; frame-ancestors 'none'", HSTS: true,
		Cacheable: func(p string) bool { return strings.HasPrefix(p, "/static/") }}.
		Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = webkit.RequestID(r.Context()) }))
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, tc := range []struct {
		path      string
		wantCache string
	}{{"/page", "no-store"}, {"/static/a.css", ""}} {
		resp, err := http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		hd := resp.Header
		for k, want := range map[string]string{
			"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
			"Cross-Origin-Opener-Policy": "same-origin", "Strict-Transport-Security": webkit.HSTS,
			"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'", "Cache-Control": tc.wantCache,
		} {
			if got := hd.Get(k); got != want {
				t.Errorf("%s: %s = %q, want %q", tc.path, k, got, want)
			}
		}
		if id := hd.Get("X-Request-ID"); id == "" || id != seen {
			t.Errorf("%s: X-Request-ID %q, handler saw %q", tc.path, id, seen)
		}
	}
}

func TestHeadersWithoutTLS(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	webkit.Headers{CSP: "default-src 'none'"}.Wrap(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if got := rec.Header().Get("Strict-Transport-Security"); got != "" {
		t.Errorf("HSTS without TLS: %q", got)
	}
}

func TestClientIP(t *testing.T) {
	t.Parallel()
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	for _, tc := range []struct {
		remote, xff string
		trusted     []netip.Prefix
		want        string
	}{
		{"192.0.2.1:5000", "198.51.100.7", nil, "192.0.2.1"},                              // not a proxy: header ignored
		{"10.0.0.5:5000", "198.51.100.7", proxies, "198.51.100.7"},                        // trusted proxy
		{"10.0.0.5:5000", "203.0.113.9, 198.51.100.7, 10.0.0.6", proxies, "198.51.100.7"}, // right-most untrusted
		{"10.0.0.5:5000", "garbage", proxies, "10.0.0.5"},
		{"[2001:db8::1]:443", "", nil, "2001:db8::1"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := webkit.ClientIP(r, tc.trusted); got != tc.want {
			t.Errorf("ClientIP(%s, XFF %q) = %q, want %q", tc.remote, tc.xff, got, tc.want)
		}
	}
}

func TestFormGuard(t *testing.T) {
	t.Parallel()
	var refused []error
	g := &webkit.FormGuard{
		Token: func(r *http.Request) string {
			c, _ := r.Cookie("s")
			if c == nil {
				return ""
			}
			return "tok-" + c.Value
		},
		Refuse: func(w http.ResponseWriter, r *http.Request, err error) {
			refused = append(refused, err)
			w.WriteHeader(403)
		},
		MaxBody: func(*http.Request) int64 { return 2048 },
	}
	srv := httptest.NewServer(g.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.PostFormValue("x"))
	})))
	defer srv.Close()
	post := func(body io.Reader, ctype string, hdr map[string]string) (int, string) {
		req, _ := http.NewRequest("POST", srv.URL+"/f", body)
		req.Header.Set("Content-Type", ctype)
		req.AddCookie(&http.Cookie{Name: "s", Value: "abc"})
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	form := func(v url.Values) io.Reader { return strings.NewReader(v.Encode()) }
	const urlenc = "application/x-www-form-urlencoded"

	if st, body := post(form(url.Values{"csrf": {"tok-abc"}, "x": {"1"}}), urlenc, nil); st != 200 || body != "1" {
		t.Errorf("valid form: %d %q", st, body)
	}
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	mw.WriteField("csrf", "tok-abc")
	mw.WriteField("x", "2")
	mw.Close()
	if st, body := post(&mp, mw.FormDataContentType(), nil); st != 200 || body != "2" {
		t.Errorf("valid multipart form: %d %q", st, body)
	}
	cases := []struct {
		name string
		body io.Reader
		hdr  map[string]string
		want error
	}{
		{"wrong token", form(url.Values{"csrf": {"tok-abd"}}), nil, webkit.ErrFormToken},
		{"no token", form(url.Values{"x": {"1"}}), nil, webkit.ErrFormToken},
		{"cross-site", form(url.Values{"csrf": {"tok-abc"}}), map[string]string{"Sec-Fetch-Site": "cross-site"}, webkit.ErrCrossOrigin},
		{"too large", form(url.Values{"csrf": {"tok-abc"}, "x": {strings.Repeat("a", 4096)}}), nil, webkit.ErrFormBody},
	}
	for _, tc := range cases {
		refused = nil
		if st, _ := post(tc.body, urlenc, tc.hdr); st != 403 || len(refused) != 1 || !errors.Is(refused[0], tc.want) {
			t.Errorf("%s: status %d, refused %v, want %v", tc.name, st, refused, tc.want)
		}
	}
	var tooLarge *http.MaxBytesError
	if !errors.As(refused[0], &tooLarge) {
		t.Errorf("too large: %v is not a *http.MaxBytesError", refused[0])
	}
	resp, err := http.Get(srv.URL + "/f?x=3")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET is not guarded: %d", resp.StatusCode)
	}
}

func TestTokenEqual(t *testing.T) {
	t.Parallel()
	if webkit.TokenEqual("", "") || !webkit.TokenEqual("a", "a") || webkit.TokenEqual("a", "b") {
		t.Error("TokenEqual")
	}
}

func TestMatch(t *testing.T) {
	t.Parallel()
	errA, errB := errors.New("a"), errors.New("b")
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	area := []webkit.Case{{Err: errA, Status: 404, Key: "area.a"}}
	common := []webkit.Case{{Err: errA, Status: 400, Key: "common.a"}, webkit.Case{Err: errB, Status: 503, Key: "common.b"}.LogAt(slog.LevelWarn)}
	ctx := t.Context()
	if c := webkit.Match(ctx, log, fmt.Errorf("x: %w", errA), "fallback", area, common); c.Status != 404 || c.Key != "area.a" {
		t.Errorf("area first: %+v", c)
	}
	if c := webkit.Match(ctx, log, errB, "fallback", area, common); c.Status != 503 || !strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("logged case: %+v, log %q", c, logs.String())
	}
	if c := webkit.Match(ctx, log, errors.New("boom"), "fallback"); c.Status != 500 || c.Key != "fallback" || !strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("unknown error: %+v", c)
	}
}
