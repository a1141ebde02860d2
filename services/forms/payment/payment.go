// Package payment holds the form service's view of a payment: the canonical
// states with their monotonic transitions, and the Provider contract a
// payment service provider (package datatrans) implements. It owns no
// storage and no HTTP handlers.
package payment

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// Status is the canonical state of a payment.
type Status string

// The canonical states. A payment starts pending; authorized and captured
// count as paid (fees are captured at once with autoSettle).
const (
	Pending    Status = "pending"
	Authorized Status = "authorized"
	Captured   Status = "captured"
	Failed     Status = "failed"
	Canceled   Status = "canceled"
	Refunded   Status = "refunded"
)

// Paid reports whether the money is secured: authorized or captured.
func (s Status) Paid() bool { return s == Authorized || s == Captured }

// Final reports whether no transition leaves s except a refund.
func (s Status) Final() bool { return s == Failed || s == Canceled || s == Refunded }

// Valid reports whether s is one of the canonical states.
func (s Status) Valid() bool {
	switch s {
	case Pending, Authorized, Captured, Failed, Canceled, Refunded:
		return true
	}
	return false
}

// CanMove reports whether a payment in from may move to to. Transitions
// only go forward, so a duplicate or out-of-order notification (an
// "authorized" after "captured", a "pending" after anything) changes
// nothing:
//
//	pending → authorized | captured | failed | canceled
//	authorized → captured | canceled | failed
//	captured → refunded
func CanMove(from, to Status) bool {
	switch from {
	case Pending:
		return to == Authorized || to == Captured || to == Failed || to == Canceled
	case Authorized:
		return to == Captured || to == Canceled || to == Failed
	case Captured:
		return to == Refunded
	}
	return false
}

// InitRequest starts a payment at the provider.
type InitRequest struct {
	Ref            string   // our reference (refno), unique per payment
	Amount         int64    // in Rappen
	Currency       string   // "CHF"
	Methods        []string // Datatrans codes (TWI, PFC, VIS, ECA)
	Lang           string   // de, fr, it, en
	SuccessURL     string
	CancelURL      string
	ErrorURL       string
	WebhookURL     string
	IdempotencyKey string // the same key never starts a second payment
}

// Session is a started payment: where to send the browser.
type Session struct {
	PSPID       string // the provider's transaction id
	RedirectURL string
	ExpiresAt   time.Time
}

// Event is what the provider says about a payment, from a verified webhook
// or a status query.
type Event struct {
	PSPID  string
	Ref    string
	Status Status
	Method string // payment method code, e.g. "TWI"
	Amount int64
}

// Provider is a payment service provider.
type Provider interface {
	// Init registers a payment and returns the payment page to redirect to.
	Init(ctx context.Context, req InitRequest) (Session, error)
	// VerifyWebhook checks the signature of a notification over its raw
	// body and decodes it; ErrBadSignature when the check fails.
	VerifyWebhook(h http.Header, body []byte) (Event, error)
	// Status asks the provider for the state of a payment.
	Status(ctx context.Context, pspID string) (Event, error)
}

// ErrBadSignature is returned by VerifyWebhook for a missing or wrong
// signature.
var ErrBadSignature = errors.New("payment: webhook signature missing or wrong")
