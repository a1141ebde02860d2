package account

import (
	"time"

	"github.com/kanton/kundencenter/templates"
)

// accountView is page "account": the minimal "Mein Konto" home. Its logout
// button posts to /logout.
type accountView struct {
	templates.Page
	Name     string
	Email    string
	KontoID  string
	Services []serviceLink
	// Federation shows the linked logins (SwissID, AGOV) with Links;
	// each can be removed by a POST to /account/links/remove.
	Federation bool
	Links      []linkRow
}

// serviceLink is one service on the account page.
type serviceLink struct {
	Name string
	URL  string
}

// securityView is page "security" ("Sicherheit"): the bound number, the
// two-factor switch, passkeys and recovery codes. Changes need a fresh
// login (Fresh); otherwise the page offers ReauthURL.
type securityView struct {
	templates.Page
	Phone           string // masked bound number, "" when none
	HasPhone        bool
	PhoneInput      string // the number as typed, after a refused attempt
	Required        bool   // two-factor login is on
	CanRequire      bool   // a factor exists, so it can be switched on
	Passkeys        []passkeyRow
	PasskeyOptions  string // JSON options of a pending registration, for passkey.js
	PasskeyCeremony string // its ID, posted back
	PasskeyName     string // the name as typed, after a refused registration
	RecoveryLeft    int
	Fresh           bool
	ReauthURL       string
	Enrol           bool // arrived from a service that needs two factors
	Recovered       bool // logged in with a recovery code: bind a new factor
	AuthRequestID   string
	ContinueURL     string // back to the pending service, when there is one
	ContinueName    string
	ContinueReady   bool // the session now reaches the service's level
}

// passkeyRow is one registered passkey.
type passkeyRow struct {
	ID       string // base64url credential ID, posted to remove it
	Name     string
	Created  time.Time
	LastUsed time.Time
}

// phoneCodeView is page "security_phone": enter the code sent to a new number.
type phoneCodeView struct {
	templates.Page
	Challenge     string // posted back
	MaskedPhone   string
	AuthRequestID string
	Expired       bool // the challenge is gone: start again
}

// recoveryCodesView is page "recovery_codes": the new codes, shown once.
type recoveryCodesView struct {
	templates.Page
	Codes   []string
	BackURL string
}
