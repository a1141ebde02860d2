package provider

import (
	"encoding/json"
	"errors"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/kanton/kundencenter/idp"
)

// SignJWT signs claims as a compact JWS with the active ES256 key, naming
// the key in "kid" and the token type in "typ" ("secevent+jwt" for a
// Security Event Token, RFC 8417 §2.3; "logout+jwt" for a logout token,
// OIDC Back-Channel Logout 1.0 §2.4). Relying parties verify it with the
// keys at /keys, like ID tokens. It implements notify.Signer.
func (c *KeyCache) SignJWT(typ string, claims any) (string, error) {
	k, ok := c.SigningKey().(*signingKey)
	if !ok || k == nil {
		return "", errors.New("sign jwt: no active signing key")
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("sign jwt: %w", err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: k.key, KeyID: k.id}},
		(&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
	if err != nil {
		return "", fmt.Errorf("sign jwt: %w", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("sign jwt: %w", err)
	}
	return jws.CompactSerialize()
}

// addSID puts the session's "sid" into an ID token (OIDC Back-Channel
// Logout 1.0 §2.1; the library never sets it), so that the relying party
// can match a logout token to its own session. The value is derived from
// the SSO session ID (idp.SessionSID), never the cookie value itself.
func addSID(u *oidc.UserInfo, req op.IDTokenRequest) {
	var sessionID string
	switch r := req.(type) {
	case *AuthRequest:
		sessionID = r.SessionID
	case *refreshRequest:
		sessionID = r.t.SessionID
	}
	if sessionID != "" {
		u.AppendClaims("sid", idp.SessionSID(sessionID))
	}
}
