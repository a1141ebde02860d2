-- Extends the account deletion of 0011: the pending invitations a deleted
-- account sent are revoked, as revokeInvitationsBy (delegation) does when
-- an admin loses the role or leaves, with one history entry per invitation
-- by the system. Invitations addressed to the account go with it (ON
-- DELETE CASCADE, 0005).

-- Every account deletion looks for them.
CREATE INDEX org_invitations_invited_by ON org_invitations (invited_by) WHERE status = 'pending';

CREATE TRIGGER accounts_revoke_invitations BEFORE DELETE ON accounts
BEGIN
    INSERT INTO org_events (org_id, at, actor, action, subject, detail)
        SELECT i.org_id, CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER), 'system',
               'invitation_revoked', i.label, ''
        FROM org_invitations i
        WHERE i.invited_by = OLD.id AND i.status = 'pending'
        ORDER BY i.org_id, i.created_at, i.id;
    UPDATE org_invitations
        SET status = 'revoked', done_at = CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)
        WHERE invited_by = OLD.id AND status = 'pending';
END;
