package swissid

import (
	"net/http"
	"slices"

	"github.com/kanton/kundencenter/connectors"
	"github.com/kanton/kundencenter/connectors/oidc"
	"github.com/kanton/kundencenter/idp"
)

// Issuers of SwissID's environments. The config may name them
// "production" and "pre-production".
const (
	IssuerProduction    = "https://login.swissid.ch/idp/oauth2"
	IssuerPreProduction = "https://login.sandbox.pre.swissid.ch/idp/oauth2"
)

// SwissID's acr values (quality of authentication).
const (
	QoA1 = "qoa1" // username and password
	QoA2 = "qoa2" // username, password and an SMS code (or the app)
)

// SwissID's registration-quality values (urn:swissid:qor).
const (
	QoR0 = "qor0" // self-declared
	QoR1 = "qor1" // identity verified ("Stufe 1": online ID check in the app, or in person)
	QoR2 = "qor2" // identity verified "Stufe 2" (EPD, qualified signature)
)

// SwissID's claims.
const (
	ClaimQoR         = "urn:swissid:qor"
	ClaimDateOfBirth = "urn:swissid:date_of_birth"
	ClaimFirstName   = "urn:swissid:first_name"
	ClaimAgeOver     = "urn:swissid:age_over"
	ClaimLanguage    = "language"
)

// DefaultLevelMap maps SwissID's acr values to ours.
func DefaultLevelMap() map[string]string {
	return map[string]string{QoA1: idp.LevelLow, QoA2: idp.LevelSubstantial}
}

// DefaultProofingMap maps urn:swissid:qor to our proofing levels.
func DefaultProofingMap() map[string]string {
	return map[string]string{QoR0: idp.ProofingSelfDeclared, QoR1: idp.ProofingVerified, QoR2: idp.ProofingVerifiedStrong}
}

// New returns a SwissID connector. cfg.Type must be connectors.TypeSwissID;
// unset fields take SwissID's defaults (issuer "production" or
// "pre-production" resolved, scopes openid profile email, the level,
// proofing and claim maps above). hc may be nil.
func New(cfg connectors.Config, hc *http.Client) (*oidc.Connector, error) {
	cfg = Defaults(cfg)
	return oidc.New(cfg, oidc.Options{
		HTTPClient:         hc,
		DefaultDisplayName: "SwissID",
		DefaultScopes:      []string{"openid", "profile", "email"},
		RequireJWTUserinfo: true,
		Adjust:             adjust,
	})
}

// Defaults fills SwissID's defaults into cfg.
func Defaults(cfg connectors.Config) connectors.Config {
	switch cfg.Issuer {
	case "production":
		cfg.Issuer = IssuerProduction
	case "pre-production":
		cfg.Issuer = IssuerPreProduction
	}
	if cfg.LevelMap == nil {
		cfg.LevelMap = DefaultLevelMap()
	}
	if cfg.ProofingClaim == "" {
		cfg.ProofingClaim = ClaimQoR
	}
	if cfg.ProofingMap == nil {
		cfg.ProofingMap = DefaultProofingMap()
	}
	if _, ok := cfg.ClaimMap[connectors.FieldLocale]; !ok {
		m := map[string]string{connectors.FieldLocale: ClaimLanguage}
		for k, v := range cfg.ClaimMap {
			m[k] = v
		}
		cfg.ClaimMap = m
	}
	return cfg
}

// adjust applies SwissID's own claims: the verified birth date (kept only
// from a verified identity, qor1 or better) and the official first name.
func adjust(id *connectors.Identity, claims map[string]any) {
	verified := slices.Index(idp.ProofingLevels, id.ProofingLevel) >= slices.Index(idp.ProofingLevels, idp.ProofingVerified)
	if dob, _ := claims[ClaimDateOfBirth].(string); verified && oidc.BirthDate(dob) != "" {
		id.BirthDate, id.BirthDateVerified = dob, true
	}
	if fn, _ := claims[ClaimFirstName].(string); fn != "" {
		id.GivenName = fn
	}
}
