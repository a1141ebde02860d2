package web_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/kanton/kundencenter/delegation"
	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
	"github.com/kanton/kundencenter/idp/web"
	"github.com/kanton/kundencenter/notify"
	"github.com/kanton/kundencenter/templates"
)

// orgEnv is the IdP of idptest (real SQLite store, in-process ephemeral
// store) with the organisation pages wired, as cmd wires them.
type orgEnv struct {
	*idptest.Env
	URL   string // the server with the organisation pages
	Orgs  *delegation.Service
	mu    sync.Mutex
	mails []idp.Mail
}

func (e *orgEnv) lastOrgMail(to, template string) (idp.Mail, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := len(e.mails) - 1; i >= 0; i-- {
		if e.mails[i].To == to && e.mails[i].Template == template {
			return e.mails[i], true
		}
	}
	return idp.Mail{}, false
}

func startOrgs(t *testing.T) *orgEnv {
	t.Helper()
	env := idptest.Start(t, idptest.Options{})
	e := &orgEnv{Env: env}
	store, ok := env.Store.(delegation.Store)
	if !ok {
		t.Fatalf("%T does not implement delegation.Store", env.Store)
	}
	srv := httptest.NewUnstartedServer(nil)
	e.URL = "http://" + srv.Listener.Addr().String()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e.Orgs = delegation.NewService(delegation.Config{BaseURL: e.URL, SealMail: func(m idp.Mail) (idp.Outgoing, error) {
		out, err := notify.SealMail(env.Ring, m)
		if err == nil {
			e.mu.Lock()
			e.mails = append(e.mails, m)
			e.mu.Unlock()
		}
		return out, err
	}, Hasher: env.Service.Hasher(), Counters: env.Eph}, store, env.Service, log)
	tpl, err := templates.Parse()
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = web.New(web.Config{Issuer: env.URL, CSRFKey: []byte("csrf-key-for-tests-32-bytes-long"), Orgs: e.Orgs},
		env.Service, env.Provider, tpl, log)
	srv.Start()
	t.Cleanup(srv.Close)
	// The bundled services' IDs: their pages name them from the catalogues
	// ("Formulare", "Meine Dokumente"), not by these registered names.
	for _, id := range []string{"forms", "documents"} {
		env.AddClient(t, idp.Client{ID: id, Name: "Dienst " + id, RedirectURIs: []string{"https://" + id + ".example.ch/cb"}}, "s3cret-"+id)
	}
	return e
}

