-- An organisation never loses its last admin to an account deletion (by
-- the user or the inactivity rules): the longest-standing other member
-- becomes admin, and the history says the system did it. An organisation
-- without other members keeps no members (see 0005).

CREATE FUNCTION accounts_hand_over_org_admin() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    org text;
    heir text;
BEGIN
    FOR org IN
        SELECT m.org_id FROM org_members m
        WHERE m.account_id = OLD.id AND 'admin' = ANY (m.roles)
        ORDER BY m.org_id
    LOOP
        -- Serialise with the organisation's other changes (UpdateOrg locks
        -- the organisation row too).
        PERFORM 1 FROM orgs WHERE id = org FOR UPDATE;
        CONTINUE WHEN EXISTS (SELECT 1 FROM org_members a
                              WHERE a.org_id = org AND a.account_id <> OLD.id AND 'admin' = ANY (a.roles));
        SELECT o.account_id INTO heir FROM org_members o
            WHERE o.org_id = org AND o.account_id <> OLD.id
            ORDER BY o.created_at, o.account_id LIMIT 1;
        CONTINUE WHEN heir IS NULL;
        UPDATE org_members SET roles = ARRAY['admin'], updated_at = now() WHERE org_id = org AND account_id = heir;
        INSERT INTO org_events (org_id, at, actor, action, subject, detail)
            VALUES (org, now(), 'system', 'role_changed', heir, 'admin');
    END LOOP;
    RETURN OLD;
END;
$$;

CREATE TRIGGER accounts_hand_over_org_admin BEFORE DELETE ON accounts
    FOR EACH ROW EXECUTE FUNCTION accounts_hand_over_org_admin();
