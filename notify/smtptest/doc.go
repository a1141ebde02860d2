// Package smtptest runs a small SMTP server on loopback for tests: it speaks
// EHLO/HELO, optional STARTTLS or implicit TLS, optional AUTH PLAIN, MAIL,
// RCPT, DATA, RSET, NOOP and QUIT (RFC 5321), keeps every accepted message
// and decodes its subject and its text and HTML parts. It is a real protocol
// peer for the SMTP sender and for end-to-end tests, not a mock; it relays
// nothing.
package smtptest
