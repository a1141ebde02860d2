-- Tables live in the schema that search_path names first. Times are
-- timestamptz (microseconds); NULL is the zero time.

CREATE TABLE accounts (
    id                  text PRIMARY KEY,
    konto_id            text NOT NULL UNIQUE,
    email_index         bytea NOT NULL UNIQUE,
    sealed              bytea NOT NULL,
    password_hash       text NOT NULL,
    status              text NOT NULL,
    locale              text NOT NULL,
    created_at          timestamptz,
    activated_at        timestamptz,
    last_login_at       timestamptz,
    password_changed_at timestamptz
);

CREATE TABLE action_tokens (
    hash       bytea PRIMARY KEY,
    purpose    text NOT NULL,
    account_id text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at timestamptz,
    expires_at timestamptz,
    used_at    timestamptz
);

CREATE INDEX action_tokens_account_id ON action_tokens (account_id);

CREATE TABLE clients (
    id                        text PRIMARY KEY,
    secret_hash               bytea NOT NULL,
    name                      text NOT NULL,
    redirect_uris             text[] NOT NULL,
    post_logout_redirect_uris text[] NOT NULL,
    grant_types               text[] NOT NULL,
    public                    boolean NOT NULL,
    access_token_type         text NOT NULL,
    level                     text NOT NULL,
    back_channel_logout_uri   text NOT NULL,
    created_at                timestamptz,
    updated_at                timestamptz
);

CREATE TABLE signing_keys (
    id         text PRIMARY KEY,
    algorithm  text NOT NULL,
    sealed     bytea NOT NULL,
    public     bytea NOT NULL,
    state      text NOT NULL,
    created_at timestamptz,
    updated_at timestamptz
);

-- Refresh tokens carry no foreign key to accounts: DeleteAccount removes
-- them explicitly.
CREATE TABLE refresh_tokens (
    id         text PRIMARY KEY,
    hash       bytea NOT NULL UNIQUE,
    family_id  text NOT NULL,
    client_id  text NOT NULL,
    account_id text NOT NULL,
    session_id text NOT NULL,
    scopes     text[] NOT NULL,
    audience   text[] NOT NULL,
    auth_time  timestamptz,
    amr        text[] NOT NULL,
    acr        text NOT NULL,
    created_at timestamptz,
    expires_at timestamptz,
    used_at    timestamptz,
    revoked_at timestamptz
);

CREATE INDEX refresh_tokens_family_id ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_account_id ON refresh_tokens (account_id);
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);

CREATE TABLE audit_log (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      timestamptz,
    actor   text NOT NULL,
    action  text NOT NULL,
    subject text NOT NULL,
    detail  text NOT NULL
);

CREATE INDEX audit_log_at ON audit_log (at, id);
CREATE INDEX audit_log_subject ON audit_log (subject, at, id);
