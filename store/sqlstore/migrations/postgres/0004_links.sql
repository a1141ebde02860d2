-- Links between accounts and upstream logins (SwissID, AGOV, …). A link is
-- identified by the upstream (connector, issuer, subject); it goes with its
-- account.

CREATE TABLE external_links (
    connector      text NOT NULL,
    issuer         text NOT NULL,
    subject        text NOT NULL,
    account_id     text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    proofing_level text NOT NULL,
    sealed         bytea NOT NULL,
    created_at     timestamptz,
    last_used_at   timestamptz,
    PRIMARY KEY (connector, issuer, subject)
);

CREATE INDEX external_links_account_id ON external_links (account_id);
