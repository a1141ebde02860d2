package rp

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"
)

// RISC 1.0 events (§2.5, §2.6) the IdP pushes when an operator disables or
// enables an account; the package handles them itself, before
// Config.OnSecurityEvent sees them.
const (
	EventAccountDisabled = "https://schemas.openid.net/secevent/risc/event-type/account-disabled"
	EventAccountEnabled  = "https://schemas.openid.net/secevent/risc/event-type/account-enabled"
)

// enabledMemory is how long an account-enabled event is remembered: longer
// than the IdP retries a SET (about three days), so that an older
// account-disabled delivered late is recognised as older and ignored.
const enabledMemory = 4 * 24 * time.Hour

// accountStates remembers the accounts the IdP disabled: their sessions at
// the service are over (through the revocation set) and their logins are
// refused at the callback until an account-enabled event arrives. Events
// carry the time of the change (toe); an event older than the one already
// applied for the subject is ignored, as deliveries may overtake each other.
//
// Like the revocation set it lives in memory, per instance: after a restart
// the service admits the account again, and the IdP, which refuses the
// disabled account's logins itself, remains the authority.
type accountStates struct {
	mu sync.Mutex
	m  map[string]accountState // subject → latest state
}

type accountState struct {
	disabled bool
	toe      time.Time // when the IdP changed the status
	until    time.Time // forget an enabled entry then; zero for disabled
}

func newAccountStates() *accountStates { return &accountStates{m: map[string]accountState{}} }

var errAccountStatesFull = errors.New("account state set full")

// apply records a disable or enable of sub at toe; false if an event after
// toe was applied already (an overtaken delivery). toe has whole seconds:
// of two events in the same second the later delivery wins.
func (a *accountStates) apply(sub string, disabled bool, toe, now time.Time) (bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	old, ok := a.m[sub]
	if ok && toe.Before(old.toe) {
		return false, nil
	}
	if !ok {
		a.prune(now)
		if len(a.m) >= maxRevocations {
			return false, errAccountStatesFull
		}
	}
	s := accountState{disabled: disabled, toe: toe}
	if !disabled {
		s.until = now.Add(enabledMemory)
	}
	a.m[sub] = s
	return true, nil
}

// disabled reports whether the IdP disabled sub (and has not enabled it
// since).
func (a *accountStates) disabled(sub string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.m[sub].disabled
}

func (a *accountStates) prune(now time.Time) {
	for k, v := range a.m {
		if !v.disabled && !now.Before(v.until) {
			delete(a.m, k)
		}
	}
}

// applyAccountEvent handles account-disabled (the subject's sessions end,
// its logins are refused) and account-enabled (logins are accepted again;
// ended sessions stay ended). Other events are left alone.
func (c *Client) applyAccountEvent(ctx context.Context, ev SecurityEvent) error {
	if ev.Type != EventAccountDisabled && ev.Type != EventAccountEnabled {
		return nil
	}
	now := c.cfg.Now()
	toe := ev.At
	if toe.IsZero() {
		toe = now
	}
	disabled := ev.Type == EventAccountDisabled
	fresh, err := c.accounts.apply(ev.Subject, disabled, toe, now)
	if err != nil {
		return err
	}
	var p struct {
		Reason string `json:"reason"`
	}
	_ = json.Unmarshal(ev.Payload, &p)
	if reason := p.Reason; reason != "hijacking" && reason != "bulk-account" {
		p.Reason = "" // only RISC's reasons reach the log
	}
	if disabled {
		// Every session of the subject that started by now is over, even
		// when this event is a repeat or overtaken (nothing is lost by
		// ending them again).
		if err := c.revoked.endSubject(ev.Subject, now, now.Add(c.cfg.SessionTTL)); err != nil {
			return err
		}
	}
	c.log.InfoContext(ctx, "account status from the IdP", "client_id", c.cfg.ClientID, "disabled", disabled,
		"reason", p.Reason, "applied", fresh)
	return nil
}

// endSubject ends every session of sub started at or before at; the entry
// lasts until until.
func (r *revocations) endSubject(sub string, at, until time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.subs[sub]; ok {
		if old.at.After(at) {
			at = old.at
		}
		if old.until.After(until) {
			until = old.until
		}
	} else if len(r.jtis)+len(r.sids)+len(r.subs) >= maxRevocations {
		r.prune(at)
		if len(r.jtis)+len(r.sids)+len(r.subs) >= maxRevocations {
			return errRevocationsFull
		}
	}
	r.subs[sub] = subRevocation{at: at, until: until}
	return nil
}
