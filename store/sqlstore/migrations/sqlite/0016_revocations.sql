-- Durable revocations (issue 16); see postgres/0016_revocations.sql.
CREATE TABLE revocations (
    kind       TEXT NOT NULL,
    id         TEXT NOT NULL,
    revoked_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (kind, id)
) STRICT;
CREATE INDEX revocations_expires_at ON revocations (expires_at);

CREATE TABLE redeemed_codes (
    hash            BLOB PRIMARY KEY,
    auth_request_id TEXT NOT NULL,
    access_token_id TEXT NOT NULL DEFAULT '',
    family_id       TEXT NOT NULL DEFAULT '',
    expires_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX redeemed_codes_expires_at ON redeemed_codes (expires_at);

ALTER TABLE refresh_tokens ADD COLUMN rotated_to TEXT NOT NULL DEFAULT '';
ALTER TABLE refresh_tokens ADD COLUMN retry_at INTEGER;
CREATE INDEX refresh_tokens_session_id ON refresh_tokens (session_id);
