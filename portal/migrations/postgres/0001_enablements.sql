CREATE TABLE enablements (
    id           text PRIMARY KEY,
    account_id   text NOT NULL,
    service      text NOT NULL,
    status       text NOT NULL,
    locale       text NOT NULL DEFAULT 'de',
    note         text NOT NULL DEFAULT '',
    requested_at timestamptz NOT NULL,
    decided_at   timestamptz,
    UNIQUE (account_id, service)
);
CREATE INDEX enablements_status ON enablements (status, requested_at);
