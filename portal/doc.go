// Package portal holds what the portal pages of the IdP need beyond
// accounts: enablement requests ("Freischaltung") with their own storage
// (store/sqldb: an own SQLite file portal.db in serve, an own PostgreSQL
// schema "portal" in production) and the overview's service summaries,
// fetched from each service's GET /api/v1/summary with a short timeout.
//
// It knows nothing of HTTP pages or of the IdP's tables; accounts are
// referred to by their ID.
package portal
