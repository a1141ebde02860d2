-- The audit log becomes append-only and hash-chained (store/sqlstore/audit.go,
-- docs/audit.md): each new row has a gap-free seq, the hash of the row before
-- it and its own hash over its content; `kundencenter admin audit verify`
-- recomputes the chain. Rows written before this migration keep seq and hash
-- NULL (reported as unchained by verify). Security events also record the
-- client's truncated IP address (/24, /48) and the outcome.

ALTER TABLE audit_log
    ADD COLUMN seq       bigint,
    ADD COLUMN ip        text NOT NULL DEFAULT '',
    ADD COLUMN outcome   text NOT NULL DEFAULT '',
    ADD COLUMN prev_hash bytea,
    ADD COLUMN hash      bytea;

CREATE UNIQUE INDEX audit_log_seq ON audit_log (seq);

-- No UPDATE, DELETE or TRUNCATE, not even by the application's role. The
-- table's owner can still drop the triggers: run the application as a role
-- that does not own the tables and has only SELECT and INSERT here (see
-- docs/audit.md); the hash chain shows any change made anyway.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;

CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC;

-- Key rotation (keyring/reseal): a sealed action text in the timeline may be
-- replaced by the same text sealed with the current key; nothing else of a
-- timeline row may change.
CREATE OR REPLACE FUNCTION rep_events_no_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id = OLD.id AND NEW.representation_id = OLD.representation_id
        AND NEW.at IS NOT DISTINCT FROM OLD.at AND NEW.actor = OLD.actor AND NEW.action = OLD.action
        AND NEW.client_id = OLD.client_id
        AND OLD.detail LIKE 'sealed:%' AND NEW.detail LIKE 'sealed:%' THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'rep_events is append-only';
END;
$$;
