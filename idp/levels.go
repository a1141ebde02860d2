package idp

import "slices"

// Authentication levels (the acr values the provider issues), weakest
// first. They follow the quality-of-authentication ("Vertrauensstufe der
// Authentisierung") scale of eCH-0170 and say nothing about how well the
// person's identity was proofed, which is kept apart (see connectors):
//
//   - LevelLow (eCH-0170 level 1): one factor — a password, or an upstream
//     login at one factor (SwissID qoa1).
//   - LevelSubstantial (level 2): two factors of different kinds — password
//     plus an SMS code or a recovery code, or an upstream login at two
//     factors (SwissID qoa2).
//   - LevelHigh (level 3): two factors, one of them phishing-resistant and
//     bound to hardware — password plus a passkey or security key, or a
//     passkey with user verification alone.
const (
	LevelLow         = "urn:kundencenter:loa:low"
	LevelSubstantial = "urn:kundencenter:loa:substantial"
	LevelHigh        = "urn:kundencenter:loa:high"
)

// Levels lists the authentication levels, weakest first.
var Levels = []string{LevelLow, LevelSubstantial, LevelHigh}

// LevelRank orders levels: 0 for low, 2 for high, -1 for a value that is
// not one of ours.
func LevelRank(acr string) int { return slices.Index(Levels, acr) }

// LevelAtLeast reports whether have reaches want (an unknown have reaches nothing).
func LevelAtLeast(have, want string) bool {
	h := LevelRank(have)
	return h >= 0 && h >= LevelRank(want)
}

// Authentication methods (RFC 8176).
const (
	AMRPassword = "pwd"  // password
	AMRSMS      = "sms"  // code sent by SMS
	AMRHardware = "hwk"  // proof of possession of a hardware-bound key (passkey, security key)
	AMRUser     = "user" // user presence and verification on the authenticator (passkey UV)
	AMRMFA      = "mfa"  // more than one factor
	AMROTP      = "otp"  // one-time code: a saved recovery code
	AMRFed      = "fed"  // federated login (SwissID, AGOV)
)
