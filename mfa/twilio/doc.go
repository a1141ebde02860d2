// Package twilio sends the SMS of package mfa through Twilio Programmable
// Messaging (POST /2010-04-01/Accounts/{AccountSid}/Messages.json) with the
// official github.com/twilio/twilio-go client.
//
// Why Programmable Messaging and not Twilio Verify: mfa generates and checks
// the codes itself, so that the attempt limit, the resend rule (no reset
// of the failure count), the sending budgets, the dev outbox of the
// embedded mode and the fail-closed behaviour when Redis is down are ours
// and tested the same way with and without Twilio. Twilio only delivers a
// finished text. Configure Geo Permissions (CH, LI) and a Messaging
// Service in the Twilio console as a second line of defence.
//
// The package owns the mapping of Twilio's error answers to errors that
// carry the HTTP status and Twilio error code but never Twilio's message
// text, which may quote the phone number. It does not own retries: a
// failed send fails the challenge, and the user asks again.
//
// Tests point Config.BaseURL at a twiliotest server: the HTTP transport
// redirects the requests that twilio-go builds for https://api.twilio.com,
// so the real client code encodes, authenticates and decodes them.
package twilio
