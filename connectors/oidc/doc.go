// Package oidc is the generic OpenID Connect connector: an upstream
// provider (AGOV, a neighbouring canton, later the e-ID through AGOV)
// reached with the authorization code flow, PKCE, state and nonce.
//
// It owns discovery from the configured issuer, the code exchange with
// client_secret_basic or client_secret_post, ID-token verification (OIDC
// Core 1.0 §3.1.3.7: iss, aud, azp, exp and iat with a small skew, nonce,
// an asymmetric signature from the provider's JWKS; "none" and HS* are
// refused), userinfo as JSON or as a signed JWT (§5.3.2; HS256 with the
// client secret or an asymmetric key from the JWKS) and the mapping of
// claims, acr and identity-proofing values onto connectors.Identity.
//
// connectors/swissid builds on it with SwissID's defaults and quirks. The
// login state, cookies and error pages belong to connectors.Flow and the
// web layer.
package oidc
