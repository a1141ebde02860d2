-- WebAuthn credentials (passkeys, security keys) of accounts. The
-- credential ID is chosen by the authenticator and unique across accounts.
-- Deleting an account deletes its credentials.

CREATE TABLE webauthn_credentials (
    id               bytea PRIMARY KEY,
    account_id       text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name             text NOT NULL,
    public_key       bytea NOT NULL,
    attestation_type text NOT NULL,
    aaguid           bytea NOT NULL,
    sign_count       bigint NOT NULL CHECK (sign_count BETWEEN 0 AND 4294967295),
    transports       text[] NOT NULL,
    user_verified    boolean NOT NULL,
    backup_eligible  boolean NOT NULL,
    backup_state     boolean NOT NULL,
    clone_warning    boolean NOT NULL,
    created_at       timestamptz,
    last_used_at     timestamptz,
    seq              bigint GENERATED ALWAYS AS IDENTITY UNIQUE
);

CREATE INDEX webauthn_credentials_account_id ON webauthn_credentials (account_id, created_at, seq);
