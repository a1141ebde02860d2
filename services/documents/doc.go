// Package documents is the document service ("Meine Dokumente"): a personal
// or organisation inbox of register extracts, certificates and decisions
// with an electronic seal, to download, keep, verify and pass on.
//
//   - Back offices deliver documents through POST /api/v1/documents (bearer
//     token with documents:write, checked by introspection at the IdP;
//     eCH-0039 metadata; idempotent on messageId; RFC 9457 problems; OpenAPI
//     3.1 at /api/v1/openapi.json; GET /api/v1/documents/{id} with
//     documents:read shows a delivering client its document and whether the
//     owner opened it). A delivery brings a PDF as sealed by the
//     authority, a PDF to seal, or asks for a result document
//     (wohnsitzbestaetigung) that the service renders with fpdf and seals.
//   - The seal (package seal) is PAdES baseline B-T, appended as an
//     incremental update with a visible seal block and a QR code to the
//     public verification page; the timestamp comes from an RFC 3161
//     authority (package tsa has a client and a local authority).
//   - The owner is told by a short general e-mail through the IdP's
//     notification endpoint (a durable job in the same transaction as the
//     document), sees the inbox (new/read, kind, date, case), downloads the
//     stored bytes unchanged (Content-Disposition: attachment; the SHA-256
//     is shown), deletes, and passes documents on with share links
//     (256-bit random tokens of which only the hash is stored, 1–30 days,
//     optional download limit, revocable, every download logged).
//   - Visibility is owner-or-acting: the session's rp.Session.Owner (the
//     person, or the organisation or represented person of the represents
//     claim, which the IdP issues only for covered services).
//   - Anyone can verify a PDF at /pruefen without logging in: seal,
//     timestamp, unchanged or not, and whether this portal issued it (its
//     hash stays on record, also after deletion).
//   - Stored bytes are never updated: no code path does, and a trigger
//     refuses it in both SQL dialects. Retention per document kind and the
//     IdP's account-purged event delete documents.
//
// It is a relying party of the IdP through package rp and never imports
// package idp.
package documents
