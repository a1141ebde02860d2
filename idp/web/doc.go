// Package web serves the identity provider's pages: login (password,
// second factor, passkey, upstream identity providers), registration,
// activation, password reset, logout, the account pages (profile,
// security with second factors, passkeys and the sign-in history, my
// data, deletion), organisations and representations, the portal pages
// (overview, catalogue, contact, integration guide), the dev outbox
// (embedded mode only) and, underneath, the OIDC protocol endpoints of
// idp/provider. It owns cookies, CSRF protection, security headers,
// language selection and rate-limit answers; the rules themselves are in
// idp, the login's steps in idp/login, mfa, delegation and connectors, the
// page markup in templates. Package wire assembles it.
//
// The small kit every page uses: routes and headers (web.go), the CSRF
// check applied once to every state-changing form (csrf.go), the session
// and the header's name loaded once per request (session.go), render
// (pages.go) and one error function, problem/fail (errors.go).
package web
