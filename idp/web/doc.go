// Package web serves the identity provider's pages: login (password,
// second factor, passkey, upstream identity providers), registration,
// activation, password reset, logout, the account pages (profile,
// security with second factors and passkeys, my data, deletion),
// organisations and representations, the portal pages (overview,
// catalogue, contact), the dev outbox (embedded mode only) and,
// underneath, the OIDC protocol endpoints of idp/provider. It owns
// cookies, CSRF protection, security headers, language selection and
// rate-limit answers; the rules themselves are in idp, mfa, delegation and
// connectors, the page markup in templates. Package wire assembles it.
package web
