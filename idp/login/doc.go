// Package login takes a login from its first factor to its next step:
// open the session, ask for a second factor, guide the person to enrol one,
// refuse a level the account cannot reach, ask "Für wen handeln Sie?",
// ask which profile the service sees, or complete the auth request.
//
// It owns the rules, as data and plain functions: the level a login needs
// (the auth request's, the account's two-factor setting, and the
// re-authentication an action demands, see Actions), and, decided once for
// both the SSO path of the provider and the login pages, whether the person
// must choose an acting context or a profile. It reads the auth request once
// per step and writes it once (Requests), and records that a login acted for
// someone else only when the login completes.
//
// It does not own HTTP (idp/web renders the steps; it must not import
// net/http), the auth request's storage and protocol (idp/provider), the
// second-factor ceremonies (mfa), or whom a person may act for
// (delegation). Its contracts are small interfaces declared here.
package login
