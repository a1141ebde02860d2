package web

import "github.com/kanton/kundencenter/templates"

// View models of the IdP's pages, one per page in templates/pages/. Each
// embeds templates.Page; pass a pointer to templates.Renderer.Render with the
// page name given in the comment.
//
// Field ids equal field names (email, password, password_repeat, given_name,
// family_name), so a templates.FieldError's Field is the form field's name;
// "" makes a form-level error (e.g. err.login_failed, err.csrf,
// err.rate_limited). Page.Title may stay empty: every page has a default
// title and uses it for both <title> and <h1>. Optional URLs left empty hide
// their link.

// loginView is page "login": e-mail and password, posted to Action.
type loginView struct {
	templates.Page
	Action        string         // form action (POST)
	ClientName    string         // name of the service the user logs in to; "" hides the line
	Email         string         // kept after a failed attempt; never the password
	AuthRequestID string         // posted back as hidden field "authRequestID"
	RegisterURL   string         // "Konto eröffnen"
	ResetURL      string         // "Passwort vergessen?"
	Upstreams     []upstreamLink // other ways to log in (SwissID, AGOV), optional
}

// upstreamLink is a button to log in through an upstream identity provider.
type upstreamLink struct {
	Name string // shown as "Anmelden mit <Name>"
	URL  string // GET starts the upstream login
}

// registerView is page "register": name, e-mail and password twice.
// After an error the handler keeps the entered names and e-mail address but
// never the passwords.
type registerView struct {
	templates.Page
	Action        string
	GivenName     string
	FamilyName    string
	Email         string
	AuthRequestID string // optional, posted back as "authRequestID"
	LoginURL      string // "Sie haben bereits ein Konto? Anmelden"
}

// registerDoneView is page "register_done": the same wording whether the
// address was new or already known, so the page reveals nothing.
type registerDoneView struct {
	templates.Page
	Email       string // the address as entered; "" for a generic text
	RegisterURL string // "Erneut registrieren", optional
}

// activateDoneView is page "activate_done": the result of an activation link.
type activateDoneView struct {
	templates.Page
	Failed      bool   // the link was invalid, expired or already used
	KontoID     string // shown on success
	LoginURL    string
	RegisterURL string // offered on failure: registering again sends a new link
}

// resetRequestView is page "reset_request": the e-mail address to send a
// reset link to.
type resetRequestView struct {
	templates.Page
	Action   string
	Email    string
	LoginURL string // "Zurück zur Anmeldung", optional
}

// resetRequestDoneView is page "reset_request_done": "if an account exists
// for this address, we sent a link", whether or not one exists.
type resetRequestDoneView struct {
	templates.Page
	Email    string // "" for a generic text
	LoginURL string
}

// resetView is page "reset": the new password twice, with the link's token
// posted back as hidden field "token".
type resetView struct {
	templates.Page
	Action string
	Token  string
}

// resetDoneView is page "reset_done": password changed, all sessions ended.
type resetDoneView struct {
	templates.Page
	LoginURL string
}

// logoutConfirmView is page "logout_confirm": asks before logging out
// (OIDC RP-Initiated Logout 1.0 §2 lets the OP ask the user).
type logoutConfirmView struct {
	templates.Page
	Action    string
	LogoutID  string // posted back as hidden field "logoutID"
	CancelURL string // optional
}

// loggedOutView is page "logged_out".
type loggedOutView struct {
	templates.Page
	ReturnURL  string // validated post_logout_redirect_uri, optional
	ReturnName string // the service's name for "Zurück zu «…»"; "" for a generic link
	LoginURL   string // optional
}

// accountView is page "account": the minimal "Mein Konto" home. Its logout
// button posts to /logout.
type accountView struct {
	templates.Page
	Name     string
	Email    string
	KontoID  string
	Services []serviceLink
}

// serviceLink is one service on the account page.
type serviceLink struct {
	Name string
	URL  string
}

// errorView is page "error": a fixed, friendly message in the user's
// language plus Page.RequestID; the details belong in the log.
type errorView struct {
	templates.Page
	MessageKey string // e.g. "err.link_invalid"; "" means err.internal
	BackURL    string // "" links to the start page
}
