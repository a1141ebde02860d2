package kit

import (
	"context"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/idp/login"
	"github.com/kanton/kundencenter/mfa"
)

// Methods are the second factors an account can use now.
type Methods struct {
	Phone     mfa.PhoneNumber
	Passkeys  int
	Recovery  int // unused recovery codes
	Required  bool
	Reachable string // the highest level they reach
}

func (h *Kit) Methods(ctx context.Context, accountID string) (Methods, error) {
	var m Methods
	if h.Cfg.Factors == nil {
		m.Reachable = idp.LevelLow
		return m, nil
	}
	st, err := h.Cfg.Factors.Status(ctx, accountID)
	if err != nil {
		return m, err
	}
	m.Phone, m.Recovery, m.Required = st.Phone, st.RecoveryLeft, st.Required
	creds, err := h.Cfg.Factors.Credentials(ctx, accountID)
	if err != nil {
		return m, err
	}
	m.Passkeys = len(creds)
	switch {
	case m.Passkeys > 0:
		m.Reachable = idp.LevelHigh
	case !m.Phone.IsZero() || m.Recovery > 0:
		m.Reachable = idp.LevelSubstantial
	default:
		m.Reachable = idp.LevelLow
	}
	return m, nil
}

// Any reports whether the account has a second factor of its own (a
// recovery code alone is a fallback, not a factor to enrol with).
func (m Methods) Any() bool { return !m.Phone.IsZero() || m.Passkeys > 0 }

// LevelOf is an acr value's rank for the login rules (unknown: high, so
// that it fails safe).
func LevelOf(acr string) login.Level {
	if i := idp.LevelRank(acr); i >= 0 {
		return login.Level(i)
	}
	return login.High
}

// factors are the account's second factors for the login rules.
func (m Methods) Factors() login.Factors {
	return login.Factors{Phone: !m.Phone.IsZero(), Passkeys: m.Passkeys, Recovery: m.Recovery, Required: m.Required}
}
