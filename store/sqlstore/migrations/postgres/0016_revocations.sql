-- Durable revocations (issue 16): what ended stays ended whatever the
-- ephemeral store (Redis) forgets or restores from a snapshot.
--
-- revocations: an access token ('at'), a refresh family ('family'), an SSO
-- session ('session') or every session and token of an account ('account')
-- that ended at revoked_at; anything of it issued at or before revoked_at is
-- dead. Rows are kept until expires_at, past the lifetime of what they kill.
CREATE TABLE revocations (
    kind       text NOT NULL,
    id         text NOT NULL,
    revoked_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX revocations_expires_at ON revocations (expires_at);

-- redeemed_codes: an authorization code (its hash) that was exchanged, and
-- the tokens issued for it (revoked when the code is presented again).
CREATE TABLE redeemed_codes (
    hash            bytea PRIMARY KEY,
    auth_request_id text NOT NULL,
    access_token_id text NOT NULL DEFAULT '',
    family_id       text NOT NULL DEFAULT '',
    expires_at      timestamptz NOT NULL
);
CREATE INDEX redeemed_codes_expires_at ON redeemed_codes (expires_at);

-- A refresh token remembers its successor, and a retry with the token just
-- rotated (its response was lost) is allowed once: retry_at.
ALTER TABLE refresh_tokens ADD COLUMN rotated_to text NOT NULL DEFAULT '';
ALTER TABLE refresh_tokens ADD COLUMN retry_at timestamptz;
CREATE INDEX refresh_tokens_session_id ON refresh_tokens (session_id);
