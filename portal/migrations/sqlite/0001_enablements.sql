CREATE TABLE enablements (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL,
    service      TEXT NOT NULL,
    status       TEXT NOT NULL,
    locale       TEXT NOT NULL DEFAULT 'de',
    note         TEXT NOT NULL DEFAULT '',
    requested_at TEXT NOT NULL,
    decided_at   TEXT,
    UNIQUE (account_id, service)
);
CREATE INDEX enablements_status ON enablements (status, requested_at);
