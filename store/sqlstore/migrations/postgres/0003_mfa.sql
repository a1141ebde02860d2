-- Second-factor settings and saved recovery codes (issue 3).

CREATE TABLE mfa_settings (
    account_id        text PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    phone_sealed      bytea,
    phone_verified_at timestamptz,
    required          boolean NOT NULL,
    updated_at        timestamptz
);

CREATE TABLE recovery_codes (
    account_id text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id         text NOT NULL,
    hash       text NOT NULL,
    created_at timestamptz,
    used_at    timestamptz,
    PRIMARY KEY (account_id, id)
);
