// Package mfa will own second factors and step-up: SMS one-time codes
// through Twilio, WebAuthn passkeys, recovery codes, and the mapping of
// factors to authentication levels (acr). Nothing is implemented yet; the
// foundation authenticates with one factor (password, acr
// urn:kundencenter:loa:low). See the open issue on second factors.
package mfa
