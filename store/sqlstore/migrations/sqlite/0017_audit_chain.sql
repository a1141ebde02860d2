-- The audit log becomes append-only and hash-chained (store/sqlstore/audit.go,
-- docs/audit.md); see the PostgreSQL migration of the same number.

ALTER TABLE audit_log ADD COLUMN seq INTEGER;
ALTER TABLE audit_log ADD COLUMN ip TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN outcome TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN prev_hash BLOB;
ALTER TABLE audit_log ADD COLUMN hash BLOB;

CREATE UNIQUE INDEX audit_log_seq ON audit_log (seq);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

-- Key rotation (keyring/reseal): a sealed action text in the timeline may be
-- replaced by the same text sealed with the current key.
DROP TRIGGER rep_events_no_update;
CREATE TRIGGER rep_events_no_update BEFORE UPDATE ON rep_events
WHEN NOT (NEW.id IS OLD.id AND NEW.representation_id IS OLD.representation_id AND NEW.at IS OLD.at
    AND NEW.actor IS OLD.actor AND NEW.action IS OLD.action AND NEW.client_id IS OLD.client_id
    AND OLD.detail LIKE 'sealed:%' AND NEW.detail LIKE 'sealed:%')
BEGIN
    SELECT RAISE(ABORT, 'rep_events is append-only');
END;
