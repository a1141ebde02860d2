// Package api is the machine side shared by the bundled services: the
// back-office APIs' errors (RFC 9457 problem details), strict JSON decoding,
// bearer-token authentication by introspection at the IdP (RFC 7662) with
// scopes, client-credentials tokens for calling another service (RFC 6749
// §4.4), and the IdP's notification endpoint, through which services have
// general e-mails sent without ever holding an address.
//
// Like package rp it talks to the IdP over HTTP only and never imports
// package idp.
package api
