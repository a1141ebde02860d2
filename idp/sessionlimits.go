package idp

import (
	"fmt"
	"time"
)

// Lifetimes of an SSO session (Config.SessionIdle, Config.SessionMax;
// KC_SESSION_IDLE and KC_SESSION_MAX in cmd).
const (
	DefaultSessionIdle = 60 * time.Minute // ends after this much inactivity
	DefaultSessionMax  = 12 * time.Hour   // ends this long after the login

	// MinSessionIdle and MinSessionMax keep a session long enough to fill
	// in a form; MaxSessionMax is NIST SP 800-63B-4's reauthentication
	// bound for AAL2 (24 hours), which also bounds how long revocation
	// records are kept (revocation.go).
	MinSessionIdle = time.Minute
	MinSessionMax  = 5 * time.Minute
	MaxSessionMax  = 24 * time.Hour
)

// ValidateSessionLimits checks an idle and an absolute session lifetime:
// MinSessionIdle <= idle <= absolute, MinSessionMax <= absolute <=
// MaxSessionMax.
func ValidateSessionLimits(idle, absolute time.Duration) error {
	switch {
	case idle < MinSessionIdle:
		return fmt.Errorf("idle timeout %s is shorter than %s", idle, MinSessionIdle)
	case absolute < MinSessionMax:
		return fmt.Errorf("absolute lifetime %s is shorter than %s", absolute, MinSessionMax)
	case absolute > MaxSessionMax:
		return fmt.Errorf("absolute lifetime %s is longer than %s (NIST SP 800-63B-4 asks reauthentication at least daily)", absolute, MaxSessionMax)
	case idle > absolute:
		return fmt.Errorf("idle timeout %s is longer than the absolute lifetime %s", idle, absolute)
	}
	return nil
}
