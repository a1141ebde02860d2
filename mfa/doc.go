// Package mfa owns second factors and step-up. Today it holds the SMS
// one-time-code core (issue 3): Service sends a six-digit code to a Swiss
// or Liechtenstein mobile number and checks it, and PhoneNumber/ParsePhone
// normalise numbers to E.164. Passkeys (WebAuthn), recovery codes and the
// mapping of factors to authentication levels (acr) are still to come.
//
// # SMS codes
//
// We generate and check codes ourselves and only hand the finished text to
// an SMSSender (Twilio Programmable Messaging in production, see
// mfa/twilio; DevSMS in embedded mode), rather than using Twilio Verify.
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
// What mfa does not do: decide when a second factor is needed, bind a
// number to an account (the caller stores the verified number sealed in
// the durable store after a PurposeEnrol or PurposePhoneChange challenge),
// or render pages. It imports no database or HTTP code; it declares the
// SMSSender it needs and keeps its state in an idp.Ephemeral.
package mfa
