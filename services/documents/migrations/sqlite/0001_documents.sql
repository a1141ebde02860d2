-- Documents of "Meine Dokumente". The delivered or sealed bytes live in
-- documents_content and are never updated (a trigger refuses it).
CREATE TABLE documents (
    id                  TEXT PRIMARY KEY,
    client_id           TEXT NOT NULL,
    message_id          TEXT NOT NULL,
    request_hash        TEXT NOT NULL,
    owner_kind          TEXT NOT NULL,
    owner_id            TEXT NOT NULL,
    service             TEXT NOT NULL,
    business_process_id TEXT NOT NULL,
    reference           TEXT NOT NULL,
    title               TEXT NOT NULL,
    kind                TEXT NOT NULL,
    issuer              TEXT NOT NULL,
    size                INTEGER NOT NULL,
    sha256              TEXT NOT NULL,
    sealed              INTEGER NOT NULL,
    delivered_at        TEXT NOT NULL,
    read_at             TEXT,
    expires_at          TEXT,
    UNIQUE (client_id, message_id)
) STRICT;
CREATE INDEX documents_owner ON documents (owner_kind, owner_id, delivered_at);
CREATE INDEX documents_expiry ON documents (expires_at);

CREATE TABLE documents_content (
    document_id TEXT PRIMARY KEY REFERENCES documents (id) ON DELETE CASCADE,
    content     BLOB NOT NULL
) STRICT;
CREATE TRIGGER documents_content_no_update BEFORE UPDATE ON documents_content
BEGIN
    SELECT RAISE(ABORT, 'document content is immutable');
END;

-- Hashes of every document this portal issued; kept after deletion so that
-- a copy can still be recognised (no personal data).
CREATE TABLE documents_issued (
    sha256    TEXT PRIMARY KEY,
    issued_at TEXT NOT NULL,
    issuer    TEXT NOT NULL
) STRICT;

CREATE TABLE documents_shares (
    id            TEXT PRIMARY KEY,
    document_id   TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    token_hash    TEXT NOT NULL UNIQUE,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    max_downloads INTEGER NOT NULL,
    downloads     INTEGER NOT NULL,
    revoked_at    TEXT
) STRICT;
CREATE INDEX documents_shares_document ON documents_shares (document_id);

CREATE TABLE documents_share_log (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    share_id TEXT NOT NULL REFERENCES documents_shares (id) ON DELETE CASCADE,
    at       TEXT NOT NULL
) STRICT;
CREATE INDEX documents_share_log_share ON documents_share_log (share_id);
