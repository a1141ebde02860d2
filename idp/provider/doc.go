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
//   - Discovery: only what works (code flow, query response mode, secrets
//     for client authentication, no c_hash), acr_values_supported and RFC
//     9207 authorization_response_iss_parameter_supported, cached;
//   - Keys: the JWKS served from memory;
//   - conformance.go: iss in every authorization response (RFC 9207),
//     request_uri_not_supported, a missing redirect_uri as the user's 400,
//     401 with a Basic challenge for failed client authentication at the
//     token, introspection and revocation endpoints (RFC 6749 §5.2), and
//     Cache-Control: no-store with Pragma: no-cache on their answers.
//
// Client scopes: client_credentials grants only the scopes registered on
// the client (invalid_scope otherwise; none requested, none granted), and
// the token's audience is the client plus every client serving a granted
// scope as its API (idp.Client.APIScopes), which may then introspect it.
// Reuse of a rotated refresh token and revocation of a refresh token end
// the whole grant: the family and every access token issued with it.
//
// Subjects (subjects.go): a client sees "sub" as registered, public (the
// account ID) or pairwise per sector (OIDC Core §8); the token requests
// answer GetSubject with the client's value, so every token and claim the
// library builds carries it, and values a client sends back are mapped to
// the account. op.Storage is split by responsibility: storage.go (auth
// requests, codes, clients, keys), tokens.go (access and refresh tokens),
// claims.go (userinfo, introspection, JWT claims).
//
// The package owns the mapping of auth requests, codes, access tokens and
// refresh-token families onto the idp stores. It does not render pages:
// the login UI (idp/web) drives an auth request through AuthRequest,
// Complete and CallbackURL.
package provider
