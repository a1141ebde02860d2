// Package connectors holds the upstream identity providers (SwissID,
// generic OIDC such as AGOV or a neighbouring canton, later the Swiss
// e-ID) behind one small dex-style interface that returns a normalised
// Identity.
//
// It owns: the Connector interface and Identity; the login state of a
// redirect to an upstream provider (Flow.Begin / Flow.Finish, stored
// single-use in the ephemeral store and bound to the browser by a cookie);
// the typed errors the web layer turns into friendly pages
// (*UpstreamError, *VerificationError, ErrUnknownState, ErrStateMismatch);
// connector configuration (Config, Validate) and the Registry of
// configured connectors.
//
// It does not own: pages, cookies or templates (idp/web sets the cookie
// value Begin returns and renders the errors), accounts or links (idp and
// idp.LinkStore: an Identity is mapped to an account only through an
// explicit link on connector, issuer and subject, never by e-mail), and
// the protocol code of each provider (connectors/oidc, connectors/swissid).
// Nothing here logs tokens, claims or personal data.
package connectors
