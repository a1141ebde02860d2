package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/kanton/kundencenter/delegation"
	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
)

// businessForm is a valid "Geschäftlich" profile.
func businessForm(changes ...string) url.Values {
	f := url.Values{"profile_name": {"Geschäftlich"}, "given_name": {"Anna"}, "family_name": {"Muster-Keller"},
		"addr_street": {"Bahnhofstrasse"}, "addr_house_number": {"1"}, "addr_postal_code": {"5000"},
		"addr_locality": {"Aarau"}, "addr_country": {"CH"}, "contact_email": {"anna@muster-ag.ch"},
		"contact_phone": {"062 123 45 67"}}
	for i := 0; i < len(changes); i += 2 {
		f.Set(changes[i], changes[i+1])
	}
	return f
}

func storedProfiles(t *testing.T, env *idptest.Env, accountID string) []idp.Profile {
	t.Helper()
	ps, err := env.Store.ListProfiles(t.Context(), accountID)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

var profileLinkRE = regexp.MustCompile(`href="/account/profiles/([A-Za-z0-9_-]+)"`)

// TestProfilesConsole: the list shows the implicit main profile ("Meine
// Daten"), which cannot be deleted while it is the only one; invalid
// profiles are refused field by field in every language with nothing
// stored; a valid one is stored sealed next to the main profile; both can
// be edited; the last profile cannot be deleted; another account's
// profile is not found; CSRF is checked.
func TestProfilesConsole(t *testing.T) {
	t.Parallel()
	env := idptest.Start(t, idptest.Options{})
	acct := env.CreateAccount(t, "Anna", "Muster", "anna@example.ch", pw)
	if _, err := env.Service.UpdateData(t.Context(), acct.ID, idp.DataInput{GivenName: "Anna", FamilyName: "Muster",
		Street: "Hauptgasse", HouseNumber: "12", PostalCode: "4500", Locality: "Solothurn", Country: "CH", Locale: "de"}); err != nil {
		t.Fatal(err)
	}
	b := consoleLogin(t, env, "anna@example.ch", pw)

	wantIn(t, "data page", b.Open(t, "/account/data").Body, `href="/account/profiles"`)
	list := b.Open(t, "/account/profiles")
	wantStatus(t, "profiles", list.Resp, list.Body, http.StatusOK)
	wantIn(t, "profiles", list.Body, "Meine Daten", "Hauptgasse 12, 4500 Solothurn", "anna@example.ch", `href="/account/profiles/new"`)
	mainID := idp.DefaultProfileID(acct.ID)
	wantIn(t, "profiles", list.Body, `href="/account/profiles/`+mainID+`"`)

	// The only profile cannot be deleted (and the edit page offers no button).
	edit := b.Open(t, "/account/profiles/"+mainID)
	if strings.Contains(edit.Body, "/delete") {
		t.Error("the edit page of the only profile offers deletion")
	}
	res := b.Post(t, "/account/profiles/"+mainID+"/delete", edit.Field("csrf"), nil)
	wantStatus(t, "deleting the only profile", res.Resp, res.Body, http.StatusConflict)
	wantIn(t, "refusal", res.Body, "Das letzte Profil kann nicht gelöscht werden")

	tests := []struct {
		name  string
		form  url.Values
		field string
		msg   string
	}{
		{"no display name", businessForm("profile_name", " "), "profile_name", "Bitte füllen Sie dieses Feld aus"},
		{"markup in the display name", businessForm("profile_name", "<b>x</b>"), "profile_name", "unzulässige Zeichen"},
		{"display name too long", businessForm("profile_name", strings.Repeat("x", 51)), "profile_name", "zu lang"},
		{"no family name", businessForm("family_name", ""), "family_name", "Bitte füllen Sie dieses Feld aus"},
		{"Swiss postcode of 3 digits", businessForm("addr_postal_code", "500"), "addr_postal_code", "4 Ziffern"},
		{"street missing", businessForm("addr_street", ""), "addr_street", "Bitte füllen Sie dieses Feld aus"},
		{"unknown country", businessForm("addr_country", "XX"), "addr_country", "Land aus der Liste"},
		{"contact e-mail", businessForm("contact_email", "anna@"), "contact_email", "gültige E-Mail-Adresse"},
		{"contact phone letters", businessForm("contact_phone", "062 ABC"), "contact_phone", "gültige Telefonnummer"},
		{"contact phone too short", businessForm("contact_phone", "062 12"), "contact_phone", "gültige Telefonnummer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := b.Submit(t, "/account/profiles/new?lang=de", "/account/profiles/new", tc.form)
			wantStatus(t, "invalid profile", res.Resp, res.Body, http.StatusUnprocessableEntity)
			wantIn(t, "error page", res.Body, `href="#`+tc.field+`"`, `id="`+tc.field+`-error"`, tc.msg, `aria-invalid="true"`)
			if ps := storedProfiles(t, env, acct.ID); len(ps) != 0 {
				t.Fatalf("an invalid profile stored %d profiles", len(ps))
			}
		})
	}
	for _, lang := range []string{"fr", "it", "en"} {
		b.Open(t, "/account/profiles?lang="+lang)
		res := b.Submit(t, "/account/profiles/new", "/account/profiles/new", businessForm("contact_phone", "x", "profile_name", ""))
		if strings.Contains(res.Body, "gültige Telefonnummer") || strings.Contains(res.Body, "err.") || !strings.Contains(res.Body, `id="contact_phone-error"`) {
			t.Errorf("%s: German, missing or untranslated message", lang)
		}
	}
	b.Open(t, "/account/profiles?lang=de")

	// Without the CSRF token nothing happens.
	res = b.Post(t, "/account/profiles/new", "forged", businessForm())
	wantStatus(t, "forged CSRF", res.Resp, res.Body, http.StatusForbidden)

	res = b.Submit(t, "/account/profiles/new", "/account/profiles/new", businessForm())
	if res.URL().Path != "/account/profiles" || !strings.Contains(res.Body, "Das Profil ist erstellt") {
		t.Fatalf("create: %d at %s", res.Resp.StatusCode, res.URL())
	}
	wantIn(t, "list", res.Body, "Geschäftlich", "Anna Muster-Keller", "Bahnhofstrasse 1, 5000 Aarau", "anna@muster-ag.ch", "41621234567", "Meine Daten")
	ps := storedProfiles(t, env, acct.ID)
	if len(ps) != 2 || ps[0].ID != mainID || !ps[0].Main || ps[1].Main {
		t.Fatalf("stored profiles: %+v", ps)
	}
	bizID := ps[1].ID
	if strings.Contains(string(ps[1].Sealed), "Aarau") || strings.Contains(string(ps[1].Sealed), "muster-ag") {
		t.Fatal("profile data stored in clear text")
	}

	// The main profile follows "Meine Daten" and takes only a name and phone.
	res = b.Submit(t, "/account/profiles/"+mainID, "/account/profiles/"+mainID, url.Values{"profile_name": {"Privat"},
		"contact_phone": {"+41 79 123 45 67"}, "family_name": {"Ignored"}})
	if res.URL().Query().Get("done") != "saved" {
		t.Fatalf("save main: %d at %s\n%.800s", res.Resp.StatusCode, res.URL(), res.Body)
	}
	if _, err := env.Service.UpdateData(t.Context(), acct.ID, idp.DataInput{GivenName: "Anna", FamilyName: "Muster",
		Street: "Hauptgasse", HouseNumber: "14", PostalCode: "4500", Locality: "Solothurn", Country: "CH", Locale: "de"}); err != nil {
		t.Fatal(err)
	}
	main, err := env.Service.Profile(t.Context(), acct.ID, mainID)
	if err != nil {
		t.Fatal(err)
	}
	if main.Name != "Privat" || main.Data.Phone != "+41791234567" || main.Data.FamilyName != "Muster" || main.Data.HouseNumber != "14" {
		t.Fatalf("main profile: %+v", main)
	}

	// Editing the business profile: invalid, then valid.
	res = b.Submit(t, "/account/profiles/"+bizID, "/account/profiles/"+bizID, businessForm("addr_postal_code", "9490"))
	wantStatus(t, "invalid edit", res.Resp, res.Body, http.StatusUnprocessableEntity)
	wantIn(t, "invalid edit", res.Body, "Liechtenstein", `value="9490"`)
	res = b.Submit(t, "/account/profiles/"+bizID, "/account/profiles/"+bizID, businessForm("addr_country", "LI", "addr_postal_code", "9490", "addr_locality", "Vaduz"))
	if res.URL().Query().Get("done") != "saved" {
		t.Fatalf("save: %d at %s", res.Resp.StatusCode, res.URL())
	}
	biz, err := env.Service.Profile(t.Context(), acct.ID, bizID)
	if err != nil || biz.Data.Country != "LI" || biz.Data.Locality != "Vaduz" {
		t.Fatalf("business profile: %+v %v", biz, err)
	}

	// Another account cannot see, change or delete Anna's profile.
	env.CreateAccount(t, "Beat", "Brunner", "beat@example.ch", pw)
	other := consoleLogin(t, env, "beat@example.ch", pw)
	res = other.Open(t, "/account/profiles/"+bizID)
	wantStatus(t, "foreign profile", res.Resp, res.Body, http.StatusNotFound)
	res = other.Submit(t, "/account/profiles", "/account/profiles/"+bizID+"/delete", nil)
	wantStatus(t, "foreign delete", res.Resp, res.Body, http.StatusNotFound)
	res = other.Submit(t, "/account/profiles", "/account/profiles/"+bizID, businessForm("profile_name", "Mine"))
	wantStatus(t, "foreign edit", res.Resp, res.Body, http.StatusNotFound)

	// The main profile cannot be deleted, even beside another one: its
	// edit page offers no button, and a forged request is refused with a
	// message in the page's language.
	edit = b.Open(t, "/account/profiles/"+mainID)
	if strings.Contains(edit.Body, "/delete") {
		t.Error("the edit page of the main profile offers deletion")
	}
	wantIn(t, "business edit page", b.Open(t, "/account/profiles/"+bizID).Body, `action="/account/profiles/`+bizID+`/delete"`)
	for lang, msg := range map[string]string{"de": "Das Hauptprofil kann nicht gelöscht werden",
		"fr": "Le profil principal ne peut pas être supprimé", "it": "Il profilo principale non può essere eliminato",
		"en": "The main profile cannot be deleted"} {
		b.Open(t, "/account/profiles?lang="+lang)
		res = b.Post(t, "/account/profiles/"+mainID+"/delete", edit.Field("csrf"), nil)
		wantStatus(t, "deleting the main profile", res.Resp, res.Body, http.StatusConflict)
		wantIn(t, "refusal ("+lang+")", res.Body, msg)
	}
	b.Open(t, "/account/profiles?lang=de")
	if ps := storedProfiles(t, env, acct.ID); len(ps) != 2 {
		t.Fatalf("after refusing to delete the main profile: %+v", ps)
	}

	// Delete: the other one goes, the main one stays.
	res = b.Submit(t, "/account/profiles/"+bizID, "/account/profiles/"+bizID+"/delete", nil)
	if res.URL().Query().Get("done") != "deleted" {
		t.Fatalf("delete: %d at %s", res.Resp.StatusCode, res.URL())
	}
	res = b.Submit(t, "/account/profiles", "/account/profiles/"+mainID+"/delete", nil)
	wantStatus(t, "deleting the last profile", res.Resp, res.Body, http.StatusConflict)
	if ps := storedProfiles(t, env, acct.ID); len(ps) != 1 || ps[0].ID != mainID {
		t.Fatalf("after deleting: %+v", ps)
	}
}

