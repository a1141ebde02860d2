package connectors

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"sort"

	"github.com/kanton/kundencenter/idp"
)

// Connector types.
const (
	TypeSwissID = "swissid" // connectors/swissid
	TypeOIDC    = "oidc"    // connectors/oidc: AGOV, a neighbouring canton, …
)

// Client authentication methods at the token endpoint (OIDC Core 1.0 §9).
const (
	AuthMethodBasic = "client_secret_basic" // the default
	AuthMethodPost  = "client_secret_post"
)

// Identity fields a ClaimMap may name.
const (
	FieldEmail         = "email"
	FieldEmailVerified = "email_verified"
	FieldGivenName     = "given_name"
	FieldFamilyName    = "family_name"
	FieldBirthDate     = "birthdate"
	FieldLocale        = "locale"
)

var fields = []string{FieldEmail, FieldEmailVerified, FieldGivenName, FieldFamilyName, FieldBirthDate, FieldLocale}

// Config configures one connector. cmd reads a list of them from the
// environment or a file; Validate reports every problem at once.
type Config struct {
	// ID identifies the connector in URLs and in stored account links; it
	// must never change once logins are linked: lower case, digits, '-'.
	ID string
	// Type is TypeSwissID or TypeOIDC.
	Type string
	// DisplayName is shown on the login button; empty takes the type's
	// default ("SwissID") or the ID.
	DisplayName string
	// Issuer is the provider's issuer URL, exactly as in its discovery
	// document and ID tokens. For SwissID also "production" or
	// "pre-production".
	Issuer string
	// ClientID and ClientSecret are the credentials the provider issued.
	// The secret also verifies HS256-signed userinfo (SwissID).
	ClientID, ClientSecret string
	// AuthMethod is AuthMethodBasic (default) or AuthMethodPost.
	AuthMethod string
	// RedirectURL is our callback URL as registered at the provider.
	RedirectURL string
	// Scopes requested; empty takes the type's default. Must contain "openid".
	Scopes []string
	// ClaimMap maps Identity fields (Field*) to the provider's claim names
	// where they differ from the standard ones.
	ClaimMap map[string]string
	// LevelMap maps the provider's acr values to our levels (idp.Level*).
	// The lowest upstream value reaching the requested level is sent as
	// acr_values. SwissID defaults to qoa1 → low, qoa2 → substantial.
	LevelMap map[string]string
	// ProofingClaim names the claim carrying the provider's identity-proofing
	// level, and ProofingMap maps its values to ours (idp.Proofing*).
	// SwissID defaults to urn:swissid:qor with qor0/qor1/qor2.
	ProofingClaim string
	ProofingMap   map[string]string
}

var idRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)

// Validate reports every problem of the configuration at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("connector %q: %s: %s", c.ID, field, fmt.Sprintf(format, args...)))
	}
	if !idRE.MatchString(c.ID) {
		bad("ID", "must be 1–32 characters of a-z, 0-9 and '-', starting with a letter")
	}
	switch c.Type {
	case TypeSwissID, TypeOIDC:
	default:
		bad("Type", "must be %q or %q, not %q", TypeSwissID, TypeOIDC, c.Type)
	}
	if !(c.Type == TypeSwissID && (c.Issuer == "production" || c.Issuer == "pre-production")) {
		if err := checkURL(c.Issuer); err != nil {
			bad("Issuer", "%v", err)
		}
	}
	if c.ClientID == "" {
		bad("ClientID", "missing (the client ID the provider issued)")
	}
	if c.ClientSecret == "" {
		bad("ClientSecret", "missing (the client secret the provider issued)")
	}
	switch c.AuthMethod {
	case "", AuthMethodBasic, AuthMethodPost:
	default:
		bad("AuthMethod", "must be %q or %q, not %q", AuthMethodBasic, AuthMethodPost, c.AuthMethod)
	}
	if err := checkURL(c.RedirectURL); err != nil {
		bad("RedirectURL", "%v", err)
	}
	if len(c.Scopes) > 0 && !slices.Contains(c.Scopes, "openid") {
		bad("Scopes", "must contain \"openid\"")
	}
	for _, k := range sortedKeys(c.ClaimMap) {
		if !slices.Contains(fields, k) {
			bad("ClaimMap", "unknown field %q (known: %v)", k, fields)
		}
		if c.ClaimMap[k] == "" {
			bad("ClaimMap", "field %q maps to an empty claim name", k)
		}
	}
	for _, k := range sortedKeys(c.LevelMap) {
		if k == "" {
			bad("LevelMap", "empty acr value")
		}
		if idp.LevelRank(c.LevelMap[k]) < 0 {
			bad("LevelMap", "acr %q maps to %q, which is not one of %v", k, c.LevelMap[k], idp.Levels)
		}
	}
	for _, k := range sortedKeys(c.ProofingMap) {
		if !slices.Contains(idp.ProofingLevels, c.ProofingMap[k]) {
			bad("ProofingMap", "value %q maps to %q, which is not one of %v", k, c.ProofingMap[k], idp.ProofingLevels)
		}
	}
	if len(c.ProofingMap) > 0 && c.ProofingClaim == "" && c.Type != TypeSwissID {
		bad("ProofingClaim", "missing, but ProofingMap is set")
	}
	return errors.Join(errs...)
}

// ValidateAll validates every configuration and that their IDs are unique.
func ValidateAll(cs []Config) error {
	var errs []error
	seen := map[string]bool{}
	for _, c := range cs {
		errs = append(errs, c.Validate())
		if seen[c.ID] {
			errs = append(errs, fmt.Errorf("connector %q: ID: configured twice", c.ID))
		}
		seen[c.ID] = true
	}
	return errors.Join(errs...)
}

// checkURL accepts absolute https URLs, and http ones on a loopback host
// (tests, local development).
func checkURL(s string) error {
	if s == "" {
		return errors.New("missing")
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("not a URL: %v", err)
	}
	if u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q: must be an absolute URL without query or fragment", s)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if ip := net.ParseIP(u.Hostname()); u.Hostname() == "localhost" || (ip != nil && ip.IsLoopback()) {
			return nil
		}
	}
	return fmt.Errorf("%q: must use https (http only on localhost)", s)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
