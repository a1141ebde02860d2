// Package connectors will hold the upstream identity providers (SwissID,
// generic OIDC such as AGOV, later the Swiss e-ID) behind one small
// interface returning a normalised identity. Nothing is implemented yet;
// see the open issue on SwissID federation.
package connectors
