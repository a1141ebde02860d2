-- Account lifecycle (issue 5): the inactivity reminder marker, the clients
-- an account used, and the durable queue of events for those clients.

-- One row per account that got an inactivity reminder; it goes with its account.
CREATE TABLE account_lifecycle (
    account_id text PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    notice_at  timestamptz NOT NULL
);

-- The clients (relying parties) an account logged in to.
CREATE TABLE account_clients (
    account_id    text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    client_id     text NOT NULL,
    first_used_at timestamptz NOT NULL,
    last_used_at  timestamptz NOT NULL,
    PRIMARY KEY (account_id, client_id)
);

-- Events for clients (RISC account-purged); they outlive the account on
-- purpose and name it only by its opaque ID.
CREATE TABLE service_events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id    text NOT NULL,
    account_id   text NOT NULL,
    event        text NOT NULL,
    created_at   timestamptz NOT NULL,
    delivered_at timestamptz
);

CREATE INDEX service_events_pending ON service_events (id) WHERE delivered_at IS NULL;
CREATE INDEX accounts_lifecycle_created ON accounts (created_at) WHERE last_login_at IS NULL;
CREATE INDEX accounts_lifecycle_login ON accounts (last_login_at);