// TestProfileLogin: an independent OIDC client (coreos/go-oidc + oauth2)
// logs Anna in; she has two profiles and picks "Geschäftlich": the ID
// token names that profile (sub stays the account), userinfo carries its
// name, address, e-mail and phone. The next login pre-selects it; a
// refresh keeps it; a forged choice is refused; once the profile is
// deleted, its grant no longer refreshes.
func TestProfileLogin(t *testing.T) {
	t.Parallel()
	env := idptest.Start(t, idptest.Options{})
	env.AddClient(t, idp.Client{ID: "svc", Name: "Baugesuche", RedirectURIs: []string{mfaRedirect},
		GrantTypes: []string{idp.GrantAuthorizationCode, idp.GrantRefreshToken}}, mfaSecret)
	anna := env.CreateAccount(t, "Anna", "Muster", mfaEmail, mfaPassword)
	ctx := t.Context()
	if _, err := env.Service.UpdateData(ctx, anna.ID, idp.DataInput{GivenName: "Anna", FamilyName: "Muster",
		Street: "Hauptgasse", HouseNumber: "12", PostalCode: "4500", Locality: "Solothurn", Country: "CH",
		BirthDate: "1980-12-31", Locale: "de"}); err != nil {
		t.Fatal(err)
	}
	f := businessForm()
	biz, err := env.Service.CreateProfile(ctx, anna.ID, idp.ProfileInput{Name: f.Get("profile_name"), GivenName: f.Get("given_name"),
		FamilyName: f.Get("family_name"), Street: f.Get("addr_street"), HouseNumber: f.Get("addr_house_number"),
		PostalCode: f.Get("addr_postal_code"), Locality: f.Get("addr_locality"), Country: "CH",
		Email: f.Get("contact_email"), Phone: f.Get("contact_phone")})
	if err != nil {
		t.Fatal(err)
	}
	mainID := idp.DefaultProfileID(anna.ID)

	p, err := oidc.NewProvider(ctx, env.URL)
	if err != nil {
		t.Fatal(err)
	}
	var disc struct {
		Scopes []string `json:"scopes_supported"`
		Claims []string `json:"claims_supported"`
	}
	if err := p.Claims(&disc); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"address", "phone"} {
		if !strings.Contains(" "+strings.Join(disc.Scopes, " ")+" ", " "+want+" ") {
			t.Errorf("discovery lacks scope %q: %v", want, disc.Scopes)
		}
	}
	for _, want := range []string{"address", "phone_number", idp.ClaimProfile} {
		if !strings.Contains(" "+strings.Join(disc.Claims, " ")+" ", " "+want+" ") {
			t.Errorf("discovery lacks claim %q", want)
		}
	}
	svc := &oauth2.Config{ClientID: "svc", ClientSecret: mfaSecret, Endpoint: p.Endpoint(), RedirectURL: mfaRedirect,
		Scopes: []string{oidc.ScopeOpenID, "profile", "email", "address", "phone", oidc.ScopeOfflineAccess}}
	verify := func(tok *oauth2.Token) map[string]any {
		t.Helper()
		idt, err := p.Verifier(&oidc.Config{ClientID: "svc"}).Verify(ctx, tok.Extra("id_token").(string))
		if err != nil {
			t.Fatal(err)
		}
		var c map[string]any
		idt.Claims(&c)
		return c
	}
	userinfo := func(tok *oauth2.Token) map[string]any {
		t.Helper()
		ui, err := p.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			t.Fatal(err)
		}
		var c map[string]any
		ui.Claims(&c)
		return c
	}
	checked := func(body, id string) bool {
		return regexp.MustCompile(`value="` + regexp.QuoteMeta(id) + `" checked`).MatchString(body)
	}

	b := env.NewBrowser(t)
	v := oauth2.GenerateVerifier()
	r := b.Open(t, svc.AuthCodeURL("st", oauth2.S256ChallengeOption(v), oidc.Nonce("n")))
	id := r.URL().Query().Get("authRequestID")
	r = b.Post(t, "/login", b.CSRF(t, r.URL().String()), url.Values{"authRequestID": {id}, "email": {mfaEmail}, "password": {mfaPassword}})
	if r.URL().Path != "/login/profile" || !strings.Contains(r.Body, "«Baugesuche»") || !strings.Contains(r.Body, "Geschäftlich") ||
		!strings.Contains(r.Body, "Meine Daten") || !checked(r.Body, mainID) {
		t.Fatalf("after the password: %s\n%.1500s", r.URL(), r.Body)
	}
	// A made-up or foreign profile is refused; nothing is issued.
	bad := b.Post(t, "/login/profile", r.Field("csrf"), url.Values{"authRequestID": {id}, "profile": {"not-mine"}})
	wantStatus(t, "forged choice", bad.Resp, bad.Body, http.StatusUnprocessableEntity)
	wantIn(t, "forged choice", bad.Body, "Bitte wählen Sie eines Ihrer Profile")
	r = b.Post(t, "/login/profile", bad.Field("csrf"), url.Values{"authRequestID": {id}, "profile": {biz.ID}})
	tok, err := svc.Exchange(ctx, r.URL().Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatalf("exchange (ended at %s): %v", r.URL(), err)
	}
	if c := verify(tok); c["sub"] != anna.ID || c[idp.ClaimProfile] != biz.ID {
		t.Fatalf("ID token: %v", c)
	}
	wantBusiness := func(what string, c map[string]any) {
		t.Helper()
		addr, _ := c["address"].(map[string]any)
		if c["sub"] != anna.ID || c[idp.ClaimProfile] != biz.ID || c["name"] != "Anna Muster-Keller" ||
			c["family_name"] != "Muster-Keller" || c["email"] != "anna@muster-ag.ch" || c["email_verified"] == true ||
			c["phone_number"] != "+41621234567" || c["birthdate"] != "1980-12-31" || addr["street_address"] != "Bahnhofstrasse 1" ||
			addr["postal_code"] != "5000" || addr["locality"] != "Aarau" || addr["country"] != "CH" ||
			addr["formatted"] != "Bahnhofstrasse 1\n5000 Aarau" {
			t.Fatalf("%s: %v", what, c)
		}
	}
	wantBusiness("userinfo", userinfo(tok))
	if in := introspectAs(t, env, "svc", tok.AccessToken); in[idp.ClaimProfile] != biz.ID {
		t.Fatalf("introspection: %v", in)
	}

	// The next login (SSO) asks again with "Geschäftlich" pre-selected;
	// this time Anna picks "Meine Daten".
	v2 := oauth2.GenerateVerifier()
	r = b.Open(t, svc.AuthCodeURL("st", oauth2.S256ChallengeOption(v2), oidc.Nonce("n")))
	if r.URL().Path != "/login/profile" || !checked(r.Body, biz.ID) || checked(r.Body, mainID) {
		t.Fatalf("second login: %s\n%.1500s", r.URL(), r.Body)
	}
	r = b.Post(t, "/login/profile", r.Field("csrf"), url.Values{"authRequestID": {r.URL().Query().Get("authRequestID")}, "profile": {mainID}})
	tok2, err := svc.Exchange(ctx, r.URL().Query().Get("code"), oauth2.VerifierOption(v2))
	if err != nil {
		t.Fatal(err)
	}
	if c := userinfo(tok2); c[idp.ClaimProfile] != mainID || c["name"] != "Anna Muster" || c["email"] != mfaEmail ||
		c["email_verified"] != true || c["phone_number"] != nil || c["address"].(map[string]any)["locality"] != "Solothurn" {
		t.Fatalf("main profile userinfo: %v", c)
	}

	// A refresh of the first grant keeps "Geschäftlich".
	fresh, err := svc.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Hour)}).Token()
	if err != nil {
		t.Fatal(err)
	}
	if c := verify(fresh); c[idp.ClaimProfile] != biz.ID {
		t.Fatalf("refreshed ID token: %v", c)
	}
	wantBusiness("userinfo after refresh", userinfo(fresh))

	// Deleting the profile ends its grant: the service never sees another profile instead.
	if err := env.Service.DeleteProfile(ctx, anna.ID, biz.ID); err != nil {
		t.Fatal(err)
	}
	_, err = svc.TokenSource(ctx, &oauth2.Token{RefreshToken: fresh.RefreshToken, Expiry: time.Now().Add(-time.Hour)}).Token()
	var re *oauth2.RetrieveError
	if err == nil || !asRetrieve(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Fatalf("refresh after the profile was deleted: %v", err)
	}
	if _, err := p.UserInfo(ctx, oauth2.StaticTokenSource(fresh)); err == nil {
		t.Fatal("userinfo answered for a deleted profile")
	}
	// With one profile left, the login no longer asks.
	v3 := oauth2.GenerateVerifier()
	r = b.Open(t, svc.AuthCodeURL("st", oauth2.S256ChallengeOption(v3), oidc.Nonce("n")))
	if r.URL().Query().Get("code") == "" {
		t.Fatalf("login with one profile: ended at %s", r.URL())
	}
}

