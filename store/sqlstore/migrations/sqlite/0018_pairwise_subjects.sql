-- Pairwise subject identifiers (OIDC Core §8): a client sees "sub" as
-- public (the account ID) or pairwise (a value of its sector, the host of
-- its redirect URIs unless a sector identifier is registered).
ALTER TABLE clients ADD COLUMN subject_type TEXT NOT NULL DEFAULT 'public';
ALTER TABLE clients ADD COLUMN sector_identifier TEXT NOT NULL DEFAULT '';

-- pairwise_subjects maps a pairwise subject back to its account (a
-- service sends it back: id_token_hint, notification recipients, action
-- receipts). Written when a subject is first issued; it goes with the
-- account.
CREATE TABLE pairwise_subjects (
    sector     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    PRIMARY KEY (sector, subject)
) STRICT;
CREATE INDEX pairwise_subjects_account_id ON pairwise_subjects (account_id);
