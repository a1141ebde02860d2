-- Times are INTEGER microseconds since the Unix epoch (UTC); NULL is the
-- zero time. Lists are JSON arrays in TEXT.

CREATE TABLE accounts (
    id                  TEXT PRIMARY KEY,
    konto_id            TEXT NOT NULL UNIQUE,
    email_index         BLOB NOT NULL UNIQUE,
    sealed              BLOB NOT NULL,
    password_hash       TEXT NOT NULL,
    status              TEXT NOT NULL,
    locale              TEXT NOT NULL,
    created_at          INTEGER,
    activated_at        INTEGER,
    last_login_at       INTEGER,
    password_changed_at INTEGER
) STRICT;

CREATE TABLE action_tokens (
    hash       BLOB PRIMARY KEY,
    purpose    TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at INTEGER,
    expires_at INTEGER,
    used_at    INTEGER
) STRICT;

CREATE INDEX action_tokens_account_id ON action_tokens (account_id);

CREATE TABLE clients (
    id                        TEXT PRIMARY KEY,
    secret_hash               BLOB NOT NULL,
    name                      TEXT NOT NULL,
    redirect_uris             TEXT NOT NULL,
    post_logout_redirect_uris TEXT NOT NULL,
    grant_types               TEXT NOT NULL,
    public                    INTEGER NOT NULL,
    access_token_type         TEXT NOT NULL,
    level                     TEXT NOT NULL,
    back_channel_logout_uri   TEXT NOT NULL,
    created_at                INTEGER,
    updated_at                INTEGER
) STRICT;

CREATE TABLE signing_keys (
    id         TEXT PRIMARY KEY,
    algorithm  TEXT NOT NULL,
    sealed     BLOB NOT NULL,
    public     BLOB NOT NULL,
    state      TEXT NOT NULL,
    created_at INTEGER,
    updated_at INTEGER
) STRICT;

-- Refresh tokens carry no foreign key to accounts: DeleteAccount removes
-- them explicitly.
CREATE TABLE refresh_tokens (
    id         TEXT PRIMARY KEY,
    hash       BLOB NOT NULL UNIQUE,
    family_id  TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    account_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    scopes     TEXT NOT NULL,
    audience   TEXT NOT NULL,
    auth_time  INTEGER,
    amr        TEXT NOT NULL,
    acr        TEXT NOT NULL,
    created_at INTEGER,
    expires_at INTEGER,
    used_at    INTEGER,
    revoked_at INTEGER
) STRICT;

CREATE INDEX refresh_tokens_family_id ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_account_id ON refresh_tokens (account_id);
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);

CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail  TEXT NOT NULL
) STRICT;

CREATE INDEX audit_log_at ON audit_log (at, id);
CREATE INDEX audit_log_subject ON audit_log (subject, at, id);
