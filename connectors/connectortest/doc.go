// Package connectortest runs a real OpenID provider on loopback for tests
// of the connectors and, later, of the login pages in Chromium: a
// zitadel/oidc op.Provider with a small in-memory storage, configured to
// behave like SwissID (ForgeRock-style paths under /idp/oauth2, acr qoa1 or
// qoa2 as acr_values asks, urn:swissid:* claims, userinfo answered as a JWT
// signed HS256 with the client secret, error redirects such as
// authentication_cancelled).
//
// There is no login form: the provider's login page logs in the user the
// test chose with SetUser at once and redirects back, so a browser
// "logs in" by following redirects. Knobs make the provider misbehave
// (tampered or unsigned ID tokens, userinfo signed with the wrong key, …)
// for refusal tests. It is test support only and never part of a binary.
package connectortest
