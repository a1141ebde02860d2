// Package provider is the OpenID provider: it adapts the idp domain to
// zitadel/oidc's op.Storage and serves the protocol endpoints through an
// own server type embedding *op.LegacyServer, overriding the endpoints where
// the library is too lax (see docs in ../../README.md and the research notes
// on zitadel/oidc v3.49.4):
//
//   - Authorize: PKCE with S256 required for every client ("plain" refused),
//     response_type=code only, exact redirect-URI match, SSO from the
//     session cookie honouring prompt=none|login and max_age (OIDC Core 1.0
//     §3.1.2.1, RFC 7636 §4.3);
//   - CodeExchange: the code verifier checked on every exchange (RFC 7636
//     §4.6), closing the LegacyServer gap where a confidential client could
//     redeem a code without it;
//   - Discovery: only the code flow, acr_values_supported, cached;
//   - Keys: the JWKS served from memory.
//
// The package owns the mapping of auth requests, codes, access tokens and
// refresh-token families onto the idp stores. It does not render pages:
// the login UI (idp/web) drives an auth request through AuthRequest,
// Complete and CallbackURL.
package provider
