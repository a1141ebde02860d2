-- Representations between persons (package delegation).
--
-- Deleting an account ends its open representations (revoked, ended_by
-- 'system', an 'ended' event) before the row goes; the parties' columns
-- then become NULL (ON DELETE SET NULL), so the other party keeps the entry
-- and the history without the deleted person's data. Events name account
-- IDs only (no names, addresses or codes).

CREATE TABLE representations (
    id                text PRIMARY KEY,
    principal_id      text REFERENCES accounts (id) ON DELETE SET NULL,
    representative_id text REFERENCES accounts (id) ON DELETE SET NULL,
    status            text NOT NULL,
    services          text[] NOT NULL,
    valid_until       timestamptz,
    code_selector     text,
    code_hash         text NOT NULL,
    pending_until     timestamptz,
    created_at        timestamptz,
    accepted_at       timestamptz,
    confirmed_at      timestamptz,
    ended_at          timestamptz,
    ended_by          text NOT NULL,
    updated_at        timestamptz
);

CREATE INDEX representations_principal_id ON representations (principal_id);
CREATE INDEX representations_representative_id ON representations (representative_id);
CREATE INDEX representations_code_selector ON representations (code_selector) WHERE code_selector IS NOT NULL;

CREATE TABLE rep_events (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    representation_id text NOT NULL REFERENCES representations (id) ON DELETE CASCADE,
    at                timestamptz,
    actor             text NOT NULL,
    action            text NOT NULL,
    client_id         text NOT NULL,
    detail            text NOT NULL
);

CREATE INDEX rep_events_representation_id ON rep_events (representation_id, id);

-- Append-only: the timeline cannot be changed.
CREATE FUNCTION rep_events_no_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'rep_events is append-only';
END;
$$;

CREATE TRIGGER rep_events_no_update BEFORE UPDATE ON rep_events
    FOR EACH ROW EXECUTE FUNCTION rep_events_no_update();

CREATE FUNCTION accounts_end_representations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rep_events (representation_id, at, actor, action, client_id, detail)
        SELECT id, now(), 'system', 'ended', '', 'account_deleted'
        FROM representations
        WHERE (principal_id = OLD.id OR representative_id = OLD.id) AND status IN ('created', 'accepted', 'confirmed');
    UPDATE representations
        SET status = 'revoked', ended_by = 'system', code_selector = NULL, code_hash = '', ended_at = now(), updated_at = now()
        WHERE (principal_id = OLD.id OR representative_id = OLD.id) AND status IN ('created', 'accepted', 'confirmed');
    RETURN OLD;
END;
$$;

CREATE TRIGGER accounts_end_representations BEFORE DELETE ON accounts
    FOR EACH ROW EXECUTE FUNCTION accounts_end_representations();
