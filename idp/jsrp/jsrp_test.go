package jsrp_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
)

const (
	clientID = "jsrp"
	secret   = "jsrp-secret-jsrp-secret-jsrp-secret-0001"
	email    = "anna.muster@example.ch"
	password = "Sonnenblume-Aare-42"
)

// rp is the openid-client relying party in testdata/rp.mjs.
type rp struct {
	base string
}

// startRP starts the Node relying party. A missing Node or a missing
// `npm ci` fails the test: this client is the independent check that the
// provider works with a strict standard library, it is never skipped.
func startRP(t *testing.T, issuer string) *rp {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed: the strict JavaScript relying party cannot run (install Node.js 20 or newer)")
	}
	dir, _ := filepath.Abs("testdata")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "openid-client", "package.json")); err != nil {
		t.Fatalf("openid-client is not installed: run `npm ci --prefix %s` (scripts/test does)", dir)
	}
	cmd := exec.Command(node, "rp.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "ISSUER="+issuer, "CLIENT_ID="+clientID, "CLIENT_SECRET="+secret)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderrPath := filepath.Join(t.TempDir(), "stderr")
	stderrFile, err := os.Create(stderrPath)
	if err != nil {
		t.Fatal(err)
	}
	defer stderrFile.Close() // the child has its own copy
	cmd.Stderr = stderrFile
	stderr := func() string { b, _ := os.ReadFile(stderrPath); return string(b) }
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close() // rp.mjs exits at the end of its input
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() && stderr() != "" {
			t.Logf("rp.mjs stderr:\n%s", stderr())
		}
	})
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if base, ok := strings.CutPrefix(sc.Text(), "LISTEN "); ok {
				line <- base
			}
		}
	}()
	select {
	case base := <-line:
		return &rp{base: base}
	case <-time.After(30 * time.Second):
		t.Fatalf("rp.mjs did not start: %s", stderr())
	}
	return nil
}

// call makes a request to the relying party and decodes its JSON answer.
func (r *rp) call(t *testing.T, method, path string, q url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, r.base+path+"?"+q.Encode(), nil)
	return r.do(t, req)
}

func (r *rp) do(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("%s: %d %.300s", req.URL.Path, resp.StatusCode, body)
	}
	return resp.StatusCode, out
}

