// Package web serves the identity provider's pages: login, registration,
// activation, password reset, logout, the account home page, the dev
// outbox (embedded mode only) and, underneath, the OIDC protocol endpoints
// of idp/provider. It owns cookies, CSRF protection, security headers,
// language selection and rate-limit answers; the rules themselves are in
// idp and the page markup in templates.
package web