// TestProfileAfterActing: the profile question follows "Für wen handeln
// Sie?"; the service gets both the organisation and the chosen profile.
func TestProfileAfterActing(t *testing.T) {
	t.Parallel()
	env := idptest.Start(t, idptest.Options{})
	env.AddClient(t, idp.Client{ID: "svc", Name: "Baugesuche", RedirectURIs: []string{mfaRedirect}}, mfaSecret)
	anna := env.CreateAccount(t, "Anna", "Muster", mfaEmail, mfaPassword)
	ctx := t.Context()
	org, err := env.Orgs.CreateOrg(ctx, anna.ID, delegation.OrgInput{Name: "Muster AG", UID: "CHE-116.281.710",
		Addresses: []delegation.Address{{Street: "Bahnhofstrasse 1", PostalCode: "5000", Town: "Aarau", Country: "CH"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Orgs.SetServices(ctx, anna.ID, org.ID, anna.ID, []string{"svc"}); err != nil {
		t.Fatal(err)
	}
	biz, err := env.Service.CreateProfile(ctx, anna.ID, idp.ProfileInput{Name: "Geschäftlich", GivenName: "Anna",
		FamilyName: "Muster-Keller", Country: "CH"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := oidc.NewProvider(ctx, env.URL)
	if err != nil {
		t.Fatal(err)
	}
	svc := &oauth2.Config{ClientID: "svc", ClientSecret: mfaSecret, Endpoint: p.Endpoint(), RedirectURL: mfaRedirect,
		Scopes: []string{oidc.ScopeOpenID, "profile"}}
	b := env.NewBrowser(t)
	v := oauth2.GenerateVerifier()
	r := b.Open(t, svc.AuthCodeURL("st", oauth2.S256ChallengeOption(v), oidc.Nonce("n")))
	id := r.URL().Query().Get("authRequestID")
	r = b.Post(t, "/login", b.CSRF(t, r.URL().String()), url.Values{"authRequestID": {id}, "email": {mfaEmail}, "password": {mfaPassword}})
	if r.URL().Path != "/login/context" {
		t.Fatalf("after the password: %s", r.URL())
	}
	r = b.Post(t, "/login/context", r.Field("csrf"), url.Values{"authRequestID": {id}, "acting": {"organisation:" + org.ID}})
	if r.URL().Path != "/login/profile" {
		t.Fatalf("after the acting choice: %s", r.URL())
	}
	r = b.Post(t, "/login/profile", r.Field("csrf"), url.Values{"authRequestID": {id}, "profile": {biz.ID}})
	tok, err := svc.Exchange(ctx, r.URL().Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatalf("exchange (ended at %s): %v", r.URL(), err)
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: "svc"}).Verify(ctx, tok.Extra("id_token").(string))
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	idt.Claims(&c)
	rep, _ := c["represents"].(map[string]any)
	if c[idp.ClaimProfile] != biz.ID || rep["id"] != org.ID {
		t.Fatalf("ID token: %v", c)
	}
}
