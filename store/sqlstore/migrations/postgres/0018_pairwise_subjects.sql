-- Pairwise subject identifiers (OIDC Core §8): a client sees "sub" as
-- public (the account ID) or pairwise (a value of its sector, the host of
-- its redirect URIs unless a sector identifier is registered).
ALTER TABLE clients ADD COLUMN subject_type text NOT NULL DEFAULT 'public';
ALTER TABLE clients ADD COLUMN sector_identifier text NOT NULL DEFAULT '';

-- pairwise_subjects maps a pairwise subject back to its account (a
-- service sends it back: id_token_hint, notification recipients, action
-- receipts). Written when a subject is first issued; it goes with the
-- account.
CREATE TABLE pairwise_subjects (
    sector     text NOT NULL,
    subject    text NOT NULL,
    account_id text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    PRIMARY KEY (sector, subject)
);
CREATE INDEX pairwise_subjects_account_id ON pairwise_subjects (account_id);
