// Package mfa owns an account's second factors:
//
//   - Service, the SMS one-time codes: it sends a six-digit code to a Swiss
//     or Liechtenstein mobile number and checks it; PhoneNumber/ParsePhone
//     normalise numbers to E.164;
//   - Factors, what the security page and the login step call: binding and
//     removing the mobile number, the two-factor switch, the saved
//     recovery codes, the notices each change owes the user, and the
//     status of all factors (Status, Settings, Credentials);
//   - the store contracts of the factors (Store, WebAuthnStore with
//     Settings, RecoveryCode, WebAuthnCredential), implemented by the
//     durable store (store/sqlstore) next to idp.Store;
//   - mfa/passkey, the WebAuthn ceremonies of passkeys, and mfa/twilio, the
//     SMS sender of production.
//
// # SMS codes
//
// We generate and check codes ourselves and only hand the finished text to
// an SMSSender (Twilio Programmable Messaging in production, see
// mfa/twilio; notify.DevOutbox in embedded mode), rather than using Twilio Verify.
// That keeps the attempt limit, the resend rule, the sending budgets, the
// dev outbox and the fail-closed behaviour in our code, where they are
// tested, and works the same without Twilio.
//
// The lifecycle follows reference/security-anchors.md ("OTP", "SMS
// pumping") and NIST SP 800-63B-4 §3.1.3:
//
//   - a code is 6 digits from crypto/rand (uniform), valid CodeTTL (5 min
//     by default, 10 min at most), single use (consumed with Take);
//   - only an HMAC-SHA-256 of the code, keyed with Config.Key and bound to
//     challenge, account, purpose, number and send, is stored, in the
//     ephemeral store under a 130-bit random challenge ID;
//   - every check counts in a per-challenge counter (Incr) before the
//     comparison, so even parallel guesses get at most MaxAttempts (5)
//     tries; the failing last one deletes the challenge (ErrLocked); a
//     resend gives a new code but never resets the count;
//   - budgets per IP, account, number, number prefix, country and globally
//     bound what an attacker can make us send; numbers outside the allowed
//     countries or mobile ranges are refused before anything is counted;
//   - when the ephemeral store fails, nothing is sent (ErrUnavailable);
//     when sending fails, the challenge is deleted (ErrSend);
//   - codes and full numbers never appear in logs or errors (PhoneNumber
//     logs itself masked: "+41 79 *** ** 67").
//
// Guessing is bounded per account: each challenge needs an SMS, so at most
// Budgets.Account × MaxAttempts guesses per hour (25 by default) against
// 10^6 codes.
//
// What mfa does not do: decide when a login needs a second factor (the
// login step does, from the level a client requires and Factors.Status),
// or render pages. It imports no database driver, job queue or HTTP code
// (deps_test.go at the module root checks it); it declares the SMSSender
// and the stores it needs, and keeps the code ceremonies in an
// idp.Ephemeral.
package mfa
