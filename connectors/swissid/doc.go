// Package swissid is the SwissID connector (SwissSign's consumer identity,
// a ForgeRock-AM-style OpenID provider), built on connectors/oidc with
// SwissID's defaults and quirks:
//
//   - production and pre-production issuers, or any issuer URL;
//   - acr_values qoa1 (one factor → idp.LevelLow) and qoa2 (two factors →
//     idp.LevelSubstantial); step-up asks again with acr_values=qoa2 and
//     prompt=login (connectors.Request.StepUp);
//   - userinfo answered as a JWT, HS256-signed with the client secret
//     (RS256 with the provider's JWKS accepted as well); plain JSON is
//     refused;
//   - urn:swissid:qor (qor0/qor1/qor2) as the identity-proofing level,
//     urn:swissid:date_of_birth as the verified birth date (released from
//     qor1), urn:swissid:first_name as the official first name, and
//     "language" instead of "locale";
//   - SwissID's error codes on the redirect (authentication_cancelled,
//     access_denied, interaction_required, cancelled_by_user,
//     manual_check_needed) arrive as *connectors.UpstreamError.
//
// Identity-proofing step-up ("LOT1", account.swissid.ch/idcheck/rp/stepup/lot1)
// is not implemented.
package swissid
