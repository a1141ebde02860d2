package oidc

import (
	"slices"
	"strings"
	"time"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/kanton/kundencenter/connectors"
	"github.com/kanton/kundencenter/idp"
)

// identity maps the verified claims onto the normalised identity.
func (c *Connector) identity(tok *zoidc.IDTokenClaims, claims map[string]any) connectors.Identity {
	id := connectors.Identity{
		Connector: c.cfg.ID,
		Issuer:    tok.GetIssuer(),
		Subject:   tok.GetSubject(),
		Claims:    map[string]string{},
	}
	id.Email = c.str(claims, connectors.FieldEmail)
	id.EmailVerified = id.Email != "" && truthy(claims[c.claim(connectors.FieldEmailVerified)])
	id.GivenName = c.str(claims, connectors.FieldGivenName)
	id.FamilyName = c.str(claims, connectors.FieldFamilyName)
	id.BirthDate = BirthDate(c.str(claims, connectors.FieldBirthDate))
	id.Locale = Locale(c.str(claims, connectors.FieldLocale))

	acr, _ := claims["acr"].(string)
	id.Claims["acr"] = acr
	id.AuthLevel = idp.LevelLow
	if l, ok := c.cfg.LevelMap[acr]; ok {
		id.AuthLevel = l
	}
	id.AMR = append(slices.Clone([]string(tok.AuthenticationMethodsReferences)), idp.AMRFed)
	id.AuthTime = tok.GetAuthTime()
	if id.AuthTime.IsZero() {
		id.AuthTime = tok.GetIssuedAt()
	}
	id.AuthTime = id.AuthTime.UTC()

	if c.cfg.ProofingClaim != "" {
		v, _ := claims[c.cfg.ProofingClaim].(string)
		id.Claims[c.cfg.ProofingClaim] = v
		id.ProofingLevel = c.cfg.ProofingMap[v]
	}
	// A birth date counts as verified only from a proofed identity.
	id.BirthDateVerified = id.BirthDate != "" &&
		slices.Index(idp.ProofingLevels, id.ProofingLevel) >= slices.Index(idp.ProofingLevels, idp.ProofingVerified)
	return id
}

// claim returns the provider's claim name for an identity field.
func (c *Connector) claim(field string) string {
	if n, ok := c.cfg.ClaimMap[field]; ok {
		return n
	}
	return field
}

func (c *Connector) str(claims map[string]any, field string) string {
	s, _ := claims[c.claim(field)].(string)
	return strings.TrimSpace(s)
}

// truthy accepts true and "true" (some providers send booleans as strings).
func truthy(v any) bool {
	switch b := v.(type) {
	case bool:
		return b
	case string:
		return strings.EqualFold(b, "true")
	}
	return false
}

// BirthDate returns s if it is a full date YYYY-MM-DD (OIDC Core 1.0
// §5.1 also allows "0000-MM-DD" and "YYYY", which say too little to be
// kept), else "".
func BirthDate(s string) string {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || t.Year() < 1850 {
		return ""
	}
	return s
}

// Locale reduces a language tag (de-CH, fr_CH, "IT") to one of ours: de,
// fr, it or en; "" for any other.
func Locale(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) > 2 {
		s = s[:2]
	}
	switch s {
	case "de", "fr", "it", "en":
		return s
	}
	return ""
}
