// Package idp is the OpenID provider's domain: accounts, clients, signing
// keys, refresh tokens, sessions and the rules that govern them (password
// policy, Konto-ID, registration, activation, login, password reset).
//
// It declares the store contracts it needs (Store for durable state,
// Ephemeral for short-lived state) and leaves their implementation to the
// adapters under store/. It does not speak HTTP or OIDC itself: the OpenID
// provider built on zitadel/oidc lives in idp/provider and the login pages
// in idp/web.
package idp
