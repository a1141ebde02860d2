-- Extends the account-deletion trigger of 0011: the pending invitations a
-- deleted account sent are revoked, as revokeInvitationsBy (delegation)
-- does when an admin loses the role or leaves, with one history entry per
-- invitation by the system. Invitations addressed to the account go with
-- it (ON DELETE CASCADE, 0005). One function for both, so that the
-- organisations are locked once each and in ID order.

-- Every account deletion looks for them.
CREATE INDEX org_invitations_invited_by ON org_invitations (invited_by) WHERE status = 'pending';

CREATE OR REPLACE FUNCTION accounts_hand_over_org_admin() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    org text;
    heir text;
BEGIN
    FOR org IN
        SELECT m.org_id FROM org_members m
        WHERE m.account_id = OLD.id AND 'admin' = ANY (m.roles)
        UNION
        SELECT i.org_id FROM org_invitations i
        WHERE i.invited_by = OLD.id AND i.status = 'pending'
        ORDER BY 1
    LOOP
        -- Serialise with the organisation's other changes (UpdateOrg locks
        -- the organisation row too).
        PERFORM 1 FROM orgs WHERE id = org FOR UPDATE;
        INSERT INTO org_events (org_id, at, actor, action, subject, detail)
            SELECT org, now(), 'system', 'invitation_revoked', i.label, ''
            FROM org_invitations i
            WHERE i.org_id = org AND i.invited_by = OLD.id AND i.status = 'pending'
            ORDER BY i.created_at, i.id;
        UPDATE org_invitations SET status = 'revoked', done_at = now()
            WHERE org_id = org AND invited_by = OLD.id AND status = 'pending';
        CONTINUE WHEN NOT EXISTS (SELECT 1 FROM org_members m
                                  WHERE m.org_id = org AND m.account_id = OLD.id AND 'admin' = ANY (m.roles));
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
