package idp

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
)

// Security events in the audit log (docs/audit.md). Most are written where
// they happen under their own names (session.started, mfa.*, login.*);
// these are the ones the login and account code add.
const (
	EventLoginFailed     = "login.failed"    // wrong password or unknown address (Subject "" then)
	EventLoginThrottled  = "login.throttled" // refused by the login rate limits before the password was checked
	EventAccountDisabled = "account.disabled"
	EventAccountEnabled  = "account.enabled"
)

// Outcomes of security events (AuditEvent.Outcome).
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
	OutcomeBlocked = "blocked"
)

// outcomes gives each security event its outcome; events not listed here
// are not security events and have none.
var outcomes = map[string]string{
	"session.started":               OutcomeSuccess,
	"login.second_factor":           OutcomeSuccess,
	"login.passkey":                 OutcomeSuccess,
	"login.upstream":                OutcomeSuccess,
	"account.reset_requested":       OutcomeSuccess,
	"account.password_reset":        OutcomeSuccess,
	"account.email_changed":         OutcomeSuccess,
	EventAccountDisabled:            OutcomeSuccess,
	EventAccountEnabled:             OutcomeSuccess,
	EventLoginFailed:                OutcomeFailure,
	"login.sms_failed":              OutcomeFailure,
	"login.recovery_failed":         OutcomeFailure,
	"login.passkey_failed":          OutcomeFailure,
	"login.upstream_refused":        OutcomeFailure,
	"account.login_inactive":        OutcomeFailure,
	"account.password_check_failed": OutcomeFailure,
	"passkey.clone_suspected":       OutcomeFailure,
	EventLoginThrottled:             OutcomeBlocked,
}

// SecurityOutcome returns the outcome of a security event by its action
// (every mfa.* change is one, a success), or "" for other events.
func SecurityOutcome(action string) string {
	if o, ok := outcomes[action]; ok {
		return o
	}
	if strings.HasPrefix(action, "mfa.") {
		return OutcomeSuccess
	}
	return ""
}

type clientIPKey struct{}

// WithClientIP returns ctx carrying the address of the client a request
// came from (after trusted proxies); the audit log records it truncated.
func WithClientIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, clientIPKey{}, ip)
}

// ClientIP returns the address WithClientIP put into ctx, or "".
func ClientIP(ctx context.Context) string {
	ip, _ := ctx.Value(clientIPKey{}).(string)
	return ip
}

// TruncateIP returns the network of an address as the audit log keeps it:
// /24 for IPv4, /48 for IPv6 (enough to tell a provider or a place, not a
// household); "" for anything that is not an address.
func TruncateIP(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	a = a.Unmap().WithZone("")
	bits := 24
	if a.Is6() {
		bits = 48
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return ""
	}
	return p.String()
}

// withClientIPDefault returns ctx with ip as the client's address unless it
// carries one already.
func withClientIPDefault(ctx context.Context, ip string) context.Context {
	if ClientIP(ctx) != "" || ip == "" {
		return ctx
	}
	return WithClientIP(ctx, ip)
}

// SecurityHistory returns the newest security events of an account (sign-ins,
// failed and blocked attempts, resets, second-factor changes), at most limit,
// for the account owner's own history page.
func (s *Service) SecurityHistory(ctx context.Context, accountID string, limit int) ([]AuditEvent, error) {
	events, err := s.store.ListAudit(ctx, accountID, 5*limit)
	if err != nil {
		return nil, fmt.Errorf("security history: %w", err)
	}
	var out []AuditEvent
	for _, e := range events {
		if e.Outcome != "" && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}
