// Package web serves the identity provider's pages: it assembles the
// areas on one mux — signin (login, registration, activation, reset,
// logout), account (Mein Konto, security, my data, profiles) and orgs
// (organisations and representations) — and serves the portal pages
// itself (overview, catalogue, contact, legal pages, integration guide),
// the notifications API, the dev outbox (embedded mode only) and,
// underneath, the OIDC protocol endpoints of idp/provider.
//
// What the areas share is in idp/web/kit: routes behind the CSRF guard of
// every form, headers, the session loaded once per request, render and
// one error function. Its generic half, package webkit, is shared with the
// bundled services. The rules themselves are in idp, the login's steps in
// idp/login, mfa, delegation and connectors, the page markup in
// templates. Package wire assembles it.
package web
