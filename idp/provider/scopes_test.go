package provider_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/idptest"
)

// postClient posts a form to an endpoint of the IdP with HTTP Basic
// client authentication and decodes the JSON answer.
func postClient(t *testing.T, env *idptest.Env, path, id, secret string, form url.Values) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, env.URL+path, strings.NewReader(form.Encode()))
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, resp.Header, out
}

func audience(v any) []string {
	switch a := v.(type) {
	case string:
		return []string{a}
	case []any:
		var out []string
		for _, s := range a {
			out = append(out, s.(string))
		}
		return out
	}
	return nil
}

// TestClientScopes: client_credentials grants only registered scopes; the
// token's audience is the caller plus the APIs serving a granted scope,
// and exactly those may introspect it.
func TestClientScopes(t *testing.T) {
	t.Parallel()
	env := idptest.Start(t, idptest.Options{})
	const sec = "secret-secret-secret-secret-secret-0042"
	cc := []string{idp.GrantClientCredentials}
	env.AddClient(t, idp.Client{ID: "backoffice", GrantTypes: cc, Scopes: []string{"cases:write", "cases:read", "documents:write"}}, sec)
	env.AddClient(t, idp.Client{ID: "status", GrantTypes: cc, APIScopes: []string{"cases:write", "cases:read"}}, sec)
	env.AddClient(t, idp.Client{ID: "documents", GrantTypes: cc, APIScopes: []string{"documents:write", "documents:read"}}, sec)
	env.AddClient(t, idp.Client{ID: "forms", GrantTypes: cc, Scopes: []string{"cases:write"}}, sec)

	token := func(scope string) (int, map[string]any) {
		form := url.Values{"grant_type": {"client_credentials"}}
		if scope != "" {
			form.Set("scope", scope)
		}
		code, _, body := postClient(t, env, "/oauth/token", "backoffice", sec, form)
		return code, body
	}
	introspect := func(as, tok string) map[string]any {
		code, _, body := postClient(t, env, "/oauth/introspect", as, sec, url.Values{"token": {tok}})
		if code != http.StatusOK {
			t.Fatalf("introspect as %s: %d %v", as, code, body)
		}
		return body
	}

	code, tok := token("cases:write cases:read")
	if code != http.StatusOK {
		t.Fatalf("token: %d %v", code, tok)
	}
	at := tok["access_token"].(string)
	if tok["scope"] != "cases:write cases:read" {
		t.Errorf("token response scope %v", tok["scope"])
	}
	got := introspect("status", at) // the API the scope belongs to
	if got["active"] != true || got["client_id"] != "backoffice" || got["scope"] != "cases:write cases:read" ||
		!slices.Equal(audience(got["aud"]), []string{"backoffice", "status"}) {
		t.Fatalf("API introspection: %v", got)
	}
	if got := introspect("backoffice", at); got["active"] != true {
		t.Fatalf("own introspection: %v", got)
	}
	for _, other := range []string{"documents", "forms"} { // not an audience
		if got := introspect(other, at); got["active"] != false || len(got) != 1 {
			t.Fatalf("introspection by %s: %v", other, got)
		}
	}

	// Two APIs.
	_, tok = token("documents:write cases:read")
	got = introspect("documents", tok["access_token"].(string))
	if got["active"] != true || !slices.Equal(audience(got["aud"]), []string{"backoffice", "documents", "status"}) {
		t.Fatalf("two APIs: %v", got)
	}

	// A scope not registered for the caller (even one an API serves).
	for _, scope := range []string{"documents:read", "cases:write admin", "unknown"} {
		if code, body := token(scope); code != http.StatusBadRequest || body["error"] != "invalid_scope" {
			t.Errorf("scope %q: %d %v", scope, code, body)
		}
	}

	// No scope requested: a token with no scope, for the caller only.
	code, tok = token("")
	if code != http.StatusOK {
		t.Fatalf("no scope: %d %v", code, tok)
	}
	got = introspect("backoffice", tok["access_token"].(string))
	if got["active"] != true || got["scope"] != nil && got["scope"] != "" || !slices.Equal(audience(got["aud"]), []string{"backoffice"}) {
		t.Fatalf("no scope: %v", got)
	}
	if got := introspect("status", tok["access_token"].(string)); got["active"] != false {
		t.Fatalf("no scope, API introspection: %v", got)
	}
}
