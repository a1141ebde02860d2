package rp

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	zrp "github.com/zitadel/oidc/v3/pkg/client/rp"
	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/kanton/kundencenter/services/page"
	"github.com/kanton/kundencenter/webkit"
)

// transaction is one login in flight, kept in the sealed transaction cookie
// between Login and Callback; it binds state, nonce and PKCE verifier to the
// browser (RFC 9700 §2.1, §4.7).
type transaction struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Return   string `json:"r"`
}

// Login starts the authorization code flow (OIDC Core 1.0 §3.1.2.1) with
// PKCE S256 (RFC 7636 §4.3), a fresh state and nonce, and sends the browser
// to the IdP. The query parameter "return" names where to go afterwards; only
// a same-origin relative path is accepted, anything else becomes "/".
func (c *Client) Login(w http.ResponseWriter, r *http.Request) {
	txn := transaction{
		State:    random(),
		Nonce:    random(),
		Verifier: random(),
		Return:   safeReturn(r.URL.Query().Get("return")),
	}
	raw, err := json.Marshal(txn)
	if err == nil {
		var cookie *http.Cookie
		if cookie, err = c.txnCookies.CreateCookie(c.txnName, string(raw)); err == nil {
			http.SetCookie(w, cookie)
		}
	}
	if err != nil {
		c.fail(w, r, http.StatusInternalServerError, "error.failed", "transaction_cookie", err)
		return
	}
	opts := []zrp.AuthURLOpt{
		zrp.WithCodeChallenge(oidc.NewSHACodeChallenge(txn.Verifier)),
		zrp.AuthURLOpt(zrp.WithURLParam("nonce", txn.Nonce)),
		zrp.AuthURLOpt(zrp.WithURLParam("ui_locales", page.Lang(r))),
	}
	if c.cfg.ACRValues != "" {
		opts = append(opts, zrp.AuthURLOpt(zrp.WithURLParam("acr_values", c.cfg.ACRValues)))
	} else if acr := r.URL.Query().Get("acr_values"); acrValues.MatchString(acr) {
		// Step-up: a page that needs a stronger login than the service's
		// default asks for it (OIDC Core 1.0 §3.1.2.1 acr_values); the page
		// checks the session's acr itself afterwards.
		opts = append(opts, zrp.AuthURLOpt(zrp.WithURLParam("acr_values", acr)))
	}
	http.Redirect(w, r, zrp.AuthURL(txn.State, c.rp, opts...), http.StatusFound)
}

// acrValues matches an acceptable acr_values query parameter: one to four
// space-separated level URIs or names.
var acrValues = regexp.MustCompile(`^[A-Za-z0-9:._-]{1,100}( [A-Za-z0-9:._-]{1,100}){0,3}$`)

