-- Profiles (issue 5): several per account ("Privat", "Geschäftlich"), each
-- with its own sealed display name and contact data; the profile last
-- chosen per service; and the profile a refresh-token grant shows.
-- Profiles and choices go with their account.

CREATE TABLE profiles (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    main       INTEGER NOT NULL DEFAULT 0,
    sealed     BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE INDEX profiles_account_id ON profiles (account_id, created_at);

CREATE TABLE profile_choices (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL,
    profile_id TEXT NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    chosen_at  INTEGER NOT NULL,
    PRIMARY KEY (account_id, client_id)
) STRICT;

CREATE INDEX profile_choices_profile_id ON profile_choices (profile_id);

ALTER TABLE refresh_tokens ADD COLUMN profile_id TEXT NOT NULL DEFAULT '';
