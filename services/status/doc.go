// Package status is the status service ("Meine Vorgänge", PRODUCT.md §7):
// cases that back offices create and move along through an authenticated
// API, with their history, shown to the people they belong to.
//
// It owns: the case model (statuses with an allowed-transition table,
// outcomes, eCH-0058 message semantics in Replay: idempotent messageId,
// eventDate ordering, correction and recall), reference numbers with a
// check digit, the cases' own tables through store/sqldb (SQLite and
// PostgreSQL), the back-office API below /api/v1 (OpenAPI 3.1 at
// /api/v1/openapi.json, RFC 9457 problems, bearer tokens introspected at
// the IdP), the pages (list, case with history, answer to a Rückfrage),
// the debounced notifications (one job per case and window, sent through
// the IdP's notification endpoint: the service keeps no e-mail address),
// and the reaction to the IdP's account-purged Security Event.
//
// Who sees a case is decided by the login alone: the owner of the session
// (the organisation or person it acts for, else the person) must own the
// case; the IdP issues "represents" only where membership or
// representation covers this service.
//
// It is a relying party of the IdP through package rp and never imports
// package idp.
package status