// Callback finishes the login (OIDC Core 1.0 §3.1.2.5–§3.1.3.7): it checks
// the state against the transaction cookie, exchanges the code with the PKCE
// verifier, verifies the ID token (signature, iss, aud, azp, exp, iat,
// nonce, acr, at_hash), fetches userinfo and requires its sub to match
// (§5.3.2), then sets a new session cookie and redirects to the return path.
// Errors, including those the IdP reports (RFC 6749 §4.1.2.1), end on a
// friendly page; the detail goes to the log.
func (c *Client) Callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	txn, txnErr := c.readTransaction(r)
	c.txnCookies.DeleteCookie(w, c.txnName) // single use, whatever happens next
	if e := q.Get("error"); e != "" {
		key := "error.failed"
		switch e {
		case "access_denied":
			key = "error.cancelled"
		case "login_required", "interaction_required", "consent_required", "account_selection_required":
			key = "error.login_required"
		}
		desc := q.Get("error_description")
		if len(desc) > 200 {
			desc = desc[:200]
		}
		c.fail(w, r, http.StatusBadRequest, key, "idp_error", fmt.Errorf("IdP answered %q: %q", e, desc))
		return
	}
	if txnErr != nil {
		c.fail(w, r, http.StatusBadRequest, "error.expired", "no_transaction", txnErr)
		return
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(txn.State)) != 1 {
		c.fail(w, r, http.StatusBadRequest, "error.expired", "state_mismatch",
			errors.New("state does not match the login transaction of this browser"))
		return
	}
	// RFC 9207 §2: if the IdP names itself, it must be ours.
	if iss := q.Get("iss"); iss != "" && iss != c.cfg.Issuer {
		c.fail(w, r, http.StatusBadRequest, "error.failed", "issuer_mismatch",
			fmt.Errorf("callback iss %q is not the configured issuer", iss))
		return
	}
	code := q.Get("code")
	if code == "" {
		c.fail(w, r, http.StatusBadRequest, "error.failed", "no_code", errors.New("callback without code"))
		return
	}
	ctx := context.WithValue(r.Context(), nonceKey{}, txn.Nonce)
	tokens, err := zrp.CodeExchange[*oidc.IDTokenClaims](ctx, code, c.rp, zrp.WithCodeVerifier(txn.Verifier))
	if err != nil {
		c.fail(w, r, http.StatusBadRequest, "error.failed", "code_exchange", loggable(err))
		return
	}
	claims := tokens.IDTokenClaims
	info, err := zrp.Userinfo[*oidc.UserInfo](ctx, tokens.AccessToken, tokens.Type(), claims.Subject, c.rp)
	if err != nil {
		c.fail(w, r, http.StatusBadGateway, "error.failed", "userinfo", err)
		return
	}
	if c.accounts.disabled(claims.Subject) { // the IdP disabled the account (disabled.go)
		c.fail(w, r, http.StatusForbidden, "error.account_disabled", "account_disabled",
			errors.New("the IdP disabled this account"))
		return
	}
	now := c.cfg.Now()
	s := &Session{
		Subject:    claims.Subject,
		Name:       first(info.Name, claims.Name),
		GivenName:  first(info.GivenName, claims.GivenName),
		FamilyName: first(info.FamilyName, claims.FamilyName),
		Email:      first(info.Email, claims.Email),
		For:        representsName(claims.Claims),
		Acting:     representsClaim(claims.Claims),
		Lang:       localeOf(info, claims),
		Prefill:    prefill(info, claims),
		IDToken:    tokens.IDToken,
		ACR:        claims.AuthenticationContextClassReference,
		AMR:        claims.AuthenticationMethodsReferences,
		AuthTime:   claims.GetAuthTime(),
		Expires:    now.Add(c.cfg.SessionTTL),
		CSRF:       random(),
		SID:        claimString(claims.Claims, "sid"),
		Started:    now,
	}
	if err := c.setSession(w, s); err != nil {
		c.fail(w, r, http.StatusInternalServerError, "error.failed", "session_cookie", err)
		return
	}
	c.log.InfoContext(r.Context(), "login completed", "client_id", c.cfg.ClientID, "acr", s.ACR)
	http.Redirect(w, r, txn.Return, http.StatusSeeOther)
}

