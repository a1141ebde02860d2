-- Representations between persons (package delegation). Times are INTEGER
-- microseconds since the Unix epoch; services are a JSON array in TEXT.
--
-- Deleting an account ends its open representations (revoked, ended_by
-- 'system', an 'ended' event) before the row goes; the parties' columns
-- then become NULL (ON DELETE SET NULL), so the other party keeps the entry
-- and the history without the deleted person's data. Events name account
-- IDs only (no names, addresses or codes).

CREATE TABLE representations (
    id                TEXT PRIMARY KEY,
    principal_id      TEXT REFERENCES accounts (id) ON DELETE SET NULL,
    representative_id TEXT REFERENCES accounts (id) ON DELETE SET NULL,
    status            TEXT NOT NULL,
    services          TEXT NOT NULL,
    valid_until       INTEGER,
    code_selector     TEXT,
    code_hash         TEXT NOT NULL,
    pending_until     INTEGER,
    created_at        INTEGER,
    accepted_at       INTEGER,
    confirmed_at      INTEGER,
    ended_at          INTEGER,
    ended_by          TEXT NOT NULL,
    updated_at        INTEGER
) STRICT;

CREATE INDEX representations_principal_id ON representations (principal_id);
CREATE INDEX representations_representative_id ON representations (representative_id);
CREATE INDEX representations_code_selector ON representations (code_selector) WHERE code_selector IS NOT NULL;

CREATE TABLE rep_events (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    representation_id TEXT NOT NULL REFERENCES representations (id) ON DELETE CASCADE,
    at                INTEGER,
    actor             TEXT NOT NULL,
    action            TEXT NOT NULL,
    client_id         TEXT NOT NULL,
    detail            TEXT NOT NULL
) STRICT;

CREATE INDEX rep_events_representation_id ON rep_events (representation_id, id);

-- Append-only: the timeline cannot be changed.
CREATE TRIGGER rep_events_no_update BEFORE UPDATE ON rep_events
BEGIN
    SELECT RAISE(ABORT, 'rep_events is append-only');
END;

CREATE TRIGGER accounts_end_representations BEFORE DELETE ON accounts
BEGIN
    INSERT INTO rep_events (representation_id, at, actor, action, client_id, detail)
        SELECT id, CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER), 'system', 'ended', '', 'account_deleted'
        FROM representations
        WHERE (principal_id = OLD.id OR representative_id = OLD.id) AND status IN ('created', 'accepted', 'confirmed');
    UPDATE representations
        SET status = 'revoked', ended_by = 'system', code_selector = NULL, code_hash = '',
            ended_at = CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER),
            updated_at = CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)
        WHERE (principal_id = OLD.id OR representative_id = OLD.id) AND status IN ('created', 'accepted', 'confirmed');
END;
