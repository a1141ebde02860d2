// Package rptest runs a real OpenID provider on loopback for the tests of the
// bundled services: zitadel/oidc's op package on top of its example storage,
// with ES256 signing keys like the Kundencenter IdP, PKCE S256, a tiny login
// form, and hooks to tamper with authorization requests. CheckService runs
// the checks every bundled service must pass against it, and Golden compares
// rendered pages with golden files. It is test support and must not be
// imported by production code.
package rptest
