// Package twiliotest is an HTTP server speaking the part of Twilio's REST
// API that mfa/twilio uses (creating a Message, API 2010-04-01), for tests
// of the real twilio-go client on loopback. It checks Basic authentication
// and the form fields the way Twilio does, answers with Twilio's JSON
// shapes, records every accepted message and can be told to fail. It never
// sends anything anywhere.
//
// It owns nothing of production: only tests import it (mfa, mfa/twilio, and
// the end-to-end step-up tests, which read codes with LastCode).
package twiliotest
