package passkey_test

import (
	"bytes"
	"errors"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/kanton/kundencenter/idp/idptest"
	"github.com/kanton/kundencenter/mfa"
	"github.com/kanton/kundencenter/mfa/passkey"
	"github.com/kanton/kundencenter/templates"
)

// testPage is a minimal page following the markup contract of passkey.js:
// the register form carries its options in a JSON data block, the login
// forms in the attribute (both variants of the contract).
var testPage = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="de"><head><meta charset="utf-8"><title>Passkey</title>
<script src="{{.Script}}" defer></script></head>
<body><main>
{{if .Result}}<p id="result">{{.Result}}</p>{{else}}
<form method="post" action="{{.Action}}" data-passkey="{{.Kind}}"
  data-passkey-options="{{if .Block}}passkey-options{{else}}{{.Options}}{{end}}"
  data-passkey-msg-unsupported="Ihr Browser unterstützt keine Passkeys."
  data-passkey-msg-cancelled="Abgebrochen oder kein passender Passkey."
  data-passkey-msg-failed="Das hat nicht geklappt."
  data-passkey-msg-exists="Dieser Passkey ist schon registriert.">
<input type="hidden" name="ceremony" value="{{.Ceremony}}">
<input type="hidden" name="account" value="{{.Account}}">
<input type="hidden" name="svc" value="{{.Svc}}">
<input type="hidden" name="credential">
{{if eq .Kind "register"}}<label for="name">Name</label> <input id="name" name="name" value="Mein Schlüssel" required>{{end}}
<p id="msg" data-passkey-message role="alert" hidden></p>
<button id="go" type="submit">Weiter</button>
</form>
{{if .Block}}<script type="application/json" id="passkey-options">{{.Block}}</script>{{end}}
{{end}}
</main></body></html>`))

type pageData struct {
	Script, Action, Kind, Ceremony, Account, Svc, Result string
	Options                                              string      // attribute variant (auto-escaped)
	Block                                                template.JS // data-block variant (encoding/json escapes <, >, &)
}

var errorNames = []struct {
	err  error
	name string
}{
	{passkey.ErrCloneSuspected, "ErrCloneSuspected"},
	{passkey.ErrOrigin, "ErrOrigin"},
	{passkey.ErrRPID, "ErrRPID"},
	{passkey.ErrUserVerification, "ErrUserVerification"},
	{passkey.ErrUnknownCredential, "ErrUnknownCredential"},
	{passkey.ErrCeremonyExpired, "ErrCeremonyExpired"},
	{passkey.ErrNoCredentials, "ErrNoCredentials"},
	{passkey.ErrCredentialExists, "ErrCredentialExists"},
	{passkey.ErrVerification, "ErrVerification"},
}

func errorName(err error) string {
	for _, e := range errorNames {
		if errors.Is(err, e.err) {
			return "error:" + e.name
		}
	}
	return "error:other:" + err.Error()
}

// testSite is the relying party's pages for the browser test.
type testSite struct {
	t        *testing.T
	services map[string]*passkey.Service
	mu       sync.Mutex
	posts    []url.Values // every form the browser posted
}

func (s *testSite) lastPost() url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.posts) == 0 {
		return nil
	}
	return s.posts[len(s.posts)-1]
}

func (s *testSite) numPosts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.posts)
}

func (s *testSite) render(w http.ResponseWriter, d pageData) {
	d.Script = templates.AssetURL("passkey.js")
	var buf bytes.Buffer
	if err := testPage.Execute(&buf, d); err != nil {
		s.t.Errorf("render: %v", err)
		http.Error(w, "render", http.StatusInternalServerError)
		return
	}
	_, _ = w.Write(buf.Bytes())
}

func (s *testSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The production policy: no inline script or style.
	w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'")
	if strings.HasPrefix(r.URL.Path, "/static/") {
		templates.Static().ServeHTTP(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "form", http.StatusBadRequest)
		return
	}
	ctx := r.Context()
	svcName, account := r.Form.Get("svc"), r.Form.Get("account")
	svc := s.services[svcName]
	kind := strings.TrimPrefix(r.URL.Path, "/")
	d := pageData{Action: r.URL.Path, Account: account, Svc: svcName, Kind: "login"}
	if r.Method == http.MethodPost {
		s.mu.Lock()
		s.posts = append(s.posts, r.PostForm)
		s.mu.Unlock()
		id, cred := r.PostForm.Get("ceremony"), []byte(r.PostForm.Get("credential"))
		var (
			res passkey.Result
			err error
		)
		switch kind {
		case "register":
			var c mfa.WebAuthnCredential
			c, err = svc.FinishRegistration(ctx, id, account, r.PostForm.Get("name"), cred)
			res.AccountID, res.Credential = account, c
		case "login":
			res, err = svc.FinishLogin(ctx, id, account, cred)
		case "passwordless":
			res, err = svc.FinishDiscoverableLogin(ctx, id, cred)
		}
		d.Result = "ok:" + res.AccountID
		if res.UserVerified {
			d.Result += ":uv"
		}
		if err != nil {
			d.Result = errorName(err)
		}
		s.render(w, d)
		return
	}
	var (
		c   passkey.Ceremony
		err error
	)
	switch kind {
	case "register":
		d.Kind = "register"
		var existing []mfa.WebAuthnCredential
		existing, err = svc.Credentials(ctx, account)
		if err == nil {
			c, err = svc.BeginRegistration(ctx, passkey.User{AccountID: account, Name: "4821-7733-9056", DisplayName: "Anna Muster"}, existing)
		}
		d.Block = template.JS(c.Options)
	case "login":
		c, err = svc.BeginLogin(ctx, account)
		d.Options = string(c.Options)
	case "passwordless":
		c, err = svc.BeginDiscoverableLogin(ctx)
		d.Options = string(c.Options)
	default:
		http.NotFound(w, r)
		return
	}
	if err != nil {
		d.Result = errorName(err)
	}
	d.Ceremony = c.ID
	s.render(w, d)
}

// TestBrowser runs the ceremonies in headless Chromium with a CDP virtual
// authenticator, through passkey.js, against the real SQLite store:
// register, refuse a duplicate, second factor, passwordless, missing user
// verification, replay, wrong origin, signature-counter regression,
// removal on the server, and a passkey missing on the authenticator.
func TestBrowser(t *testing.T) {
	e := newEnv(t, nil) // for the store, ephemeral store, key ring and an account
	a := e.account(t)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	site := &testSite{t: t}
	srv := httptest.NewUnstartedServer(site)
	srv.Listener.Close()
	srv.Listener = ln
	// http://localhost is a secure context for Chromium, and "localhost" a
	// valid RP ID for it.
	origin := "http://localhost:" + strings.TrimPrefix(ln.Addr().String(), "127.0.0.1:")
	newSvc := func(origins ...string) *passkey.Service {
		svc, err := passkey.New(passkey.Config{RPID: "localhost", RPDisplayName: "Kundencenter Test",
			Origins: origins, UserHandles: e.ring}, e.eph, e.store, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		return svc
	}
	svc := newSvc(origin)
	site.services = map[string]*passkey.Service{
		"": svc,
		// Configured for another origin (port) of the same RP ID.
		"wrong": newSvc("http://localhost:1"),
	}
	srv.Start()
	t.Cleanup(srv.Close)

	ctx, cancel := idptest.Chromium(t)
	defer cancel()
	p := &idptest.Page{T: t, Ctx: ctx}
	p.Do(chromedp.Navigate(origin + "/static/passkey.js")) // open the tab before adding the authenticator
	auth := p.AddVirtualAuthenticator(idptest.AuthenticatorOptions{ResidentKey: true, UserVerification: true})

	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	// ceremony opens a page, waits for the script, submits and returns the
	// server's verdict.
	ceremony := func(path string) string {
		t.Helper()
		p.Do(chromedp.Navigate(origin+path), chromedp.WaitVisible(css(`main`)))
		if r := p.Text(`main`); strings.HasPrefix(r, "error:") {
			return r
		}
		p.Do(chromedp.WaitReady(css(`form[data-passkey-state="ready"]`)), chromedp.Click(css(`#go`)),
			chromedp.WaitVisible(css(`#result`)))
		return p.Text(`#result`)
	}
	disabled := func() bool {
		t.Helper()
		d, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("go").disabled`))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	// refusedInBrowser opens a page, submits and expects the script to show
	// a message instead of posting.
	refusedInBrowser := func(path string) string {
		t.Helper()
		before := site.numPosts()
		p.Do(chromedp.Navigate(origin+path), chromedp.WaitReady(css(`form[data-passkey-state="ready"]`)),
			chromedp.Click(css(`#go`)), chromedp.WaitVisible(css(`#msg`)),
			chromedp.WaitReady(css(`form[data-passkey-state="error"]`)))
		if n := site.numPosts(); n != before {
			t.Errorf("%s: the form was posted after a failed ceremony", path)
		}
		if disabled() {
			t.Errorf("%s: the button stays disabled after the error", path)
		}
		return p.Text(`#msg`)
	}
	acct := "?account=" + url.QueryEscape(a.ID)
	storedCreds := func() []mfa.WebAuthnCredential {
		t.Helper()
		list, err := e.store.ListWebAuthnCredentials(t.Context(), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		return list
	}

	// Register.
	if got := ceremony("/register" + acct); got != "ok:"+a.ID {
		t.Fatalf("register: %s", got)
	}
	creds := storedCreds()
	if len(creds) != 1 || creds[0].Name != "Mein Schlüssel" || !creds[0].UserVerified {
		t.Fatalf("stored credentials after registration: %+v", creds)
	}
	onAuth := p.AuthenticatorCredentials(auth)
	if len(onAuth) != 1 || !bytes.Equal(onAuth[0].CredentialID, creds[0].ID) || !onAuth[0].IsResidentCredential ||
		!bytes.Equal(onAuth[0].UserHandle, e.ring.Index("webauthn-user-handle", a.ID)) {
		t.Fatalf("authenticator holds %+v", onAuth)
	}
	if post := site.lastPost(); !strings.Contains(post.Get("credential"), `"attestationObject"`) {
		t.Errorf("posted registration %q", post.Get("credential"))
	}

	// The same authenticator again: excluded, the script says so and posts nothing.
	if got := refusedInBrowser("/register" + acct); got != "Dieser Passkey ist schon registriert." {
		t.Errorf("duplicate registration message %q", got)
	}

	// Second factor.
	if got := ceremony("/login" + acct); got != "ok:"+a.ID+":uv" {
		t.Errorf("second factor: %s", got)
	}
	// Passwordless.
	if got := ceremony("/passwordless"); got != "ok:"+a.ID+":uv" {
		t.Errorf("passwordless: %s", got)
	}
	replay := site.lastPost()

	// The authenticator skips user verification: passwordless is refused.
	yes, no := true, false
	if _, err := chromedp.Call(ctx, webauthn.SetResponseOverrideBits,
		webauthn.SetResponseOverrideBitsParams{AuthenticatorID: auth, IsBadUV: &yes}); err != nil {
		t.Fatal(err)
	}
	if got := ceremony("/passwordless"); got != "error:ErrUserVerification" {
		t.Errorf("passwordless without UV: %s", got)
	}
	if _, err := chromedp.Call(ctx, webauthn.SetResponseOverrideBits,
		webauthn.SetResponseOverrideBitsParams{AuthenticatorID: auth, IsBadUV: &no}); err != nil {
		t.Fatal(err)
	}

	// Replaying the posted passwordless login: the ceremony is used up.
	resp, err := http.PostForm(srv.URL+"/passwordless", replay)
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	_, _ = body.ReadFrom(resp.Body)
	resp.Body.Close()
	if !strings.Contains(body.String(), "error:ErrCeremonyExpired") {
		t.Errorf("replayed login answered %s", body.String())
	}

	// A service configured for another origin refuses the browser's answer.
	if got := ceremony("/login" + acct + "&svc=wrong"); got != "error:ErrOrigin" {
		t.Errorf("wrong origin: %s", got)
	}

	// Signature-counter regression: put the key back with an older counter
	// (as a clone would be), log in: refused and flagged.
	before := storedCreds()[0]
	c := p.AuthenticatorCredentials(auth)[0]
	if _, err := chromedp.Call(ctx, webauthn.RemoveCredential,
		webauthn.RemoveCredentialParams{AuthenticatorID: auth, CredentialID: c.CredentialID}); err != nil {
		t.Fatal(err)
	}
	c.SignCount = float64(before.SignCount) - 1
	p.AddAuthenticatorCredential(auth, c)
	if got := ceremony("/login" + acct); got != "error:ErrCloneSuspected" {
		t.Errorf("login with a regressed counter: %s", got)
	}
	if after := storedCreds()[0]; !after.CloneWarning || after.SignCount != before.SignCount {
		t.Errorf("after the regression: %+v", after)
	}

	// Removed on the server: both logins are refused.
	if err := svc.Remove(t.Context(), a.ID, before.ID); err != nil {
		t.Fatal(err)
	}
	if got := ceremony("/passwordless"); got != "error:ErrUnknownCredential" {
		t.Errorf("passwordless with a removed passkey: %s", got)
	}
	if got := ceremony("/login" + acct); got != "error:ErrNoCredentials" {
		t.Errorf("second factor without passkeys: %s", got)
	}

	// Registered, then lost from the authenticator: the browser finds no
	// passkey, the script shows the cancel text and posts nothing.
	if got := ceremony("/register" + acct); got != "ok:"+a.ID {
		t.Fatalf("second registration: %s", got)
	}
	if _, err := chromedp.Call(ctx, webauthn.ClearCredentials,
		webauthn.ClearCredentialsParams{AuthenticatorID: auth}); err != nil {
		t.Fatal(err)
	}
	if got := refusedInBrowser("/login" + acct); got != "Abgebrochen oder kein passender Passkey." {
		t.Errorf("login without the passkey on the authenticator: message %q", got)
	}

	// A browser without WebAuthn: the button is disabled and the page's
	// text shown.
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `Object.defineProperty(window, "PublicKeyCredential", {value: undefined});`,
	}); err != nil {
		t.Fatal(err)
	}
	p.Do(chromedp.Navigate(origin+"/passwordless"), chromedp.WaitReady(css(`form[data-passkey-state="unsupported"]`)),
		chromedp.WaitVisible(css(`#msg`)))
	if got := p.Text(`#msg`); got != "Ihr Browser unterstützt keine Passkeys." {
		t.Errorf("unsupported message %q", got)
	}
	if !disabled() {
		t.Error("the submit button is enabled without WebAuthn")
	}
}