// login starts a login at the relying party in browser b; if the IdP
// shows its login page, the password is entered. It returns the relying
// party's verdict on the callback and whether the login page was shown.
func (r *rp) login(t *testing.T, b *idptest.Browser, q url.Values) (map[string]any, bool) {
	t.Helper()
	resp, err := b.Get(r.base + "/login?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var cb *url.URL
	asked := false
	if loc := resp.Header.Get("Location"); resp.StatusCode/100 == 3 && loc != "" {
		cb, _ = url.Parse(loc) // SSO: straight back to the relying party
	} else {
		if resp.Request.URL.Path != "/login" {
			t.Fatalf("login ended on %s (%d)", resp.Request.URL, resp.StatusCode)
		}
		asked = true
		cb = b.Login(t, resp.Request.URL.Query().Get("authRequestID"), email, password)
	}
	if !strings.HasPrefix(cb.String(), r.base+"/cb") {
		t.Fatalf("redirected to %s", cb)
	}
	req, _ := http.NewRequest(http.MethodGet, cb.String(), nil)
	code, out := r.do(t, req)
	if code != http.StatusOK {
		t.Fatalf("openid-client refused the authorization response %s: %v", cb, out)
	}
	return out, asked
}

func field(m map[string]any, path ...string) any {
	var v any = m
	for _, p := range path {
		mm, _ := v.(map[string]any)
		v = mm[p]
	}
	return v
}

// setup starts a provider and the relying party, registered as a
// confidential client, and an account.
func setup(t *testing.T) (*idptest.Env, *rp) {
	t.Helper()
	env := idptest.Start(t, idptest.Options{})
	r := startRP(t, env.URL)
	env.AddClient(t, idp.Client{ID: clientID, RedirectURIs: []string{r.base + "/cb"},
		PostLogoutRedirectURIs: []string{r.base + "/logged-out"},
		GrantTypes:             []string{idp.GrantAuthorizationCode, idp.GrantRefreshToken}}, secret)
	env.CreateAccount(t, "Anna", "Muster", email, password)
	return env, r
}

// TestStrictRelyingParty runs openid-client (Node) against the provider:
// code flow with PKCE, userinfo, introspection, refresh, re-authentication
// with max_age=0 and prompt=login (auth_time checked by the library
// against the real clock), revocation ending the grant, and RP-initiated
// logout.
func TestStrictRelyingParty(t *testing.T) {
	t.Parallel()
	env, r := setup(t)
	b := env.NewBrowser(t)

	// Code flow with PKCE, nonce, state and iss; then userinfo.
	out, asked := r.login(t, b, nil)
	sub, _ := field(out, "claims", "sub").(string)
	if !asked || sub == "" || field(out, "claims", "iss") != env.URL || field(out, "userinfo", "email") != email ||
		field(out, "userinfo", "sub") != sub {
		t.Fatalf("first login: %v", out)
	}
	at, _ := field(out, "tokens", "access_token").(string)
	rt, _ := field(out, "tokens", "refresh_token").(string)
	firstAuth, _ := field(out, "claims", "auth_time").(float64)
	idToken, _ := field(out, "tokens", "id_token").(string)

	// Introspection.
	code, in := r.call(t, http.MethodPost, "/introspect", url.Values{"token": {at}})
	if code != 200 || in["active"] != true || in["client_id"] != clientID || in["sub"] != sub {
		t.Fatalf("introspection: %d %v", code, in)
	}

	// Refresh: rotated, an ID token for the same subject.
	code, ref := r.call(t, http.MethodPost, "/refresh", url.Values{"refresh_token": {rt}})
	rt2, _ := field(ref, "tokens", "refresh_token").(string)
	at2, _ := field(ref, "tokens", "access_token").(string)
	if code != 200 || rt2 == "" || rt2 == rt || at2 == "" || field(ref, "claims", "sub") != sub {
		t.Fatalf("refresh: %d %v", code, ref)
	}
	if code, ui := r.call(t, http.MethodPost, "/userinfo", url.Values{"token": {at2}, "sub": {sub}}); code != 200 || ui["sub"] != sub {
		t.Fatalf("userinfo with the refreshed token: %d %v", code, ui)
	}

	// SSO: no login page.
	if _, asked := r.login(t, b, nil); asked {
		t.Fatal("SSO: the login page was shown")
	}

	// Re-authentication: the login page despite the session, then a code
	// whose auth_time openid-client accepts for max_age=0.
	for _, q := range []url.Values{{"max_age": {"0"}}, {"prompt": {"login"}}} {
		time.Sleep(1100 * time.Millisecond) // auth_time has one-second steps
		out, asked := r.login(t, b, q)
		authTime, _ := field(out, "claims", "auth_time").(float64)
		if !asked || authTime <= firstAuth || field(out, "claims", "sub") != sub {
			t.Fatalf("re-authentication %v: login page %v, auth_time %v (first %v)", q, asked, authTime, firstAuth)
		}
		firstAuth = authTime
		idToken, _ = field(out, "tokens", "id_token").(string)
	}

	// Revoking the refresh token ends the grant: its access tokens are
	// inactive and it cannot be refreshed.
	if code, out := r.call(t, http.MethodPost, "/revoke", url.Values{"token": {rt2}}); code != 200 {
		t.Fatalf("revocation: %d %v", code, out)
	}
	if _, in := r.call(t, http.MethodPost, "/introspect", url.Values{"token": {at2}}); in["active"] != false {
		t.Fatalf("access token of a revoked grant: %v", in)
	}
	if code, out := r.call(t, http.MethodPost, "/refresh", url.Values{"refresh_token": {rt2}}); code == 200 ||
		!strings.Contains(strings.ToLower(out["error"].(string)+" "+out["code"].(string)+" "+asString(out["cause"])), "invalid_grant") {
		t.Fatalf("refresh after revocation: %d %v", code, out)
	}

	// RP-initiated logout: back at the relying party with its state; the
	// session is gone.
	resp, err := b.Get(r.base + "/logout?" + url.Values{"id_token": {idToken}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode/100 != 3 || loc == nil || !strings.HasPrefix(loc.String(), r.base+"/logged-out") || loc.Query().Get("state") != "bye" {
		t.Fatalf("end session: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, asked := r.login(t, b, nil); !asked {
		t.Fatal("after logout: no login page")
	}
}

func asString(v any) string {
	s, _ := v.(string)
	return s
}

// TestStrictRelyingPartyInChromium runs the browser part in headless
// Chromium: the login page, the redirects between the relying party and
// the provider, re-authentication with max_age=0 despite the session, and
// RP-initiated logout.
func TestStrictRelyingPartyInChromium(t *testing.T) {
	t.Parallel()
	_, r := setup(t)
	cctx, cancel := idptest.Chromium(t)
	defer cancel()
	p := &idptest.Page{T: t, Ctx: cctx}
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	// verdict reads the relying party's JSON answer shown by the browser.
	verdict := func(prefix string) map[string]any {
		t.Helper()
		p.WaitURL(prefix)
		var out map[string]any
		if err := json.Unmarshal([]byte(p.Text("body")), &out); err != nil || out["error"] != nil {
			t.Fatalf("relying party at %s: %v %v", p.Location(), out, err)
		}
		return out
	}
	login := func(q string) map[string]any {
		t.Helper()
		p.Do(chromedp.Navigate(r.base+"/login"+q), chromedp.WaitVisible(css(`#password`)),
			chromedp.SendKeys(css(`#email`), email), chromedp.SendKeys(css(`#password`), password),
			chromedp.Submit(css(`#password`)))
		return verdict(r.base + "/cb")
	}

	out := login("")
	first, _ := field(out, "claims", "auth_time").(float64)
	if field(out, "userinfo", "email") != email {
		t.Fatalf("first login: %v", out)
	}
	// SSO without a login page.
	p.Do(chromedp.Navigate(r.base + "/login"))
	verdict(r.base + "/cb")
	// max_age=0: the login page despite the session, then a fresh auth_time.
	time.Sleep(1100 * time.Millisecond) // auth_time has one-second steps
	out = login("?max_age=0")
	if at, _ := field(out, "claims", "auth_time").(float64); at <= first {
		t.Fatalf("max_age=0: auth_time %v, first login %v", at, first)
	}
	// RP-initiated logout, back at the relying party with its state.
	idToken, _ := field(out, "tokens", "id_token").(string)
	p.Do(chromedp.Navigate(r.base + "/logout?" + url.Values{"id_token": {idToken}}.Encode()))
	if out := verdict(r.base + "/logged-out"); out["state"] != "bye" {
		t.Fatalf("end session: %v", out)
	}
	login("") // the session is gone: the login page again
}
