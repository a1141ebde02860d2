// Package web serves the identity provider's pages: login, registration,
// activation, password reset, logout, the account home page, the dev
// outbox (embedded mode only) and, underneath, the OIDC protocol endpoints
// of idp/provider. It owns cookies, CSRF protection, security headers,
// language selection and rate-limit answers; the rules themselves are in
// idp, the login's steps in idp/login and the page markup in templates.
//
// The small kit every page uses: routes and headers (web.go), the CSRF
// check applied once to every state-changing form (csrf.go), the session
// and the header's name loaded once per request (session.go), render
// (pages.go) and one error function, problem/fail (errors.go).
package web
