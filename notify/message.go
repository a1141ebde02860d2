package notify

import "context"

// Message is a rendered e-mail ready to be sent.
type Message struct {
	To      string // bare recipient address
	Subject string
	Text    string // plain-text part
	HTML    string // HTML part; may be empty

	// MessageID is the left part of the Message-ID header, stable across
	// retries of one job; the sender adds "@" and the sender's domain.
	// Empty means the sender picks a random one.
	MessageID string
	// Template names the template that produced the message (informational,
	// for the dev outbox and tests).
	Template string
}

// Sender delivers a message. An error means it may not have been delivered
// and the caller may try again later.
type Sender interface {
	Send(ctx context.Context, m Message) error
}
