package oidc

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/kanton/kundencenter/connectors"
	"github.com/kanton/kundencenter/idp"
)

// FuzzIdentity maps arbitrary upstream ID-token claims (as SwissID or AGOV
// would send them, after the signature check) onto an identity: no panic;
// the level is low or one the level map names; a birth date is a real
// date and counts as verified only from a proofed identity; the locale is
// one of ours; names and e-mail are trimmed; the federated AMR is always
// added; the subject and issuer are the token's.
func FuzzIdentity(f *testing.F) {
	c := &Connector{cfg: connectors.Config{ID: "swissid",
		LevelMap:      map[string]string{"qoa1": idp.LevelLow, "qoa2": idp.LevelSubstantial, "qoa3": idp.LevelHigh},
		ProofingClaim: "urn:swissid:qor", ProofingMap: map[string]string{"qor0": idp.ProofingLevels[0], "qor1": idp.ProofingVerified},
		ClaimMap: map[string]string{connectors.FieldGivenName: "given_name"}}}
	for _, s := range []string{
		`{"iss":"https://login.swissid.ch","sub":"s-1","aud":"kc","iat":1764763200,"auth_time":1764763100,"acr":"qoa2","amr":["pwd","sms"],"email":" anna@example.ch ","email_verified":true,"given_name":"Anna","family_name":"Muster","birthdate":"1980-12-31","locale":"de-CH","urn:swissid:qor":"qor1"}`,
		`{"sub":"s-2","acr":"qoa9","email_verified":"TRUE","birthdate":"0000-12-31","locale":"rm","urn:swissid:qor":"qor0"}`,
		`{"sub":"s-3","acr":["qoa3"],"birthdate":"1849-01-01","locale":"IT","email":"","email_verified":true,"amr":"pwd"}`,
		`{"sub":"s-4","birthdate":"2026-02-30","locale":"fr_CH","given_name":"\u202eanna","urn:swissid:qor":1}`,
		`{"aud":[["x"]]}`, `{}`, `null`, `[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		tok := &zoidc.IDTokenClaims{}
		if !decodeClaims(raw, tok) {
			return
		}
		claims := map[string]any{}
		if json.Unmarshal(raw, &claims) != nil || claims == nil {
			return
		}
		id := c.identity(tok, claims)
		if id.Subject != tok.GetSubject() || id.Issuer != tok.GetIssuer() || id.Connector != "swissid" {
			t.Fatalf("identity %+v does not name the token's subject", id)
		}
		if id.AuthLevel != idp.LevelLow && !slices.Contains([]string{idp.LevelSubstantial, idp.LevelHigh}, id.AuthLevel) {
			t.Fatalf("level %q", id.AuthLevel)
		}
		if acr, _ := claims["acr"].(string); id.AuthLevel != idp.LevelLow && c.cfg.LevelMap[acr] != id.AuthLevel {
			t.Fatalf("level %q from acr %v", id.AuthLevel, claims["acr"])
		}
		if id.BirthDate != "" {
			d, err := time.Parse(time.DateOnly, id.BirthDate)
			if err != nil || d.Year() < 1850 {
				t.Fatalf("birth date %q", id.BirthDate)
			}
		}
		if id.BirthDateVerified && (id.BirthDate == "" || id.ProofingLevel != idp.ProofingVerified &&
			slices.Index(idp.ProofingLevels, id.ProofingLevel) < slices.Index(idp.ProofingLevels, idp.ProofingVerified)) {
			t.Fatalf("birth date verified from proofing %q", id.ProofingLevel)
		}
		if !slices.Contains([]string{"", "de", "fr", "it", "en"}, id.Locale) {
			t.Fatalf("locale %q", id.Locale)
		}
		for _, s := range []string{id.Email, id.GivenName, id.FamilyName} {
			if s != strings.TrimSpace(s) {
				t.Fatalf("untrimmed %q", s)
			}
		}
		if id.EmailVerified && id.Email == "" {
			t.Fatal("an empty e-mail address counts as verified")
		}
		if len(id.AMR) == 0 || id.AMR[len(id.AMR)-1] != idp.AMRFed {
			t.Fatalf("AMR %q lacks %q at the end", id.AMR, idp.AMRFed)
		}
	})
}

// decodeClaims decodes an ID token's claims as exchange does: zitadel/oidc
// panics on some malformed "aud" values, which exchange turns into an
// error (a refused login), and so does this.
func decodeClaims(raw []byte, tok *zoidc.IDTokenClaims) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return json.Unmarshal(raw, tok) == nil
}
