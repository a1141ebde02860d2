-- Organisations (package delegation).
--
-- Deleting an account removes its memberships and the invitations
-- addressed to it (ON DELETE CASCADE); an organisation left without
-- members stays (its ID names it in past cases). History entries keep the
-- account IDs of deleted accounts.

CREATE TABLE orgs (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    designation text NOT NULL,
    addresses   jsonb NOT NULL,
    uid         text NOT NULL,
    legacy_id   text UNIQUE,
    created_at  timestamptz,
    updated_at  timestamptz
);

CREATE TABLE org_members (
    org_id     text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    account_id text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    roles      text[] NOT NULL,
    services   text[] NOT NULL,
    created_at timestamptz,
    updated_at timestamptz,
    PRIMARY KEY (org_id, account_id)
);

CREATE INDEX org_members_account_id ON org_members (account_id);

CREATE TABLE org_invitations (
    id          text PRIMARY KEY,
    org_id      text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    hash        bytea NOT NULL UNIQUE,
    role        text NOT NULL,
    account_id  text REFERENCES accounts (id) ON DELETE CASCADE,
    email_index bytea,
    label       text NOT NULL,
    invited_by  text NOT NULL,
    status      text NOT NULL,
    created_at  timestamptz,
    expires_at  timestamptz,
    done_at     timestamptz
);

CREATE INDEX org_invitations_org_id ON org_invitations (org_id, status);
CREATE INDEX org_invitations_account_id ON org_invitations (account_id, status);
CREATE INDEX org_invitations_email_index ON org_invitations (email_index, status);

CREATE TABLE org_events (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id  text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    at      timestamptz,
    actor   text NOT NULL,
    action  text NOT NULL,
    subject text NOT NULL,
    detail  text NOT NULL
);

CREATE INDEX org_events_org_id ON org_events (org_id, id);

-- Append-only: the history cannot be changed, only removed with its organisation.
CREATE FUNCTION org_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'org_events is append-only';
END;
$$;

CREATE TRIGGER org_events_no_update BEFORE UPDATE ON org_events
    FOR EACH ROW EXECUTE FUNCTION org_events_append_only();

CREATE TABLE legacy_org_accounts (
    legacy_id   text PRIMARY KEY,
    org_name    text NOT NULL,
    uid         text NOT NULL,
    email_index bytea NOT NULL,
    imported_at timestamptz,
    migrated_at timestamptz,
    migrated_by text NOT NULL,
    org_id      text NOT NULL
);

CREATE INDEX legacy_org_accounts_email_index ON legacy_org_accounts (email_index);
