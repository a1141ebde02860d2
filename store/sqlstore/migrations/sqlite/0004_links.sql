-- Links between accounts and upstream logins (SwissID, AGOV, …). A link is
-- identified by the upstream (connector, issuer, subject); it goes with its
-- account.

CREATE TABLE external_links (
    connector      TEXT NOT NULL,
    issuer         TEXT NOT NULL,
    subject        TEXT NOT NULL,
    account_id     TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    proofing_level TEXT NOT NULL,
    sealed         BLOB NOT NULL,
    created_at     INTEGER,
    last_used_at   INTEGER,
    PRIMARY KEY (connector, issuer, subject)
) STRICT;

CREATE INDEX external_links_account_id ON external_links (account_id);
