// Package rp is the login plumbing shared by the bundled services (status,
// forms, documents): an OpenID Connect relying party of the Kundencenter IdP,
// built on zitadel/oidc's client (imported as zrp).
//
// It owns the authorization code flow with PKCE S256, state and nonce
// (OIDC Core 1.0 §3.1.2, RFC 7636), the callback with ID-token and userinfo
// verification (OIDC Core 1.0 §3.1.3.7, §5.3.2), the encrypted session
// cookie, logout through the IdP's end_session endpoint (OIDC RP-Initiated
// Logout 1.0 §2), the /logged-out landing page and the security headers of
// every response.
//
// It talks to the IdP over HTTP only and never imports package idp. It keeps
// no server-side state: the login transaction and the session live in
// cookies sealed with Config.CookieKey, so any instance of a service can
// finish a login another instance started. Only what the IdP pushes is
// kept, in memory: sessions ended by back-channel logout (backchannel.go)
// and accounts an operator disabled (RISC account-disabled, until
// account-enabled: disabled.go), whose sessions end and whose logins are
// refused with a 403 page.
//
// The state, nonce and PKCE verifier of a login are kept in one transaction
// cookie per service rather than in zitadel's fixed "state" and "pkce"
// cookies: cookies are not scoped by port, so on localhost the three
// services and the IdP would overwrite each other's cookies.
package rp