// orgBrowser is a cookie-keeping client of the organisation server that
// does not follow redirects.
type orgBrowser struct {
	t   *testing.T
	e   *orgEnv
	c   *http.Client
	csr string
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (e *orgEnv) login(t *testing.T, email, password string) *orgBrowser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &orgBrowser{t: t, e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
	_, body := b.get("/login")
	b.csr = csrfField.FindStringSubmatch(body)[1]
	resp, _ := b.post("/login", url.Values{"email": {email}, "password": {password}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login %s: status %d", email, resp.StatusCode)
	}
	return b
}

func (b *orgBrowser) get(path string) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.c.Get(b.e.URL + path)
	if err != nil {
		b.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

// post sends a form with the browser's CSRF token (unless form sets one).
func (b *orgBrowser) post(path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", b.csr)
	}
	req, _ := http.NewRequest(http.MethodPost, b.e.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.e.URL)
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

func wantStatus(t *testing.T, what string, resp *http.Response, body string, status int) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s: status %d, want %d\n%.2000s", what, resp.StatusCode, status, body)
	}
}

func wantIn(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

const pw = "Sonnenblume-Aare-42"

func TestOrgPages(t *testing.T) {
	t.Parallel()
	e := startOrgs(t)
	anna := e.CreateAccount(t, "Anna", "Muster", "anna@example.ch", pw)
	beat := e.CreateAccount(t, "Beat", "Geheim", "beat.geheim@example.ch", pw)

	// Anonymous visitors go to the login.
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(e.URL + "/orgs")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Fatalf("anonymous /orgs: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}

	a := e.login(t, "anna@example.ch", pw)
	resp, body := a.get("/")
	wantIn(t, "account page", body, `href="/orgs"`)
	resp, body = a.get("/orgs")
	wantStatus(t, "GET /orgs", resp, body, http.StatusOK)
	wantIn(t, "list", body, "Sie gehören noch keiner Organisation an.", `href="/orgs/new"`)

	// CSRF, then validation in the user's language, then success.
	resp, body = a.post("/orgs/new", url.Values{"csrf": {"forged"}, "name": {"Muster AG"}})
	wantStatus(t, "forged CSRF", resp, body, http.StatusForbidden)
	resp, body = a.post("/orgs/new", url.Values{"name": {""}, "uid": {"CHE-116.281.711"}, "street_0": {"Weg 1"}, "postal_code_0": {"12"}})
	wantStatus(t, "invalid form", resp, body, http.StatusUnprocessableEntity)
	wantIn(t, "invalid form", body, `class="error-summary"`, `href="#name"`, `id="name" name="name" type="text" value="" autocomplete="organization" aria-invalid="true" aria-describedby="name-error"`,
		"Bitte füllen Sie dieses Feld aus.", "Bitte geben Sie eine gültige UID ein", "Bitte geben Sie eine gültige Postleitzahl ein", `value="Weg 1"`)
	resp, body = a.post("/orgs/new?lang=fr", url.Values{"name": {""}})
	wantIn(t, "French form", body, "Veuillez indiquer au moins une adresse.", `lang="fr"`)
	resp, body = a.post("/orgs/new?lang=de", url.Values{"name": {"Muster AG"}, "designation": {"Filiale Aarau"}, "uid": {"che 116 281 710"},
		"street_0": {"Bahnhofstrasse 1"}, "postal_code_0": {"5000"}, "town_0": {"Aarau"}, "country_0": {"CH"}})
	wantStatus(t, "create", resp, body, http.StatusSeeOther)
	loc := resp.Header.Get("Location")
	orgPath := strings.TrimSuffix(loc, "?done=created")
	orgID := strings.TrimPrefix(orgPath, "/orgs/")
	resp, body = a.get(loc)
	wantStatus(t, "org page", resp, body, http.StatusOK)
	wantIn(t, "org page", body, "Muster AG", "CHE-116.281.710", "Bahnhofstrasse 1, 5000 Aarau", "Die Organisation wurde angelegt.", "Per Konto-ID einladen")

	// Invite by Konto-ID: a wrong check digit is a field error; the right one
	// sends the mail to Beat and shows the inviter only the Konto-ID.
	wrong := beat.KontoID[:len(beat.KontoID)-1] + string("0123456789"[(int(beat.KontoID[len(beat.KontoID)-1]-'0')+1)%10])
	resp, body = a.post(orgPath+"/invite", url.Values{"by": {"konto_id"}, "konto_id": {wrong}, "role": {"member"}})
	wantStatus(t, "wrong Konto-ID", resp, body, http.StatusUnprocessableEntity)
	wantIn(t, "wrong Konto-ID", body, "Diese Konto-ID ist ungültig.", `href="#konto_id"`, `value="`+wrong+`"`)
	resp, body = a.post(orgPath+"/invite", url.Values{"by": {"konto_id"}, "konto_id": {beat.KontoID}, "role": {"member"}})
	wantStatus(t, "invite", resp, body, http.StatusSeeOther)
	_, body = a.get(orgPath + "?done=invited")
	wantIn(t, "org page after inviting", body, beat.KontoID, "Offene Einladungen")
	if strings.Contains(body, "geheim") {
		t.Error("the inviter sees the invitee's e-mail address")
	}
	m, ok := e.lastOrgMail("beat.geheim@example.ch", delegation.MailInvitation)
	if !ok {
		t.Fatal("no invitation mail")
	}

	// Beat opens the link and accepts.
	b := e.login(t, "beat.geheim@example.ch", pw)
	link, _ := url.Parse(m.Data["Link"])
	resp, body = b.get(link.RequestURI())
	wantStatus(t, "invitation link", resp, body, http.StatusOK)
	wantIn(t, "invitation page", body, "Muster AG", "Mitglied")
	invID := regexp.MustCompile(`name="invitation_id" value="([^"]+)"`).FindStringSubmatch(body)[1]
	// Anna cannot open Beat's link.
	resp, body = a.get(link.RequestURI())
	wantStatus(t, "someone else's link", resp, body, http.StatusBadRequest)
	_, body = b.get("/orgs")
	wantIn(t, "Beat's list", body, "Offene Einladungen", "Muster AG lädt Sie ein als Mitglied")
	resp, body = b.post("/orgs/invitations/respond", url.Values{"invitation_id": {invID}, "answer": {"accept"}})
	wantStatus(t, "accept", resp, body, http.StatusSeeOther)
	resp, body = b.post("/orgs/invitations/respond", url.Values{"invitation_id": {invID}, "answer": {"accept"}})
	wantStatus(t, "accept twice", resp, body, http.StatusBadRequest)

	// A member cannot administer.
	resp, body = b.post(orgPath+"/members/services", url.Values{"account_id": {beat.ID}, "services": {"forms"}})
	wantStatus(t, "member assigns", resp, body, http.StatusNotFound)
	resp, body = b.get(orgPath + "/history")
	wantStatus(t, "member history", resp, body, http.StatusNotFound)
	_, body = b.get(orgPath)
	if strings.Contains(body, "Per Konto-ID einladen") || strings.Contains(body, "/members/role") {
		t.Error("a member sees admin forms")
	}

	// The admin assigns a service; the decision function follows.
	resp, body = a.post(orgPath+"/members/services", url.Values{"account_id": {beat.ID}, "services": {"forms"}})
	wantStatus(t, "assign", resp, body, http.StatusSeeOther)
	d, err := e.Orgs.MayAct(t.Context(), beat.ID, orgID, "forms")
	if err != nil || !d.Allowed || d.Org.Name != "Muster AG" {
		t.Fatalf("MayAct after assignment = %+v, %v", d, err)
	}
	resp, body = a.post(orgPath+"/members/services", url.Values{"account_id": {beat.ID}, "services": {"forms", "nope"}})
	wantStatus(t, "unknown service", resp, body, http.StatusUnprocessableEntity)
	wantIn(t, "unknown service", body, "Diese Dienstleistung gibt es nicht mehr.")
	_, body = b.get(orgPath)
	wantIn(t, "member's page", body, "Formulare")

	// The last admin cannot leave; the answer says why.
	resp, body = a.post(orgPath+"/leave", url.Values{})
	wantStatus(t, "last admin leaves", resp, body, http.StatusConflict)
	wantIn(t, "last admin leaves", body, "Die letzte verantwortliche Person kann die Organisation nicht verlassen")

	// History for the admin.
	resp, body = a.get(orgPath + "/history")
	wantStatus(t, "history", resp, body, http.StatusOK)
	wantIn(t, "history", body, "hat die Organisation angelegt", "hat eingeladen", beat.KontoID,
		"hat die Einladung angenommen", "hat eine Dienstleistung zugewiesen", "Beat Geheim", "(forms)")

	// Remove Beat: he is told by mail and loses the service.
	resp, body = a.post(orgPath+"/members/remove", url.Values{"account_id": {beat.ID}})
	wantStatus(t, "remove", resp, body, http.StatusSeeOther)
	if _, ok := e.lastOrgMail("beat.geheim@example.ch", delegation.MailRemoved); !ok {
		t.Error("no removal mail")
	}
	d, err = e.Orgs.MayAct(t.Context(), beat.ID, orgID, "forms")
	if err != nil || d.Allowed {
		t.Errorf("MayAct after removal = %+v, %v", d, err)
	}
	resp, body = b.get(orgPath)
	wantStatus(t, "removed member's view", resp, body, http.StatusNotFound)
	_ = anna
}
