package signin

import (
	"github.com/kanton/kundencenter/templates"
)

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
	Next          string         // posted back as "next": the local page after the login (re-authentication)
	Passkey       bool           // offer "log in with a passkey" (passwordless)
}

// upstreamLink is a button to log in through an upstream identity provider.
type upstreamLink struct {
	Name string // shown as "Anmelden mit <Name>"
	URL  string // GET starts the upstream login
	Kind string // connector type: "swissid" gets SwissID's own button
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

// loginMFAView is page "login_mfa": the second factor of a login. The
// SMS form sends a code (or, with CodeSent, takes it), the passkey form is
// driven by /static/passkey.js, the recovery form takes a saved code.
type loginMFAView struct {
	templates.Page
	AuthRequestID   string // posted back; also decides whether "Abbrechen" returns to the service
	ClientName      string
	SMS             bool   // the account has a bound number and SMS reaches the level
	MaskedPhone     string // "+41 79 *** ** 67"
	CodeSent        bool   // a code is pending: show the code field and "resend"
	Passkey         bool   // the account has passkeys
	PasskeyOptions  string // JSON options of a pending passkey ceremony, for passkey.js
	PasskeyCeremony string // its ID, posted back
	Recovery        bool   // unused recovery codes exist and reach the level
	HighNeeded      bool   // only a passkey reaches the level: say so
}

// mfaUnmetView is page "mfa_unmet": the service needs a stronger factor
// than the account has.
type mfaUnmetView struct {
	templates.Page
	AuthRequestID string
	CancelAction  string // POST: back to the service with unmet_authentication_requirements
	SecurityURL   string
}

// loginPasskeyView is page "login_passkey": a passwordless login with a
// discoverable passkey, started at once by passkey.js.
type loginPasskeyView struct {
	templates.Page
	AuthRequestID string
	Ceremony      string // "" after a refusal: offer to start again
	Options       string // the ceremony's JSON options
	BackURL       string
}

// loginContextView is page "login_context": "Für wen handeln Sie?" — the
// person themself, an organisation or a represented person, for one login
// to one service.
type loginContextView struct {
	templates.Page
	AuthRequestID string
	ClientName    string
	SelfName      string
	Options       []actingOption // the first is the person themself
	Selected      string
}

// activateView is page "activate": the landing page of the activation
// link, with the button that confirms the address.
type activateView struct {
	templates.Page
	Action        string
	Token         string // posted back
	AuthRequestID string // posted back, optional
}
