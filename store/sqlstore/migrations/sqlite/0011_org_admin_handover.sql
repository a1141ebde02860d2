-- An organisation never loses its last admin to an account deletion (by
-- the user or the inactivity rules): the longest-standing other member
-- becomes admin, and the history says the system did it. An organisation
-- without other members keeps no members (see 0005).

CREATE TRIGGER accounts_hand_over_org_admin BEFORE DELETE ON accounts
BEGIN
    INSERT INTO org_events (org_id, at, actor, action, subject, detail)
        SELECT m.org_id, CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER), 'system', 'role_changed',
               (SELECT o.account_id FROM org_members o WHERE o.org_id = m.org_id AND o.account_id <> OLD.id
                 ORDER BY o.created_at, o.account_id LIMIT 1),
               'admin'
        FROM org_members m
        WHERE m.account_id = OLD.id AND EXISTS (SELECT 1 FROM json_each(m.roles) WHERE value = 'admin')
          AND NOT EXISTS (SELECT 1 FROM org_members a, json_each(a.roles) r
                          WHERE a.org_id = m.org_id AND a.account_id <> OLD.id AND r.value = 'admin')
          AND EXISTS (SELECT 1 FROM org_members x WHERE x.org_id = m.org_id AND x.account_id <> OLD.id);
    UPDATE org_members
        SET roles = '["admin"]', updated_at = CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)
        WHERE account_id <> OLD.id AND (org_id, account_id) IN (
            SELECT m.org_id, (SELECT o.account_id FROM org_members o WHERE o.org_id = m.org_id AND o.account_id <> OLD.id
                               ORDER BY o.created_at, o.account_id LIMIT 1)
            FROM org_members m
            WHERE m.account_id = OLD.id AND EXISTS (SELECT 1 FROM json_each(m.roles) WHERE value = 'admin')
              AND NOT EXISTS (SELECT 1 FROM org_members a, json_each(a.roles) r
                              WHERE a.org_id = m.org_id AND a.account_id <> OLD.id AND r.value = 'admin'));
END;
