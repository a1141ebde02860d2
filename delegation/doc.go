// Package delegation answers one question: may actor A act for subject S
// at service X, with which roles? It owns organisations, memberships,
// roles, invitations, service assignments, the legacy organisation
// accounts of the old portal, and representations between persons.
// Accounts, sessions and pages belong to idp; store/sqlstore (over
// PostgreSQL or SQLite) implements Store.
//
// The package depends on narrow interfaces declared here, not on the
// identity provider's service: Accounts (accounts, personal data, the
// e-mail blind index, sealing; *idp.Service implements it), Directory
// (accounts by Konto-ID or e-mail index, the clients; part of Store),
// Hasher (the Argon2id hasher for access codes) and Counters (the
// rate-limit windows), the last two given in Config. The wiring
// (package wire) connects them.
//
// # Organisations
//
// Any account can create an organisation (name, additional designation,
// one to five addresses, optional Swiss UID checked by ParseUID) and
// becomes its first admin. Admins ("Organisationsverantwortliche") edit
// it, invite, remove members, change roles and assign services: the client
// IDs of the catalogue a member may use for the organisation. There is
// always at least one admin: the last one can neither leave nor be
// demoted nor removed. Store.UpdateOrg serialises every change of one
// organisation (SELECT … FOR UPDATE on its row in PostgreSQL, the write
// lock of SQLite's immediate transactions) and refuses a state without an
// admin itself, so two admins demoting each other at once leave one admin.
//
// Deleting an account removes its memberships (ON DELETE CASCADE) and
// invitations addressed to it; its history entries stay, naming an account
// ID that no longer resolves. An organisation whose last member's account
// is deleted stays, without members, so that its identifier (and past
// cases) stay valid; an operator can migrate it again. Organisations are
// never deleted by a use case.
//
// # Invitations
//
// An invitation is bound to one organisation, one role and one invitee:
// by Konto-ID to that account, by e-mail to the blind index of the
// address. It carries a 256-bit token (only its SHA-256 is stored) sent in
// the e-mailed link, is single use, expires after Config.InvitationTTL (7
// days at most, the default), and is revoked when it is sent again to the
// same invitee, withdrawn, or when its inviter loses admin rights. Opening
// links is throttled per account and IP address (idp.Limiter). The inviter
// sees the Konto-ID or the masked address, never the address behind a
// Konto-ID, and gets the same answer whether or not a Konto-ID or address
// has an account. An address without an account gets a mail inviting to
// register first; after registering with it, the invitation appears under
// "Organisationen" to accept or decline.
//
// # History
//
// Every change is appended to the organisation's history (Event; created,
// edited, invited, invitation_revoked, accepted, declined, role_changed,
// removed, left, service_assigned, service_unassigned, migrated) in the
// transaction of the change, with the mails it causes. Admins see it.
//
// # Decision
//
// MayAct and Choices are the decision function the login step and token
// issuance call: a member may act for an organisation at a service only
// if the service was assigned to them there. Nothing else (an open or
// expired invitation, a past membership) grants anything.
//
// # Representations ("Vertretungen", PRODUCT.md §5)
//
// A principal P lets a representative R act in P's name at chosen
// services. The handshake has three steps, the last one being what none of
// the anchors has: P creates an access code (CreateRepresentation) and
// sends it from the portal (SendCode: a mail in P's language naming P,
// with the code) or copies it; R, logged in to R's own account, enters it,
// sees P's name and the services (PreviewCode) and accepts (Accept); P is
// told by mail and confirms, seeing R's name and Konto-ID, or rejects
// (Confirm, Reject). Only a confirmed representation grants anything.
// Either side ends it at any time (EndRepresentation; both get a mail); P
// can take services away (NarrowServices), never add them.
//
// States: created → accepted → confirmed, or rejected, or revoked (ended
// by P or R, or by the deletion of either account); expired is computed:
// a code or an acceptance waiting longer than Config.CodeTTL (14 days by
// default, 30 at most; the same span again for P's confirmation after R
// accepted), or a confirmed representation past its optional end date
// (the end of the chosen day, Europe/Zurich, at most ten years ahead).
//
// Services are always chosen explicitly (at least one client ID of the
// catalogue); there is no "all services". A wildcard would silently extend
// to every service registered later, which P never saw and could not have
// agreed to, and "nothing beyond the granted services is reachable" could
// not be shown to P.
//
// The access code is 16 characters of Crockford's base32 in four groups
// (no I, L, O, U; typed codes are upper-cased, dashes and spaces dropped,
// O read as 0 and I, L as 1). The first group is a selector that finds
// the code (20 bits, not secret); the other twelve characters are the
// secret (60 bits from crypto/rand), stored only as an Argon2id hash with
// its own salt (idp.Hasher), because ASVS 6.5.2 asks for a salted
// password hash below 112 bits and a stolen database must not reveal open
// codes. A code works once (accepting clears selector and hash in the same
// locked update, so of two accepting at once exactly one wins), is void
// once withdrawn, and expires. Entering codes is throttled per account and
// per IP address (RepLimits.CodePerActor, CodePerIP: 10 and 30 in 15
// minutes); within the window even the right code is refused. A wrong,
// unknown, used, expired or withdrawn code gives the same ErrCodeInvalid
// and costs the same Argon2id computation. The code never appears in a
// URL, a log line or an event.
//
// Every step is appended to the representation's history (RepEvent:
// created, code_sent, accepted, confirmed, rejected, ended,
// services_changed, used, action) in the transaction of the change, with
// its mails; P reads it as the timeline. RecordUse (the login step) and
// RecordAction (the action-receipt API) add what R did at a service.
//
// Deleting an account ends its open representations in the deletion's
// transaction (the store's PurgeAccount and DeleteAccount: status
// revoked, ended_by "system", an "ended" event with detail
// "account_deleted"); the party columns become NULL, so the other party
// keeps the entry and the timeline, which hold account IDs and client IDs
// but no names, addresses or codes. Both
// deletion paths (by the user, by the lifecycle rules) call
// DeletionNotices through idp.Config.OnDelete and enqueue its messages in
// the deletion's transaction: the other party gets the rep_ended mail,
// and the services a confirmed representation covered a
// representation-ended SET, as when a party ends it.
//
// MayRepresent and RepChoices are the decision function for persons: R
// may act for P at a service only through a confirmed, unexpired,
// unended representation that names the service.
//
// # Legacy organisation accounts
//
// `kundencenter admin orgs import FILE` reads a UTF-8 CSV file (RFC 4180,
// comma separated, optional BOM) whose first line is exactly
//
//	legacy_id,org_name,uid,owner_email
//
// followed by one line per legacy account: the old portal's identifier
// (unique, at most 100 characters), the organisation's name, its UID
// (empty or a valid CHE-number in any usual spelling) and the owner's
// e-mail address. The import stores all lines or none; a line whose
// legacy_id was imported before updates it unless it was migrated. The
// address is kept only as its blind index. When the owner logs in with
// that address, PendingMigrations lists the account and MigrateLegacy turns
// it into an organisation the owner administers, keeping legacy_id.
package delegation
