-- Second-factor settings and saved recovery codes (issue 3).

CREATE TABLE mfa_settings (
    account_id        TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    phone_sealed      BLOB,
    phone_verified_at INTEGER,
    required          INTEGER NOT NULL,
    updated_at        INTEGER
) STRICT;

CREATE TABLE recovery_codes (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id         TEXT NOT NULL,
    hash       TEXT NOT NULL,
    created_at INTEGER,
    used_at    INTEGER,
    PRIMARY KEY (account_id, id)
) STRICT;
