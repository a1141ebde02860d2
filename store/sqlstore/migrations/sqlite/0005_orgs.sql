-- Organisations (package delegation). Times are INTEGER microseconds since
-- the Unix epoch; lists are JSON arrays in TEXT.
--
-- Deleting an account removes its memberships and the invitations
-- addressed to it (ON DELETE CASCADE); an organisation left without
-- members stays (its ID names it in past cases). History entries keep the
-- account IDs of deleted accounts.

CREATE TABLE orgs (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    designation TEXT NOT NULL,
    addresses   TEXT NOT NULL,
    uid         TEXT NOT NULL,
    legacy_id   TEXT UNIQUE,
    created_at  INTEGER,
    updated_at  INTEGER
) STRICT;

CREATE TABLE org_members (
    org_id     TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    roles      TEXT NOT NULL,
    services   TEXT NOT NULL,
    created_at INTEGER,
    updated_at INTEGER,
    PRIMARY KEY (org_id, account_id)
) STRICT;

CREATE INDEX org_members_account_id ON org_members (account_id);

CREATE TABLE org_invitations (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    hash        BLOB NOT NULL UNIQUE,
    role        TEXT NOT NULL,
    account_id  TEXT REFERENCES accounts (id) ON DELETE CASCADE,
    email_index BLOB,
    label       TEXT NOT NULL,
    invited_by  TEXT NOT NULL,
    status      TEXT NOT NULL,
    created_at  INTEGER,
    expires_at  INTEGER,
    done_at     INTEGER
) STRICT;

CREATE INDEX org_invitations_org_id ON org_invitations (org_id, status);
CREATE INDEX org_invitations_account_id ON org_invitations (account_id, status);
CREATE INDEX org_invitations_email_index ON org_invitations (email_index, status);

CREATE TABLE org_events (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id  TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    at      INTEGER,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail  TEXT NOT NULL
) STRICT;

CREATE INDEX org_events_org_id ON org_events (org_id, id);

-- Append-only: the history cannot be changed, only removed with its organisation.
CREATE TRIGGER org_events_no_update BEFORE UPDATE ON org_events
BEGIN
    SELECT RAISE(ABORT, 'org_events is append-only');
END;

CREATE TABLE legacy_org_accounts (
    legacy_id   TEXT PRIMARY KEY,
    org_name    TEXT NOT NULL,
    uid         TEXT NOT NULL,
    email_index BLOB NOT NULL,
    imported_at INTEGER,
    migrated_at INTEGER,
    migrated_by TEXT NOT NULL,
    org_id      TEXT NOT NULL
) STRICT;

CREATE INDEX legacy_org_accounts_email_index ON legacy_org_accounts (email_index);
