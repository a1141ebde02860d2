-- Account lifecycle (issue 5): the inactivity reminder marker, the clients
-- an account used, and the durable queue of events for those clients.

-- One row per account that got an inactivity reminder; it goes with its account.
CREATE TABLE account_lifecycle (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    notice_at  INTEGER NOT NULL
) STRICT;

-- The clients (relying parties) an account logged in to.
CREATE TABLE account_clients (
    account_id    TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    client_id     TEXT NOT NULL,
    first_used_at INTEGER NOT NULL,
    last_used_at  INTEGER NOT NULL,
    PRIMARY KEY (account_id, client_id)
) STRICT;

-- Events for clients (RISC account-purged); they outlive the account on
-- purpose and name it only by its opaque ID.
CREATE TABLE service_events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id    TEXT NOT NULL,
    account_id   TEXT NOT NULL,
    event        TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    delivered_at INTEGER
) STRICT;

CREATE INDEX service_events_pending ON service_events (id) WHERE delivered_at IS NULL;
CREATE INDEX accounts_lifecycle_created ON accounts (created_at) WHERE last_login_at IS NULL;
CREATE INDEX accounts_lifecycle_login ON accounts (last_login_at);
