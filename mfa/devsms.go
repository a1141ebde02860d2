package mfa

import (
	"context"
	"sync"
	"time"
)

var _ SMSSender = (*DevSMS)(nil)

// DevSMSMessage is an SMS kept by DevSMS.
type DevSMSMessage struct {
	To     string // E.164
	Body   string
	SentAt time.Time
}

// DevSMS is the SMSSender of the embedded mode without Twilio credentials:
// it keeps the most recent messages in memory for the dev outbox page and
// for tests. It is safe for concurrent use. Like the dev outbox, it must
// never serve real users: its messages hold valid codes.
type DevSMS struct {
	now func() time.Time
	max int

	mu    sync.Mutex
	items []DevSMSMessage // oldest first
}

// NewDevSMS returns a DevSMS that keeps the last size messages (200 if
// size is 0), stamped with now (time.Now if nil).
func NewDevSMS(size int, now func() time.Time) *DevSMS {
	if size <= 0 {
		size = 200
	}
	if now == nil {
		now = time.Now
	}
	return &DevSMS{now: now, max: size}
}

// SendSMS keeps the message, dropping the oldest when full.
func (d *DevSMS) SendSMS(_ context.Context, to, body string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.items = append(d.items, DevSMSMessage{To: to, Body: body, SentAt: d.now()})
	if len(d.items) > d.max {
		d.items = append(d.items[:0:0], d.items[len(d.items)-d.max:]...)
	}
	return nil
}

// Messages returns the kept messages, newest first.
func (d *DevSMS) Messages() []DevSMSMessage {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]DevSMSMessage, len(d.items))
	for i, m := range d.items {
		out[len(out)-1-i] = m
	}
	return out
}

// Last returns the newest message to the E.164 number to.
func (d *DevSMS) Last(to string) (DevSMSMessage, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := len(d.items) - 1; i >= 0; i-- {
		if d.items[i].To == to {
			return d.items[i], true
		}
	}
	return DevSMSMessage{}, false
}
