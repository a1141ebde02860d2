package login

import "time"

// Level is an authentication level by rank: Low (one factor), Substantial
// (two factors), High (two factors, one phishing-resistant). Adapters map
// the provider's acr values to it (idp.LevelRank).
type Level int

// The levels, weakest first.
const (
	Low Level = iota
	Substantial
	High
)

// Rule is what an action demands of the login that leads to it.
type Rule struct {
	// Reauth: the action changes security settings or ends the account, so
	// a person with a second factor must use it again (at least
	// Substantial), whatever the two-factor setting says.
	Reauth bool
	// Fresh, when set, is how recent the login must be to carry out the
	// action (ASVS 7.5.1: re-authentication before changing MFA data).
	Fresh time.Duration
}

// FreshFor is how recent a login must be for a security change.
const FreshFor = 15 * time.Minute

// Allows reports whether a session that authenticated at authTime at
// level have may carry out the action now: recent enough and, when the
// rule asks for a re-authentication and the account has a factor, made
// with one.
func (r Rule) Allows(now, authTime time.Time, have Level, f Factors) bool {
	if r.Fresh > 0 && now.Sub(authTime) > r.Fresh {
		return false
	}
	return !r.Reauth || !f.Any() || have >= Substantial
}

// Actions are the local pages a login without auth request may continue
// to ("next"), with the rule each demands. A page not listed is not a
// valid target (so the parameter cannot be an open redirect).
var Actions = map[string]Rule{
	"/security":         {Reauth: true, Fresh: FreshFor},
	"/account/delete":   {Reauth: true, Fresh: FreshFor},
	"/account/data":     {},
	"/account/email":    {Fresh: FreshFor},
	"/account/profiles": {},
	"/security/history": {}, // the account's own sign-in history
}

// Action returns the rule of a local page and whether it is one.
func Action(next string) (Rule, bool) {
	r, ok := Actions[next]
	return r, ok
}

// Factors are the second factors an account can use now.
type Factors struct {
	Phone    bool // a confirmed mobile number (SMS codes)
	Passkeys int
	Recovery int  // unused recovery codes
	Required bool // the person switched two-factor login on
}

// Any reports whether the account has a second factor of its own (a
// recovery code alone is a fallback, not a factor to enrol with).
func (f Factors) Any() bool { return f.Phone || f.Passkeys > 0 }

// Reachable is the highest level the factors reach.
func (f Factors) Reachable() Level {
	switch {
	case f.Passkeys > 0:
		return High
	case f.Phone || f.Recovery > 0:
		return Substantial
	}
	return Low
}

// Need is the level a login of an account with factors f must reach: the
// auth request's (requested; Low without one), raised to Substantial when
// the account switched two-factor login on or the action demands a
// re-authentication, provided the account has a factor to use.
func Need(requested Level, f Factors, rule Rule) Level {
	if (f.Required || rule.Reauth) && f.Any() && requested < Substantial {
		return Substantial
	}
	return requested
}

// Next is the step after the first factor.
type Next int

// The steps after the first factor.
const (
	// OpenSession: one factor is enough; open the session at Low.
	OpenSession Next = iota
	// SecondFactor: ask for a second factor reaching the needed level.
	SecondFactor
	// Enrol: the level needs two factors and the account has none: open a
	// one-factor session and guide the person to enrol one.
	Enrol
	// Unmet: the account's factors cannot reach the level.
	Unmet
)

// AfterFirstFactor decides the step after the first factor for a login
// that needs level need (see Need).
func AfterFirstFactor(need Level, f Factors) Next {
	switch {
	case need <= Low:
		return OpenSession
	case !f.Any() && f.Recovery == 0:
		return Enrol
	case f.Reachable() < need:
		return Unmet
	}
	return SecondFactor
}