// Logout ends the service session and sends the browser to the IdP's
// end_session endpoint (OIDC RP-Initiated Logout 1.0 §2) with id_token_hint,
// post_logout_redirect_uri BaseURL+"/logged-out", client_id and state. It
// accepts only same-origin POSTs (Sec-Fetch-Site/Origin, Go's
// CrossOriginProtection) carrying the session's CSRF token.
func (c *Client) Logout(w http.ResponseWriter, r *http.Request) {
	if err := c.cop.Check(r); err != nil {
		c.fail(w, r, http.StatusForbidden, "error.forbidden", "cross_origin_logout", err)
		return
	}
	s, ok := c.Session(r)
	if !ok {
		c.clearSession(w)
		http.Redirect(w, r, LoggedOutPath, http.StatusSeeOther)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if !webkit.TokenEqual(r.PostFormValue("csrf"), s.CSRF) {
		// The session stays: a forged request must not log the person out.
		c.fail(w, r, http.StatusForbidden, "error.forbidden", "logout_csrf", errors.New("logout without a valid CSRF token"))
		return
	}
	c.clearSession(w)
	endpoint := c.rp.GetEndSessionEndpoint()
	if endpoint == "" {
		http.Redirect(w, r, LoggedOutPath, http.StatusSeeOther)
		return
	}
	// zrp.EndSession calls the endpoint from the server, which cannot end the
	// browser's session at the IdP; the browser must go there itself.
	u, err := url.Parse(endpoint)
	if err != nil {
		c.fail(w, r, http.StatusInternalServerError, "error.failed", "end_session_url", err)
		return
	}
	v := u.Query()
	v.Set("id_token_hint", s.IDToken)
	v.Set("post_logout_redirect_uri", c.cfg.BaseURL+LoggedOutPath)
	v.Set("client_id", c.cfg.ClientID)
	v.Set("state", random())
	v.Set("ui_locales", page.Lang(r))
	u.RawQuery = v.Encode()
	c.log.InfoContext(r.Context(), "logout", "client_id", c.cfg.ClientID)
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// loggedOutPage is the view model of the logged-out page.
type loggedOutPage struct {
	page.Layout
	LoginURL string
}

// LoggedOut is the post-logout landing page: it clears the session cookie
// (again) and offers to log in again.
func (c *Client) LoggedOut(w http.ResponseWriter, r *http.Request) {
	c.clearSession(w)
	c.pages.Render(w, r, http.StatusOK, "loggedout", loggedOutPage{
		Layout:   c.pages.Layout(r, "loggedout.title"),
		LoginURL: LoginPath,
	})
}

// errorPage is the view model of the error page.
type errorPage struct {
	page.Layout
	MessageKey string
	RequestID  string
	RetryURL   string
}

// fail logs err with a request ID and reason and shows the friendly error
// page with the message msgKey.
func (c *Client) fail(w http.ResponseWriter, r *http.Request, status int, msgKey, reason string, err error) {
	id := requestID(r)
	level := c.log.WarnContext
	if status >= http.StatusInternalServerError {
		level = c.log.ErrorContext
	}
	level(r.Context(), "login plumbing refused a request",
		"request_id", id, "reason", reason, "path", r.URL.Path, "client_id", c.cfg.ClientID, "error", err)
	c.pages.Render(w, r, status, "error", errorPage{
		Layout:     c.pages.Layout(r, "error.title"),
		MessageKey: msgKey,
		RequestID:  id,
		RetryURL:   LoginPath,
	})
}

// readTransaction opens the transaction cookie.
func (c *Client) readTransaction(r *http.Request) (transaction, error) {
	var txn transaction
	raw, err := c.txnCookies.CheckCookie(r, c.txnName)
	if err != nil {
		return txn, fmt.Errorf("login transaction cookie: %w", err)
	}
	if err := json.Unmarshal([]byte(raw), &txn); err != nil {
		return txn, fmt.Errorf("login transaction cookie: %w", err)
	}
	if txn.State == "" || txn.Nonce == "" || txn.Verifier == "" {
		return txn, errors.New("login transaction cookie: incomplete")
	}
	txn.Return = safeReturn(txn.Return)
	return txn, nil
}

// safeReturn returns raw if it is a same-origin relative path (starts with
// one "/", no backslash, no control character, not a login route), else "/".
// It is the defence against open redirects (RFC 9700 §4.11).
func safeReturn(raw string) string {
	if raw == "" || len(raw) > 2048 || raw[0] != '/' || strings.HasPrefix(raw, "//") ||
		strings.ContainsRune(raw, '\\') {
		return "/"
	}
	for _, r := range raw {
		if r < 0x20 || r == 0x7f {
			return "/"
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" ||
		!strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	switch u.Path {
	case LoginPath, CallbackPath, LogoutPath, LoggedOutPath:
		return "/"
	}
	u.Fragment = ""
	return u.String()
}

// loggable strips values that must not reach the log from verification
// errors (the nonce error quotes both nonces).
func loggable(err error) error {
	if errors.Is(err, oidc.ErrNonceInvalid) {
		return oidc.ErrNonceInvalid
	}
	return err
}

// first returns the first non-empty string.
func first(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// representsName is the name in the ID token's "represents" claim (the
// organisation or person the login acts for), "" without one.
func representsName(claims map[string]any) string {
	rep, _ := claims["represents"].(map[string]any)
	name, _ := rep["name"].(string)
	return name
}

// representsClaim decodes the ID token's "represents" claim; nil without one
// or when it is malformed.
func representsClaim(claims map[string]any) *Represents {
	rep, ok := claims["represents"].(map[string]any)
	if !ok {
		return nil
	}
	str := func(k string) string { v, _ := rep[k].(string); return v }
	r := &Represents{Kind: str("kind"), ID: str("id"), Sub: str("sub"), Name: str("name"), UID: str("uid"),
		Representation: str("representation")}
	if roles, ok := rep["roles"].([]any); ok {
		for _, x := range roles {
			if s, ok := x.(string); ok {
				r.Roles = append(r.Roles, s)
			}
		}
	}
	switch {
	case r.Kind == ActingOrganisation && r.ID != "", r.Kind == ActingPerson && r.Sub != "":
		return r
	}
	return nil
}

// localeOf returns the person's language (de, fr, it, en) from the locale
// claim of userinfo or the ID token; "" for anything else.
func localeOf(info *oidc.UserInfo, claims *oidc.IDTokenClaims) string {
	for _, l := range []*oidc.Locale{info.Locale, claims.Locale} {
		if l == nil {
			continue
		}
		base, _ := l.Tag().Base()
		for _, lang := range page.Languages {
			if base.String() == lang {
				return lang
			}
		}
	}
	return ""
}

// prefill collects the contact data of userinfo (OIDC Core 1.0 §5.1), with
// the ID token's claims as fallback.
func prefill(info *oidc.UserInfo, claims *oidc.IDTokenClaims) Prefill {
	p := Prefill{
		Birthdate: first(info.Birthdate, claims.Birthdate),
		Phone:     first(info.PhoneNumber, claims.PhoneNumber),
	}
	if a := info.Address; a != nil {
		p.Street, p.PostalCode, p.Locality, p.Country = a.StreetAddress, a.PostalCode, a.Locality, a.Country
	}
	return p
}
