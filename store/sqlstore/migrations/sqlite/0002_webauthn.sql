-- WebAuthn credentials (passkeys, security keys) of accounts. The
-- credential ID is chosen by the authenticator and unique across accounts.
-- Deleting an account deletes its credentials (foreign keys are on).
-- Lists are ordered by created_at, then rowid (insertion order).

CREATE TABLE webauthn_credentials (
    id               BLOB PRIMARY KEY,
    account_id       TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    public_key       BLOB NOT NULL,
    attestation_type TEXT NOT NULL,
    aaguid           BLOB NOT NULL,
    sign_count       INTEGER NOT NULL CHECK (sign_count BETWEEN 0 AND 4294967295),
    transports       TEXT NOT NULL,
    user_verified    INTEGER NOT NULL,
    backup_eligible  INTEGER NOT NULL,
    backup_state     INTEGER NOT NULL,
    clone_warning    INTEGER NOT NULL,
    created_at       INTEGER,
    last_used_at     INTEGER
) STRICT;

CREATE INDEX webauthn_credentials_account_id ON webauthn_credentials (account_id, created_at);
