// Package kit is the small kit the areas of the IdP's pages share (signin,
// account, orgs and the portal pages in idp/web): the configuration,
// Page (routes behind the CSRF guard and the page headers), Wrap
// (security headers, request ID, client IP, per-request state), the
// session and the header's name loaded once per request (session.go),
// Render and Lang (render.go) and one error function, Problem/Fail
// (errors.go). What is not specific to the IdP is in package webkit,
// which the services share.
package kit

import (
	"context"
	"net/http"
	"net/netip"

	"github.com/kanton/kundencenter/catalogue"
	"github.com/kanton/kundencenter/connectors"
	"github.com/kanton/kundencenter/delegation"
	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/mfa"
	"github.com/kanton/kundencenter/mfa/passkey"
	"github.com/kanton/kundencenter/portal"
	"github.com/kanton/kundencenter/templates"
)

// Config configures the pages.
type Config struct {
	// Issuer is the IdP's public base URL.
	Issuer string
	// Secure marks cookies Secure with the __Host- prefix and sends HSTS; on
	// whenever the issuer is https.
	Secure bool
	// CSRFKey keys the CSRF tokens (32 random bytes, same on every instance).
	CSRFKey []byte
	// TrustedProxies are the peers whose X-Forwarded-For is believed for the
	// client IP used in rate limits; empty means the TCP peer is the client.
	TrustedProxies []netip.Prefix
	// DevOutbox, when set (embedded mode without SMTP), is served at /dev/outbox.
	DevOutbox http.Handler
	// Services are the bundled services linked from the account page.
	Services []Service
	// Factors manages second factors (SMS, recovery codes); nil disables
	// the security page and every second-factor step.
	Factors *mfa.Factors
	// Passkeys runs WebAuthn ceremonies; nil hides passkeys.
	Passkeys *passkey.Service
	// Acting decides whom a login may act for (organisations,
	// representations): "Für wen handeln Sie?". nil: nobody else.
	Acting idp.ActingResolver
	// Orgs runs the organisation pages ("Organisationen", /orgs); nil
	// disables them.
	Orgs *delegation.Service
	// Federation runs logins through upstream identity providers (SwissID,
	// AGOV; package signin); nil hides them.
	Federation *Federation
	// Portal configures the portal pages (navigation, catalogue, contact,
	// overview, enablement; idp/web and signin).
	Portal Portal
}

// Service is a link to an integrated service.
type Service struct{ ID, Name, URL string }

// Portal configures the pages that make the IdP and the services one
// portal: the main navigation and footer on every page, and the portal's
// own pages (overview, catalogue, contact, enablement).
type Portal struct {
	// Links are the public base URLs of the IdP and the bundled services;
	// an empty IdP URL means Config.Issuer.
	Links templates.PortalLinks
	// Catalogue is the service catalogue; nil hides "Dienstleistungen".
	Catalogue *catalogue.Catalogue
	// Enablements stores enablement requests; nil: no service can be
	// requested and logins are not held back for enablement.
	Enablements *portal.Enablements
	// Summaries fills the overview's service boxes; nil shows none.
	Summaries *portal.Summaries
	// ContactTo is the support address contact requests are mailed to
	// (KC_CONTACT_TO); "" hides the contact form.
	ContactTo string
	// Mail enqueues an e-mail in the outbox (notify.SealMail +
	// EnqueueOutgoing); nil drops portal mails.
	Mail func(ctx context.Context, m idp.Mail) error
}

// Federation configures logins through upstream identity providers.
type Federation struct {
	// Flow runs the redirects; its Registry lists the connectors in the
	// order of the login page's buttons.
	Flow *connectors.Flow
	// Options per connector ID; a connector without entry takes the
	// defaults (generic button, StepUpUpstream).
	Options map[string]ConnectorOptions
}

// ConnectorOptions are the login page's settings of one connector.
type ConnectorOptions struct {
	// Type is the connector type (connectors.TypeSwissID, TypeOIDC); it
	// selects the button (SwissID's has its own wording and style).
	Type string
	// StepUp says how a linked login too weak for the service is stepped
	// up: StepUpUpstream asks the provider again at the level needed
	// (SwissID: acr_values=qoa2, prompt=login), StepUpLocal asks for the
	// account's own second factor.
	StepUp string
}

// Step-up modes of ConnectorOptions.StepUp.
const (
	StepUpUpstream = "upstream"
	StepUpLocal    = "local"
)

// CallbackPath is where upstream providers send the browser back: the
// connectors' RedirectURL is the issuer followed by this path.
const CallbackPath = "/login/external/callback"

func (h *Kit) ConnectorName(id string) string {
	if c, ok := h.Cfg.Federation.Flow.Connectors.Get(id); ok {
		return c.DisplayName()
	}
	return id
}
